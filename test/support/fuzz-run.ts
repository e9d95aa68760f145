/**
 * Drives the fuzz generators (fuzz.ts) against running servers: protocol cases and command
 * batches on their own connections, a witness client that stays connected all along, and
 * the process checks (alive, RSS bounded). Used by test/integration/fuzz.test.ts (bounded)
 * and benchmarks/fuzz.ts (long runs); both print the same statistics.
 *
 * A failure is recorded with the seed and the case that caused it, never thrown from a
 * worker, so one run reports every kind of failure it met; `FuzzStats.failures` empty
 * means: no crash, no hang, every reply well formed, the witness undisturbed.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import {
  checkReplies,
  CommandFuzzer,
  errorCode,
  isProtocolError,
  multibulk,
  parseCommandTable,
  FUZZ_KEYS,
  populateCommands,
  protocolCase,
  ReplyError,
  Rng,
  type FuzzCommand,
  type ProtocolCase,
} from './fuzz';
import { escapeBytes, type Frame } from './resp-frames';

export interface FuzzStats {
  protocolCases: number;
  /** Request frames (or pieces of junk) sent in protocol cases. */
  framesTried: number;
  commandsTried: number;
  replies: number;
  errorsByPrefix: Record<string, number>;
  protocolCloses: number;
  /** Protocol cases whose connection ended with a reset (replies may have been cut). */
  resets: number;
  crashes: number;
  hangs: number;
  witnessChecks: number;
  /** Distinct table entries that were fuzzed. */
  commandsCovered: Set<string>;
  maxRssKb: number;
  failures: string[];
  /** What each worker is waiting on now (shown with a witness failure). */
  inFlight: Map<string, { what: string; sinceMs: number }>;
}

export function newStats(): FuzzStats {
  return {
    protocolCases: 0,
    framesTried: 0,
    commandsTried: 0,
    replies: 0,
    errorsByPrefix: {},
    protocolCloses: 0,
    resets: 0,
    crashes: 0,
    hangs: 0,
    witnessChecks: 0,
    commandsCovered: new Set(),
    maxRssKb: 0,
    failures: [],
    inFlight: new Map(),
  };
}

const MAX_FAILURES = 50;

function fail(stats: FuzzStats, msg: string): void {
  if (stats.failures.length < MAX_FAILURES) stats.failures.push(msg);
}

function countErrors(stats: FuzzStats, frames: readonly Frame[]): void {
  for (const f of frames) {
    const code = errorCode(f);
    if (code !== null) stats.errorsByPrefix[code] = (stats.errorsByPrefix[code] ?? 0) + 1;
  }
}

/** Statistics as the lines both the test and the benchmark print. */
export function formatStats(label: string, stats: FuzzStats, elapsedMs: number): string {
  const errors = Object.entries(stats.errorsByPrefix)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return [
    `${label}: ${(elapsedMs / 1000).toFixed(1)} s`,
    `  protocol cases ${stats.protocolCases}, frames tried ${stats.framesTried}, connections closed by protocol errors ${stats.protocolCloses} (${stats.resets} more reset)`,
    `  commands tried ${stats.commandsTried} (${stats.commandsCovered.size} table entries), replies ${stats.replies}`,
    `  errors by prefix: ${errors || '(none)'}`,
    `  witness checks ${stats.witnessChecks}, max RSS ${(stats.maxRssKb / 1024).toFixed(0)} MB, crashes ${stats.crashes}, hangs ${stats.hangs}, failures ${stats.failures.length}`,
  ].join('\n');
}

// ---------------------------------------------------------------------------
// A connection that keeps every byte it receives
// ---------------------------------------------------------------------------

export class FuzzConn {
  private chunks: Buffer[] = [];
  private size = 0;
  private joined: Buffer = Buffer.alloc(0);
  closed = false;
  /** The connection ended with a reset: bytes the peer sent may be lost (a suffix of them). */
  reset = false;
  private wake: Array<() => void> = [];
  lastDataAt = performance.now();

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.size += d.length;
      this.lastDataAt = performance.now();
      this.notify();
    });
    const onClose = (): void => {
      this.closed = true;
      this.notify();
    };
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') this.reset = true;
      onClose();
    });
    socket.on('end', onClose);
    socket.on('close', onClose);
  }

  static open(port: number, timeoutMs = 5_000): Promise<FuzzConn> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${port} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new FuzzConn(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = [];
    for (const f of w) f();
  }

  /** Every byte received so far. */
  bytes(): Buffer {
    if (this.joined.length !== this.size) {
      this.joined = Buffer.concat(this.chunks);
      this.chunks = [this.joined];
    }
    return this.joined;
  }

  get received(): number {
    return this.size;
  }

  /** Forget the bytes received so far (after they were checked). */
  consume(n: number): void {
    const b = this.bytes().subarray(n);
    this.chunks = [b];
    this.size = b.length;
    this.joined = b;
  }

  write(bytes: Buffer): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.write(bytes, () => resolve());
    });
  }

  end(): void {
    if (!this.closed) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
    this.closed = true;
    this.notify();
  }

  /** Wait until `done()` holds (re-checked on every arrival and on close); false on timeout. */
  until(done: () => boolean, timeoutMs: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = this.wake.filter((f) => f !== check);
        resolve(done());
      }, timeoutMs);
      const check = (): void => {
        if (done()) {
          clearTimeout(timer);
          resolve(true);
        } else {
          this.wake.push(check);
        }
      };
      this.wake.push(check);
    });
  }

  /** Wait for no bytes for `quietMs` (or a close); false if still busy after `timeoutMs`. */
  async quiet(quietMs: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (!this.closed && performance.now() < deadline) {
      const idle = performance.now() - this.lastDataAt;
      if (idle >= quietMs) return true;
      await new Promise((r) => setTimeout(r, quietMs - idle + 1));
    }
    return this.closed || performance.now() - this.lastDataAt >= quietMs;
  }
}

/** Send one command on `conn` and wait for its reply frame (the frames before are consumed). */
async function request(conn: FuzzConn, argv: ReadonlyArray<string | Buffer>, timeoutMs: number): Promise<Frame | null> {
  await conn.write(multibulk(argv));
  let frame: Frame | null = null;
  const ok = await conn.until(() => {
    const { frames } = checkReplies(conn.bytes());
    const replies = frames.filter((f) => f.type !== '>');
    if (replies.length === 0) return conn.closed;
    frame = replies[0];
    return true;
  }, timeoutMs);
  if (!ok || frame === null) return null;
  const { frames, rest } = checkReplies(conn.bytes());
  conn.consume(conn.received - rest.length);
  return frames.filter((f) => f.type !== '>')[0] ?? null;
}

function frameText(f: Frame | null): string {
  return f === null ? '(no reply)' : escapeBytes(f.raw, 200);
}

// ---------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------

export interface WatchedProcess {
  pid: number;
  readonly exited: boolean;
  output?: () => string;
}

export function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Alive and below the RSS limit; records a crash or failure otherwise. Returns false on a crash. */
export function checkProcesses(stats: FuzzStats, procs: readonly WatchedProcess[], rssLimitKb: number, context: string): boolean {
  let ok = true;
  for (const p of procs) {
    if (p.exited) {
      if (stats.crashes === 0) {
        fail(stats, `server pid ${p.pid} exited (${context})\n${p.output?.().slice(-3000) ?? ''}`);
      }
      stats.crashes++;
      ok = false;
      continue;
    }
    const rss = rssKb(p.pid);
    stats.maxRssKb = Math.max(stats.maxRssKb, rss);
    if (rss > rssLimitKb) fail(stats, `server pid ${p.pid} RSS ${rss} kB above ${rssLimitKb} kB (${context})`);
  }
  return ok;
}

// ---------------------------------------------------------------------------
// The witness
// ---------------------------------------------------------------------------

/** A client connected the whole run: PING and a SET/GET of its own key, each within `deadlineMs`. */
export class Witness {
  private conn: FuzzConn | null = null;
  private n = 0;
  readonly written = new Map<string, string>();

  constructor(
    private readonly port: number,
    private readonly tag: string,
    private readonly deadlineMs: number,
  ) {}

  async start(): Promise<void> {
    this.conn = await FuzzConn.open(this.port);
  }

  /** One check; records a failure (a hang if a reply is late) and returns false if it fails. */
  async check(stats: FuzzStats, context: string): Promise<boolean> {
    const ok = await this.checkOnce(stats, context);
    if (!ok && stats.inFlight.size > 0 && stats.failures.length < MAX_FAILURES) {
      const now = performance.now();
      const busy = [...stats.inFlight.entries()].map(([w, f]) => `    ${w}, last segment sent ${Math.round(now - f.sinceMs)} ms ago: ${f.what.slice(0, 600)}`);
      stats.failures[stats.failures.length - 1] += `\n  the command workers meanwhile:\n${busy.join('\n')}`;
    }
    return ok;
  }

  private async checkOnce(stats: FuzzStats, context: string): Promise<boolean> {
    const conn = this.conn;
    if (conn === null || conn.closed) {
      fail(stats, `witness connection closed (${context})`);
      return false;
    }
    const key = `witness:${this.tag}:${this.n++}`;
    const value = `v${this.n}-${this.tag}`;
    const steps: Array<[Array<string>, string]> = [
      [['PING'], '+PONG\r\n'],
      [['SET', key, value], '+OK\r\n'],
      [['GET', key], `$${value.length}\r\n${value}\r\n`],
    ];
    for (const [argv, want] of steps) {
      const started = performance.now();
      let reply: Frame | null;
      try {
        reply = await request(conn, argv, this.deadlineMs);
      } catch (err) {
        fail(stats, `witness ${argv[0]}: malformed reply ${(err as Error).message} (${context})`);
        return false;
      }
      if (reply === null) {
        stats.hangs++;
        fail(stats, `witness ${argv.join(' ')}: no reply within ${this.deadlineMs} ms (${context})`);
        return false;
      }
      if (reply.raw.toString('latin1') !== want) {
        fail(stats, `witness ${argv.join(' ')}: ${frameText(reply)}, expected ${JSON.stringify(want)} after ${Math.round(performance.now() - started)} ms (${context})`);
        return false;
      }
      if (argv[0] === 'SET') this.written.set(key, value);
    }
    stats.witnessChecks++;
    return true;
  }

  /** Everything the witness wrote is still there. */
  async verifyAll(stats: FuzzStats): Promise<void> {
    const conn = this.conn;
    if (conn === null || conn.closed) {
      fail(stats, 'witness connection closed at the end');
      return;
    }
    const keys = [...this.written.keys()];
    for (let i = 0; i < keys.length; i += 100) {
      const chunk = keys.slice(i, i + 100);
      const reply = await request(conn, ['MGET', ...chunk], this.deadlineMs);
      if (reply === null || reply.items.length !== chunk.length) {
        fail(stats, `witness MGET at the end: ${frameText(reply)}`);
        return;
      }
      chunk.forEach((k, j) => {
        const got = reply.items[j].value?.toString('latin1') ?? null;
        if (got !== this.written.get(k)) fail(stats, `witness key ${k} is ${JSON.stringify(got)} at the end, wrote ${JSON.stringify(this.written.get(k))}`);
      });
    }
  }

  close(): void {
    this.conn?.destroy();
  }
}

// ---------------------------------------------------------------------------
// Protocol cases
// ---------------------------------------------------------------------------

export interface CaseResult {
  bytes: Buffer;
  closed: boolean;
  reset: boolean;
}

/**
 * Write the case's pieces as separate writes, then either half-close (`fin`: the server
 * answers every complete command and closes) or wait for the replies to stop.
 */
export async function sendCase(port: number, c: ProtocolCase, fin: boolean, rng: Rng, timeoutMs: number, oneWrite = false): Promise<CaseResult & { hung: boolean }> {
  const conn = await FuzzConn.open(port);
  try {
    for (const piece of oneWrite ? [Buffer.concat(c.pieces)] : c.pieces) {
      await conn.write(piece);
      if (conn.closed) break;
      if (rng.chance(0.2)) await new Promise((r) => setTimeout(r, 1));
    }
    let hung = false;
    if (fin) {
      conn.end();
      hung = !(await conn.until(() => conn.closed, timeoutMs));
    } else {
      hung = !(await conn.quiet(100, timeoutMs));
      const { frames } = checkReplies(conn.bytes());
      if (frames.some(isProtocolError) && !conn.closed) {
        // After a protocol error the server must close the connection.
        await conn.until(() => conn.closed, 2_000);
      }
    }
    return { bytes: conn.bytes(), closed: conn.closed, reset: conn.reset, hung };
  } finally {
    conn.destroy();
  }
}

/** Check one case's reply stream; returns a failure text or null. */
export function checkCaseReplies(r: CaseResult, stats: FuzzStats): string | null {
  let frames: Frame[];
  let rest: Buffer;
  try {
    ({ frames, rest } = checkReplies(r.bytes));
  } catch (err) {
    if (err instanceof ReplyError) return `malformed reply stream: ${err.message}`;
    throw err;
  }
  stats.replies += frames.length;
  countErrors(stats, frames);
  if (rest.length > 0 && r.closed && !r.reset) return `torn reply at close: ${escapeBytes(rest, 200)}`;
  const p = frames.findIndex(isProtocolError);
  if (p >= 0) {
    stats.protocolCloses++;
    if (p !== frames.length - 1) return `frames after a protocol error: ${frames.slice(p).map(frameText).join(' ')}`;
    if (!r.closed) return `connection still open after ${frameText(frames[p])}`;
  } else if (r.closed && r.reset) {
    // A server that closes with unread input resets the connection, and the reset may
    // discard replies not yet read here (Redis does the same): nothing more to check.
    stats.resets++;
  }
  return null;
}

function describeCase(c: ProtocolCase): string {
  const all = Buffer.concat(c.pieces);
  return `kinds ${c.kinds.join(',')}; ${c.pieces.length} writes; stream ${escapeBytes(all, 600)}`;
}

export interface RunOptions {
  seed: number;
  durationMs: number;
  /** Servers whose pid and RSS are checked. */
  procs: readonly WatchedProcess[];
  rssLimitKb: number;
  /** Concurrent connections per kind of fuzzing. */
  workers?: number;
  /** Per-reply deadline for a hang. */
  hangMs?: number;
  log?: (line: string) => void;
}

async function protocolWorker(port: number, rng: Rng, stats: FuzzStats, deadline: number, tag: string, hangMs: number): Promise<void> {
  let i = 0;
  while (performance.now() < deadline && stats.crashes === 0) {
    const caseSeed = rng.int(2 ** 31);
    const caseRng = new Rng(caseSeed);
    const c = protocolCase(caseRng, `pz:${tag}:${i++}`);
    const fin = caseRng.chance(0.6);
    stats.protocolCases++;
    stats.framesTried += c.kinds.length;
    let r: CaseResult & { hung: boolean };
    try {
      r = await sendCase(port, c, fin, caseRng, hangMs);
    } catch (err) {
      fail(stats, `protocol case seed ${caseSeed}: ${(err as Error).message}`);
      return;
    }
    if (r.hung) {
      stats.hangs++;
      fail(stats, `protocol case seed ${caseSeed}: no close/quiet within ${hangMs} ms; ${describeCase(c)}`);
      continue;
    }
    const why = checkCaseReplies(r, stats);
    if (why !== null) fail(stats, `protocol case seed ${caseSeed} (${fin ? 'fin' : 'open'}): ${why}; ${describeCase(c)}`);
  }
}

// ---------------------------------------------------------------------------
// Command batches
// ---------------------------------------------------------------------------

/** Read the server's table over the wire: COMMAND and COMMAND DOCS. */
export async function loadFuzzer(port: number): Promise<CommandFuzzer> {
  const conn = await FuzzConn.open(port);
  try {
    const grab = async (argv: string[]): Promise<Buffer> => {
      const f = await request(conn, argv, 10_000);
      if (f === null) throw new Error(`${argv.join(' ')}: no reply`);
      return f.raw;
    };
    const table = await grab(['COMMAND']);
    const docs = await grab(['COMMAND', 'DOCS']);
    return new CommandFuzzer(parseCommandTable(table, docs));
  } finally {
    conn.destroy();
  }
}

function describeArgv(argv: ReadonlyArray<string | Buffer>): string {
  return argv.map((a) => escapeBytes(typeof a === 'string' ? Buffer.from(a, 'latin1') : a, 60)).join(' ');
}

/**
 * Send `cmds` pipelined (cut into writes at random points) and wait for one reply each
 * (pushes aside); with `untilReset`, read up to the `+RESET` that follows them instead.
 */
async function runSegment(conn: FuzzConn, cmds: FuzzCommand[], rng: Rng, stats: FuzzStats, hangMs: number, what: string): Promise<boolean> {
  const isolated = cmds.length === 1 && cmds[0].isolated;
  const argvs = cmds.map((c) => c.argv);
  if (isolated) argvs.push(['RESET']);
  const stream = Buffer.concat(argvs.map(multibulk));
  const worker = what.split(' (')[1]?.split(' #')[0] ?? what;
  stats.inFlight.set(worker, { what: `${what}: ${cmds.map((c) => describeArgv(c.argv)).join(' | ')}`, sinceMs: performance.now() });
  const cut = rng.chance(0.3) ? 1 + rng.int(Math.max(1, stream.length - 1)) : stream.length;
  await conn.write(stream.subarray(0, cut));
  if (cut < stream.length) await conn.write(stream.subarray(cut));
  let frames: Frame[] = [];
  let error: string | null = null;
  const expected = argvs.length;
  const closes = cmds.some((c) => c.closes);
  const done = await conn.until(() => {
    try {
      frames = checkReplies(conn.bytes()).frames.filter((f) => f.type !== '>');
    } catch (err) {
      error = (err as Error).message;
      return true;
    }
    if (isolated) return frames.some((f) => f.raw.toString('latin1') === '+RESET\r\n') || conn.closed;
    return frames.length >= expected || conn.closed;
  }, hangMs);
  const context = `${what}: ${cmds.map((c) => describeArgv(c.argv)).join(' | ')}`;
  if (error !== null) {
    fail(stats, `malformed reply (${context}): ${error}`);
    return false;
  }
  if (!done) {
    stats.hangs++;
    fail(stats, `no reply within ${hangMs} ms (${context}); got ${frames.length}/${expected} frames`);
    return false;
  }
  stats.replies += frames.length;
  countErrors(stats, frames);
  const { rest } = checkReplies(conn.bytes());
  if (!isolated && frames.length < expected) {
    fail(stats, `connection closed after ${frames.length}/${expected} replies (${context}); last ${frames.slice(-2).map(frameText).join(' ')}`);
    return false;
  }
  if (!isolated && frames.length > expected) {
    fail(stats, `${frames.length} replies to ${expected} commands (${context})`);
  }
  if (isolated && !frames.some((f) => f.raw.toString('latin1') === '+RESET\r\n')) {
    fail(stats, `connection closed before RESET's reply (${context})`);
    return false;
  }
  conn.consume(conn.received - rest.length);
  if (closes) {
    if (!(await conn.until(() => conn.closed, hangMs))) fail(stats, `QUIT did not close the connection (${context})`);
    return false;
  }
  return true;
}

async function commandWorker(port: number, fuzzer: CommandFuzzer, rng: Rng, stats: FuzzStats, deadline: number, hangMs: number, tag: string): Promise<void> {
  let conn: FuzzConn | null = null;
  let batch = 0;
  try {
    while (performance.now() < deadline && stats.crashes === 0) {
      const batchSeed = rng.int(2 ** 31);
      const brng = new Rng(batchSeed);
      const what = `command batch seed ${batchSeed} (${tag} #${batch++})`;
      if (conn === null || conn.closed || brng.chance(0.05)) {
        conn?.destroy();
        conn = await FuzzConn.open(port);
      }
      // Keys of every type, fresh for the batch (on whatever db the connection is on).
      const populate: FuzzCommand[] = populateCommands().map((argv) => ({ argv, from: 'populate', isolated: false, closes: false }));
      // A third of the batches switch protocol first, so RESP3 replies are checked too.
      if (brng.chance(0.33)) populate.unshift({ argv: ['HELLO', brng.chance(0.7) ? '3' : '2'], from: 'populate', isolated: false, closes: false });
      if (!(await runSegment(conn, populate, brng, stats, hangMs, `${what} populate`))) {
        conn.destroy();
        conn = null;
        continue;
      }
      const n = brng.between(1, 20);
      let segment: FuzzCommand[] = [];
      const flush = async (): Promise<boolean> => {
        if (segment.length === 0) return true;
        const ok = await runSegment(conn as FuzzConn, segment, brng, stats, hangMs, what);
        segment = [];
        return ok;
      };
      let alive = true;
      for (let i = 0; i < n && alive; i++) {
        const cmd = fuzzer.next(brng);
        stats.commandsTried++;
        stats.commandsCovered.add(cmd.from);
        if (cmd.isolated) {
          alive = (await flush()) && (await runSegment(conn, [cmd], brng, stats, hangMs, what));
        } else {
          segment.push(cmd);
          if (cmd.closes) alive = await flush();
        }
      }
      if (alive) alive = await flush();
      if (!alive) {
        conn.destroy();
        conn = null;
      }
    }
  } catch (err) {
    fail(stats, `command worker ${tag}: ${(err as Error).stack ?? String(err)}`);
  } finally {
    conn?.destroy();
  }
}

/**
 * Fuzz the server on `port` for `durationMs`: `workers` protocol connections and `workers`
 * command connections at once, the witness checking every 200 ms, the processes checked
 * with it. Returns the statistics (failures included).
 */
export async function runFuzz(port: number, opts: RunOptions, stats = newStats()): Promise<FuzzStats> {
  const workers = opts.workers ?? 2;
  const hangMs = opts.hangMs ?? 10_000;
  const log = opts.log ?? (() => undefined);
  const rng = new Rng(opts.seed);
  const fuzzer = await loadFuzzer(port);
  const witness = new Witness(port, `s${opts.seed}`, hangMs);
  await witness.start();
  const deadline = performance.now() + opts.durationMs;
  let stop = false;
  const watch = (async () => {
    let lastLog = performance.now();
    const started = performance.now();
    while (!stop) {
      const alive = checkProcesses(stats, opts.procs, opts.rssLimitKb, `seed ${opts.seed}`);
      if (!alive) return;
      await witness.check(stats, `seed ${opts.seed}`);
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        log(formatStats(`seed ${opts.seed} so far`, stats, performance.now() - started));
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const jobs: Array<Promise<void>> = [];
  for (let w = 0; w < workers; w++) {
    jobs.push(protocolWorker(port, new Rng(rng.int(2 ** 31)), stats, deadline, `${opts.seed}-${w}`, hangMs));
    jobs.push(commandWorker(port, fuzzer, new Rng(rng.int(2 ** 31)), stats, deadline, hangMs, `${opts.seed}-${w}`));
  }
  await Promise.all(jobs);
  stop = true;
  await watch;
  if (checkProcesses(stats, opts.procs, opts.rssLimitKb, `seed ${opts.seed} at the end`)) {
    await witness.check(stats, `seed ${opts.seed} at the end`);
    await witness.verifyAll(stats);
  }
  witness.close();
  return stats;
}

// ---------------------------------------------------------------------------
// Protocol differential against redis-server
// ---------------------------------------------------------------------------

export interface DiffResult {
  cases: number;
  frames: number;
  /** Cases where one side's connection was reset and only a prefix could be compared. */
  prefixOnly: number;
  mismatches: string[];
}

/**
 * Equal replies, or, where a side's connection was reset (a server closing with unread
 * input sends a reset, which may discard replies not yet read), one side's bytes a prefix
 * of the other's: "the same bytes up to the point where the connection closes".
 */
export function sameReplies(a: CaseResult, b: CaseResult): 'equal' | 'prefix' | 'differ' {
  if (a.bytes.equals(b.bytes)) return 'equal';
  if (a.reset && b.bytes.subarray(0, a.bytes.length).equals(a.bytes)) return 'prefix';
  if (b.reset && a.bytes.subarray(0, b.bytes.length).equals(b.bytes)) return 'prefix';
  // Redis frees a client at its FIN with the output it has not written yet (it writes at
  // most 64 KB per event loop turn); quorumkv answers every command read before the FIN.
  if (a.bytes.length >= 64 * 1024 && b.bytes.subarray(0, a.bytes.length).equals(a.bytes)) return 'prefix';
  // Whether a line without its CR/LF is "too big" (over 64 KB) depends on how the bytes
  // were cut into reads, on either server: compare up to the first such error.
  const tooBig = (r: CaseResult): number => r.bytes.indexOf('-ERR Protocol error: too big');
  const cut = Math.min(...[tooBig(a), tooBig(b)].filter((i) => i >= 0));
  if (Number.isFinite(cut) && a.bytes.subarray(0, cut).equals(b.bytes.subarray(0, cut))) return 'prefix';
  return 'differ';
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/**
 * The same protocol cases, half-closed, against redis-server and quorumkv: the reply bytes
 * must be equal. Cases run one at a time per side so both see the same key state.
 */
export async function runDifferential(redisPort: number, qkvPort: number, seed: number, cases: number, opts: { maxMismatches?: number; filter?: (c: ProtocolCase) => boolean } = {}): Promise<DiffResult> {
  const rng = new Rng(seed);
  const out: DiffResult = { cases: 0, frames: 0, prefixOnly: 0, mismatches: [] };
  for (let i = 0; i < cases && out.mismatches.length < (opts.maxMismatches ?? 10); i++) {
    const caseSeed = rng.int(2 ** 31);
    const c = protocolCase(new Rng(caseSeed), `dz:${seed}:${i}`);
    if (opts.filter && !opts.filter(c)) continue;
    out.cases++;
    out.frames += c.kinds.length;
    // Half the cases in one write: a server that reads everything before it answers a
    // protocol error closes without a reset, so the whole reply stream is compared.
    const oneWrite = (caseSeed & 1) === 0;
    const [a, b] = await Promise.all([
      sendCase(redisPort, c, true, new Rng(caseSeed + 1), 10_000, oneWrite),
      sendCase(qkvPort, c, true, new Rng(caseSeed + 1), 10_000, oneWrite),
    ]);
    const same = sameReplies(a, b);
    if (same === 'prefix') out.prefixOnly++;
    if (same === 'differ' || a.hung !== b.hung) {
      const tag = (r: CaseResult & { hung: boolean }): string => `${r.hung ? ' (hung)' : ''}${r.reset ? ' (reset)' : ''}`;
      const at = Math.max(0, firstDifference(a.bytes, b.bytes) - 100);
      out.mismatches.push(
        `case seed ${caseSeed}${oneWrite ? ' (one write)' : ''}: ${describeCase(c)}\n  replies differ from byte ${at + 100} (redis ${a.bytes.length} bytes, quorumkv ${b.bytes.length})` +
          `\n  redis:    ...${escapeBytes(a.bytes.subarray(at), 400)}${tag(a)}\n  quorumkv: ...${escapeBytes(b.bytes.subarray(at), 400)}${tag(b)}`,
      );
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Command differential against redis-server
// ---------------------------------------------------------------------------

/**
 * Commands whose replies, or whose effect on later replies, are not the same on two
 * servers by design: random picks, clocks, server and client introspection (INFO, LATENCY,
 * SLOWLOG, ACL LOG and GENPASS), quorumkv's own.
 */
const NOT_DETERMINISTIC = new Set([
  'randomkey', 'spop', 'srandmember', 'hrandfield', 'zrandmember', 'time', 'info', 'lastsave', 'dbsize',
  'hello', 'command', 'config', 'object', 'memory', 'ring', 'consistency', 'client', 'debug', 'auth',
  'script', 'function', 'scan', 'pubsub', 'publish', 'spublish', 'select', 'move', 'reset', 'quit', 'keys',
  'expire', 'pexpire', 'expireat', 'pexpireat', 'setex', 'psetex', 'getex', 'restore', 'wait', 'xautoclaim', 'xclaim',
  'latency', 'slowlog', 'acl',
  'xinfo', 'xpending', 'blmove', 'blmpop', 'blpop', 'brpop', 'brpoplpush', 'bzmpop', 'bzpopmax', 'bzpopmin', 'xread', 'xreadgroup',
]);

/** Replies whose order is not Redis's by design (docs/commands.md): compared as multisets. */
const UNORDERED = new Set(['smembers', 'sinter', 'sunion', 'sdiff', 'hgetall', 'hkeys', 'hvals', 'georadius', 'georadius_ro', 'georadiusbymember', 'georadiusbymember_ro', 'geosearch']);
/** Replies that carry a cursor: only errors are compared. */
const ERRORS_ONLY = new Set(['sscan', 'hscan', 'zscan']);

/** A frame with every aggregate's items sorted, at every depth. */
function deepSorted(f: Frame): string {
  if (f.items.length === 0) return f.raw.toString('latin1');
  return `${f.type}[${f.items.map(deepSorted).sort().join(',')}]`;
}

function comparable(f: Frame, name: string, argv: ReadonlyArray<string | Buffer>): string {
  const text = f.raw.toString('latin1');
  // EXEC's replies may hold unordered ones: compare them in any order, at any depth.
  if (name === 'exec') return deepSorted(f);
  // Lua syntax errors are Lua 5.3's texts (docs/commands.md, Scripting).
  if (text.startsWith('-ERR Error compiling script')) return '-ERR Error compiling script';
  // SORT ... BY: ties keep their order here; Redis leaves them in hash order (docs/commands.md).
  const sortBy = (name === 'sort' || name === 'sort_ro') && argv.some((a) => typeof a === 'string' && a.toLowerCase() === 'by');
  if ((UNORDERED.has(name) || sortBy) && f.items.length > 0) return f.items.map((i) => i.raw.toString('latin1')).sort().join('');
  return text;
}

export interface CommandDiffResult {
  commands: number;
  /** Commands both servers answered with the same error. */
  sameErrors: number;
  mismatches: string[];
}

/**
 * The same command sequence, one command at a time, on redis-server and quorumkv (both
 * populated alike): the same reply bytes, compared as multisets where the order differs
 * by design (UNORDERED, SORT ... BY), errors only for cursors (ERRORS_ONLY). Commands in
 * NOT_DETERMINISTIC, TTL options and clock-generated stream IDs are not sent.
 */
export async function runCommandDifferential(redisPort: number, qkvPort: number, seed: number, count: number, maxMismatches = 20, trace = false, full = true): Promise<CommandDiffResult> {
  const fuzzer = await loadFuzzer(qkvPort);
  const rng = new Rng(seed);
  const [a, b] = await Promise.all([FuzzConn.open(redisPort), FuzzConn.open(qkvPort)]);
  const out: CommandDiffResult = { commands: 0, sameErrors: 0, mismatches: [] };
  const history: string[] = [];
  try {
    const send = async (argv: ReadonlyArray<string | Buffer>): Promise<[Frame | null, Frame | null]> =>
      Promise.all([request(a, argv, 10_000), request(b, argv, 10_000)]);
    for (const argv of populateCommands()) await send(argv);
    while (out.commands < count && out.mismatches.length < maxMismatches) {
      const cmd = fuzzer.next(rng);
      const name = String(cmd.argv[0]).toLowerCase();
      if (cmd.isolated || cmd.closes || NOT_DETERMINISTIC.has(name) || NOT_DETERMINISTIC.has(cmd.from.split('|')[0])) continue;
      // A TTL makes a key's existence depend on the moment each server looks.
      if (cmd.argv.some((a) => typeof a === 'string' && /^(ex|px|exat|pxat)$/i.test(a))) continue;
      // So does an ID a stream generates from the clock.
      if (name === 'xadd' && cmd.argv.some((a) => typeof a === 'string' && /^(\*|[0-9]+-\*)$/.test(a))) continue;
      out.commands++;
      if (rng.chance(0.02)) {
        history.length = 0;
        for (const argv of populateCommands()) await send(argv);
      }
      const [ra, rb] = await send(cmd.argv);
      history.push(describeArgv(cmd.argv));
      if (history.length > 8) history.shift();
      if (ra === null || rb === null) {
        out.mismatches.push(`seed ${seed}: ${describeArgv(cmd.argv)}: no reply (redis ${frameText(ra)}, quorumkv ${frameText(rb)})`);
        break;
      }
      const ea = ra.type === '-' ? ra.raw.toString('latin1') : null;
      const eb = rb.type === '-' ? rb.raw.toString('latin1') : null;
      if (trace) {
        // Replaying a mismatch: find the first command after which the keys' types differ.
        for (const key of FUZZ_KEYS) {
          const [ta, tb] = await send(['TYPE', key]);
          if (frameText(ta) !== frameText(tb)) {
            out.mismatches.push(`seed ${seed}, command #${out.commands}: ${describeArgv(cmd.argv)} (redis ${frameText(ra)}, quorumkv ${frameText(rb)}) leaves ${key} a ${frameText(ta)} on redis, a ${frameText(tb)} on quorumkv; after: ${history.slice(0, -1).join(' | ')}`);
            return out;
          }
        }
      }
      if (ea !== null && ea === eb) out.sameErrors++;
      const compareAll = full && !ERRORS_ONLY.has(name);
      const differ = (ea === null) !== (eb === null) || ((ea !== null || compareAll) && comparable(ra, name, cmd.argv) !== comparable(rb, name, cmd.argv));
      if (differ) {
        out.mismatches.push(`seed ${seed}, command #${out.commands}: ${describeArgv(cmd.argv)}\n  redis:    ${frameText(ra)}\n  quorumkv: ${frameText(rb)}\n  after: ${history.slice(0, -1).join(' | ')}`);
      }
    }
  } finally {
    a.destroy();
    b.destroy();
  }
  return out;
}
