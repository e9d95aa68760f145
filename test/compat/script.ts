/**
 * The vocabulary of compatibility scripts.
 *
 * A script is a named list of steps run on ONE connection against both a real redis-server
 * and the server under test; the runner sends FLUSHALL first. Each step says how the two
 * raw replies are compared. The default is byte equality; the other modes exist only where
 * Redis itself is not deterministic or the value is legitimately server-specific:
 *
 * - 'exact'        byte-for-byte equal (default).
 * - 'unordered'    an aggregate compared as a multiset of its elements (map: of its
 *                  key/value pairs) — for replies in hash-table order: KEYS, multi-key
 *                  CONFIG GET.
 * - 'ttl'          integer replies equal within one second (±1 for second-resolution
 *                  commands, ±1000 for millisecond ones); negatives (-1, -2) exact — for
 *                  remaining-time replies, which depend on when each server got the step.
 * - 'skip-value'   same shape (types and aggregate sizes, recursively) but any leaf values —
 *                  for TIME, CLIENT ID, CLIENT INFO, COMMAND COUNT. With `vary`, the reply
 *                  must be a map (or RESP2 flat key/value array) that is exact except for
 *                  the values of the listed keys, whose type must still match (HELLO).
 * - 'error-prefix' both replies are errors with the same first word — for errors whose text
 *                  legitimately embeds server-specific detail. No current script needs it.
 *
 * Other step kinds: 'scan-all' iterates SCAN to cursor 0 and compares the sorted set of
 * keys seen (cursors and batching are implementation details); 'raw' writes arbitrary bytes
 * (inline commands, malformed RESP) and compares the replies and whether the server then
 * closed the connection.
 */

export type Arg = string | Buffer;
export type Mode = 'exact' | 'unordered' | 'ttl' | 'skip-value' | 'error-prefix';
/** What must hold for the connection after a step; checked on BOTH servers. */
export type After = 'open' | 'closed';

export interface CommandStep {
  kind: 'command';
  args: Arg[];
  mode: Mode;
  /** 'ttl' mode: allowed absolute difference. */
  tolerance?: number;
  /** 'skip-value' mode: map keys whose values may differ. */
  vary?: string[];
  /** Set only for commands that end the connection (QUIT). */
  after?: 'closed';
}

export interface ScanAllStep {
  kind: 'scan-all';
  /** SCAN options after the cursor: MATCH p, COUNT n, TYPE t. */
  options: Arg[];
}

export interface RawStep {
  kind: 'raw';
  /** Bytes to write; several pieces are written as separate writes. */
  pieces: Buffer[];
  /** How many reply frames to collect (fewer if the server closes). */
  replies: number;
  /** 'open' is proven by a PING that must answer +PONG; 'closed' by the server hanging up. */
  after: After;
}

export type Step = (CommandStep | ScanAllStep | RawStep) & { note?: string };

export interface Script {
  name: string;
  steps: Step[];
}

/** A step written as a bare argv array means an exact command step. */
export type StepInput = Arg[] | Step;

export function script(name: string, steps: StepInput[]): Script {
  return { name, steps: steps.map((s) => (Array.isArray(s) ? cmd(...s) : s)) };
}

export function cmd(...args: Arg[]): CommandStep {
  return { kind: 'command', args, mode: 'exact' };
}

export function unordered(...args: Arg[]): CommandStep {
  return { kind: 'command', args, mode: 'unordered' };
}

/** Remaining/absolute time replies; the tolerance is one second in the command's unit. */
export function ttl(...args: Arg[]): CommandStep {
  const name = String(args[0]).toUpperCase();
  const millis = name === 'PTTL' || name === 'PEXPIRETIME';
  return { kind: 'command', args, mode: 'ttl', tolerance: millis ? 1000 : 1 };
}

export function skipValue(...args: Arg[]): CommandStep {
  return { kind: 'command', args, mode: 'skip-value' };
}

/** Exact map reply except for the values under `vary` (type still checked). */
export function varying(vary: string[], ...args: Arg[]): CommandStep {
  return { kind: 'command', args, mode: 'skip-value', vary };
}

export function errorPrefix(...args: Arg[]): CommandStep {
  return { kind: 'command', args, mode: 'error-prefix' };
}

/** A command after which the server must close the connection (QUIT). */
export function closing(...args: Arg[]): CommandStep {
  return { kind: 'command', args, mode: 'exact', after: 'closed' };
}

export function scanAll(...options: Arg[]): ScanAllStep {
  return { kind: 'scan-all', options };
}

/** Raw bytes; strings are taken as latin1 so '\xff' is the byte 0xff. */
export function raw(
  bytes: string | Buffer | Array<string | Buffer>,
  opts: { replies?: number; after?: After } = {},
): RawStep {
  const list = Array.isArray(bytes) ? bytes : [bytes];
  return {
    kind: 'raw',
    pieces: list.map((b) => (typeof b === 'string' ? Buffer.from(b, 'latin1') : b)),
    replies: opts.replies ?? 1,
    after: opts.after ?? 'open',
  };
}

/** Attach a note shown in failure messages. */
export function note<S extends Step>(text: string, step: S): S {
  return { ...step, note: text };
}

/** Every byte value 0x00..0xff once. */
export const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
