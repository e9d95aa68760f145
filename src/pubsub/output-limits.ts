/**
 * client-output-buffer-limit, as Redis has it: per client class (normal, replica, pubsub) a
 * hard limit (bytes: close at once), a soft limit and soft seconds (close once the output
 * has stayed above the soft limit that long). 0 disables a limit. Parsing, printing and
 * the verdict are pure functions; the connection (server/connection.ts) measures its unsent
 * bytes and acts on the verdict.
 *
 * Enforced on push frames, which other clients cause and back-pressure cannot slow: the
 * pubsub class for clients with subscriptions, the replica class for MONITOR clients (a
 * replica to Redis), the normal class for the rest (tracking invalidations). Replies to a
 * client's own commands are bounded by back-pressure instead (output-buffer-limit: the
 * server stops reading a client whose replies pile up).
 */

export interface ClassLimit {
  hardBytes: number;
  softBytes: number;
  softSeconds: number;
}

export interface OutputLimits {
  normal: ClassLimit;
  replica: ClassLimit;
  pubsub: ClassLimit;
}

export function defaultOutputLimits(): OutputLimits {
  return {
    normal: { hardBytes: 0, softBytes: 0, softSeconds: 0 },
    replica: { hardBytes: 256 * 1024 * 1024, softBytes: 64 * 1024 * 1024, softSeconds: 60 },
    pubsub: { hardBytes: 32 * 1024 * 1024, softBytes: 8 * 1024 * 1024, softSeconds: 60 },
  };
}

/** Redis's memtoull: a number with an optional b/k/kb/m/mb/g/gb unit (case-insensitive). */
function memToBytes(s: string): number | null {
  const m = /^(\d+)(b|k|kb|m|mb|g|gb)?$/i.exec(s);
  if (m === null) return null;
  const unit = (m[2] ?? 'b').toLowerCase();
  const mult: Record<string, number> = { b: 1, k: 1000, kb: 1024, m: 1000 ** 2, mb: 1024 ** 2, g: 1000 ** 3, gb: 1024 ** 3 };
  const v = Number(m[1]) * mult[unit];
  return Number.isSafeInteger(v) ? v : null;
}

/**
 * Parse `<class> <hard> <soft> <seconds> [...]` (tokens), applying it over `current`.
 * Returns the new limits or Redis's error text.
 */
export function parseOutputLimits(tokens: string[], current: OutputLimits): OutputLimits | string {
  if (tokens.length % 4 !== 0) return 'Wrong number of arguments in buffer limit configuration.';
  const next: OutputLimits = { normal: { ...current.normal }, replica: { ...current.replica }, pubsub: { ...current.pubsub } };
  for (let i = 0; i < tokens.length; i += 4) {
    const cls = tokens[i].toLowerCase();
    const key = cls === 'normal' ? 'normal' : cls === 'replica' || cls === 'slave' ? 'replica' : cls === 'pubsub' ? 'pubsub' : null;
    if (key === null) return 'Invalid client class specified in buffer limit configuration.';
    const hard = memToBytes(tokens[i + 1]);
    const soft = memToBytes(tokens[i + 2]);
    const secs = /^\d+$/.test(tokens[i + 3]) ? Number(tokens[i + 3]) : null;
    if (hard === null || soft === null || secs === null || !Number.isSafeInteger(secs)) return 'Error in hard, soft or soft_seconds setting in buffer limit configuration.';
    next[key] = { hardBytes: hard, softBytes: soft, softSeconds: secs };
  }
  return next;
}

/** CONFIG GET's form: `normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60`. */
export function formatOutputLimits(l: OutputLimits): string {
  const f = (c: ClassLimit): string => `${c.hardBytes} ${c.softBytes} ${c.softSeconds}`;
  return `normal ${f(l.normal)} slave ${f(l.replica)} pubsub ${f(l.pubsub)}`;
}

/**
 * Redis's checkClientOutputBufferLimits: given the unsent bytes now and when the soft limit
 * was first exceeded (0: it is not), whether to close the client, and the new soft start.
 */
export function outputLimitVerdict(bytes: number, limit: ClassLimit, softSinceMs: number, nowMs: number): { close: boolean; softSinceMs: number } {
  if (limit.hardBytes > 0 && bytes >= limit.hardBytes) return { close: true, softSinceMs };
  if (limit.softBytes > 0 && bytes >= limit.softBytes) {
    if (softSinceMs === 0) return { close: false, softSinceMs: nowMs };
    return { close: nowMs - softSinceMs > limit.softSeconds * 1000, softSinceMs };
  }
  return { close: false, softSinceMs: 0 };
}
