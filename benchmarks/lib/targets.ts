/**
 * Benchmark targets and the process plumbing they need.
 *
 * A target is a server (or a group of servers, e.g. the 3-node quorumkv
 * cluster) that redis-benchmark is pointed at. To add one, implement `Target`
 * (usually by building on `ServerProcessTarget` or the helpers below) and add
 * a `TargetDefinition` to `TARGET_DEFINITIONS`.
 *
 * Every child process and temp dir goes through `cleanup`, so that the runner
 * can stop them all by pid, including on error or Ctrl-C.
 */
import { ChildProcess, spawn, SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeCerts } from '../../test/support/certs';

// ---------------------------------------------------------------------------
// Target model
// ---------------------------------------------------------------------------

export interface StartedTarget {
  /** Port on 127.0.0.1 that redis-benchmark connects to. */
  readonly port: number;
  /** Every server process of the target; their CPU time is summed. */
  readonly pids: readonly number[];
  /** The data dirs of the target (one per process), for the size on disk. */
  readonly dirs: readonly string[];
}

export interface Target {
  readonly name: string;
  readonly description: string;
  /** Start the server(s) and resolve once they answer PING. */
  start(): Promise<StartedTarget>;
  /** Stop every process started by start() and remove its temp dirs. Safe to call twice. */
  stop(): Promise<void>;
}

export interface TargetContext {
  /** redis-server executable. */
  readonly redisServer: string;
  /** node executable, for quorumkv. */
  readonly node: string;
  /** Compiled quorumkv entry point (dist/src/main.js). */
  readonly quorumkvMain: string;
  /**
   * Config file every quorumkv process is started with (config/quorumkv.conf by default),
   * before the per-target `--directive value` overrides; null: the built-in defaults.
   */
  readonly quorumkvConfig: string | null;
  /** Keep temp dirs (data + server logs) after the run, for debugging. */
  readonly keepTmp: boolean;
  /** How long to wait for a server to answer PING. */
  readonly readyTimeoutMs: number;
  /** Flags for node itself before the quorumkv entry point (e.g. --max-old-space-size=8192); none by default. */
  readonly nodeFlags?: readonly string[];
}

export interface TargetDefinition {
  readonly name: string;
  readonly description: string;
  /** Part of the run when --targets is not given. */
  readonly inDefault: boolean;
  /** Server processes it starts (1, or 3 for the cluster). */
  readonly nodes: number;
  create(ctx: TargetContext): Target;
}

// ---------------------------------------------------------------------------
// Cleanup registry
// ---------------------------------------------------------------------------


/** Remove a target's temp dir, or keep it (--keep-tmp) and say where it is. */
function releaseTempDir(dir: string, name: string, keep: boolean): void {
  if (keep) {
    cleanup.forgetDir(dir);
    process.stderr.write(`[bench] ${name}: kept ${dir}\n`);
  } else {
    cleanup.removeDir(dir);
  }
}

class Cleanup {
  private readonly children = new Set<ChildProcess>();
  private readonly dirs = new Set<string>();

  trackChild(child: ChildProcess): void {
    if (child.exitCode !== null || child.signalCode !== null) return;
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
  }

  trackDir(dir: string): void {
    this.dirs.add(dir);
  }

  removeDir(dir: string): void {
    this.dirs.delete(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }

  /** Dirs are left on disk (and forgotten) when --keep-tmp is used. */
  forgetDir(dir: string): void {
    this.dirs.delete(dir);
  }

  /** SIGTERM every live child, SIGKILL it after `graceMs`, then remove dirs. */
  async stopAll(graceMs = 10_000): Promise<void> {
    await Promise.all([...this.children].map((c) => stopChild(c, graceMs)));
    for (const dir of [...this.dirs]) this.removeDir(dir);
  }

  /** Last resort from process.on('exit'): no awaiting possible. */
  killAllSync(): void {
    for (const child of this.children) {
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    this.children.clear();
    for (const dir of [...this.dirs]) {
      try {
        this.removeDir(dir);
      } catch {
        // best effort
      }
    }
  }
}

export const cleanup = new Cleanup();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/** SIGTERM the child (by pid), escalate to SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (hasExited(child) || child.pid === undefined) return;
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitForExit(child, graceMs)) return;
  process.stderr.write(`[bench] pid ${child.pid} ignored SIGTERM for ${graceMs} ms, sending SIGKILL\n`);
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitForExit(child, 5_000);
}

/** spawn() and register the child with `cleanup`. Throws if the binary cannot be started. */
export async function spawnTracked(cmd: string, args: readonly string[], options: SpawnOptions): Promise<ChildProcess> {
  const child = spawn(cmd, [...args], options);
  cleanup.trackChild(child);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (err) => reject(new Error(`cannot start ${cmd}: ${err.message}`)));
  });
  return child;
}

// ---------------------------------------------------------------------------
// Helpers for writing targets
// ---------------------------------------------------------------------------

export function makeTempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `quorumkv-bench-${label}-`));
  cleanup.trackDir(dir);
  return dir;
}

/** Ask the kernel for a free port on 127.0.0.1 (tiny race until the server binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not obtain a free port'));
        return;
      }
      const port = addr.port;
      srv.close(() => resolve(port));
    });
  });
}

/** One PING over RESP; resolves to the first reply line (e.g. "+PONG", "-LOADING ..."). */
function pingOnce(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({ host: '127.0.0.1', port });
    let buf = '';
    const done = (err: Error | null, line?: string): void => {
      sock.destroy();
      if (err !== null) reject(err);
      else resolve(line ?? '');
    };
    sock.setTimeout(timeoutMs, () => done(new Error('PING timed out')));
    sock.once('error', (err) => done(err));
    sock.once('connect', () => sock.write('*1\r\n$4\r\nPING\r\n'));
    sock.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      const eol = buf.indexOf('\r\n');
      if (eol >= 0) done(null, buf.slice(0, eol));
    });
    sock.once('end', () => done(new Error('connection closed before PING reply')));
  });
}

/** A decoded RESP2 reply. Errors are values (`RespError`), not exceptions. */
export type RespValue = string | number | null | RespError | RespValue[];

export class RespError {
  constructor(readonly message: string) {}
}

/** Parse one RESP reply starting at `pos`; null if `buf` does not hold all of it yet. */
function parseResp(buf: Buffer, pos: number): { value: RespValue; end: number } | null {
  const eol = buf.indexOf('\r\n', pos, 'latin1');
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[pos]);
  const line = buf.toString('latin1', pos + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new RespError(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, end: next };
      if (buf.length < next + len + 2) return null;
      return { value: buf.toString('utf8', next, next + len), end: next + len + 2 };
    }
    case '*':
    case '%': {
      // '%' (a RESP3 map) only if someone switched the protocol; read it as a flat array.
      const count = Number(line) * (type === '%' ? 2 : 1);
      if (count < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parseResp(buf, at);
        if (item === null) return null;
        items.push(item.value);
        at = item.end;
      }
      return { value: items, end: at };
    }
    case '_':
      return { value: null, end: next };
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}

/** Send one command over a fresh connection to 127.0.0.1:port and resolve to its reply. */
export function respCommand(port: number, args: readonly string[], timeoutMs: number): Promise<RespValue> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let settled = false;
    const done = (err: Error | null, value?: RespValue): void => {
      if (settled) return;
      settled = true;
      sock.destroy();
      if (err !== null) reject(err);
      else resolve(value ?? null);
    };
    sock.setTimeout(timeoutMs, () => done(new Error(`${args[0]} timed out`)));
    sock.once('error', (err) => done(err));
    sock.once('connect', () => {
      let req = `*${args.length}\r\n`;
      for (const a of args) req += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
      sock.write(req);
    });
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        const parsed = parseResp(buf, 0);
        if (parsed !== null) done(null, parsed.value);
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
      }
    });
    sock.once('end', () => done(new Error(`connection closed before the ${args[0]} reply`)));
  });
}

function tailOfFile(file: string, maxLines = 20): string {
  try {
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    return lines.slice(-maxLines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Poll PING until the server answers +PONG. Fails early if `child` exits.
 * `logFile` is quoted in the error message to explain start-up failures.
 */
export async function waitForPing(port: number, child: ChildProcess, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (hasExited(child)) {
      throw new Error(
        `server pid ${child.pid} exited (code ${child.exitCode}, signal ${child.signalCode}) before answering PING; ` +
          `${path.basename(logFile)} ends with:\n${tailOfFile(logFile)}`,
      );
    }
    try {
      const reply = await pingOnce(port, 1_000);
      if (reply === '+PONG') return;
      last = `reply ${JSON.stringify(reply)}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `server on port ${port} did not answer PING within ${timeoutMs} ms (last: ${last}); ` +
          `${path.basename(logFile)} ends with:\n${tailOfFile(logFile)}`,
      );
    }
    await sleep(100);
  }
}

/**
 * A target made of a single server process listening on a free port, with its
 * own temp dir (data + server.log). `argsFor` builds the command line.
 */
export class ServerProcessTarget implements Target {
  private child: ChildProcess | null = null;
  private dir: string | null = null;

  constructor(
    readonly name: string,
    readonly description: string,
    private readonly ctx: TargetContext,
    private readonly command: string,
    private readonly argsFor: (port: number, dir: string) => string[],
    private readonly precheck: () => void = () => {},
  ) {}

  async start(): Promise<StartedTarget> {
    if (this.child !== null) throw new Error(`${this.name}: already started`);
    this.precheck();
    const dir = makeTempDir(this.name);
    this.dir = dir;
    const port = await freePort();
    const logFile = path.join(dir, 'server.log');
    const logFd = fs.openSync(logFile, 'a');
    try {
      this.child = await spawnTracked(this.command, this.argsFor(port, dir), {
        cwd: dir,
        stdio: ['ignore', logFd, logFd],
      });
    } finally {
      fs.closeSync(logFd);
    }
    const pid = this.child.pid;
    if (pid === undefined) throw new Error(`${this.name}: spawn gave no pid`);
    await waitForPing(port, this.child, this.ctx.readyTimeoutMs, logFile);
    return { port, pids: [pid], dirs: [dir] };
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child !== null) await stopChild(child);
    const dir = this.dir;
    this.dir = null;
    if (dir !== null) releaseTempDir(dir, this.name, this.ctx.keepTmp);
  }
}

// ---------------------------------------------------------------------------
// A local quorumkv cluster
// ---------------------------------------------------------------------------

/** One quorumkv process of a local cluster (also repair.ts and join.ts). */
export interface ClusterNode {
  readonly id: string;
  readonly port: number;
  readonly busPort: number;
  readonly dir: string;
  readonly logFile: string;
  child: ChildProcess | null;
}

/** Distinct free ports (freePort alone may hand out the same one twice). */
async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let attempts = 0; ports.size < count; attempts++) {
    if (attempts > count * 20) throw new Error(`could not find ${count} distinct free ports`);
    ports.add(await freePort());
  }
  return [...ports];
}

/** RING NODES entries as field -> value maps (each entry is a flat [field, value, ...] array). */
function ringEntries(reply: RespValue): Map<string, RespValue>[] {
  if (reply instanceof RespError) throw new Error(`RING NODES: -${reply.message}`);
  if (!Array.isArray(reply)) throw new Error(`RING NODES: unexpected reply ${JSON.stringify(reply)}`);
  return reply.map((entry) => {
    if (!Array.isArray(entry) || entry.length % 2 !== 0) throw new Error(`RING NODES: unexpected entry ${JSON.stringify(entry)}`);
    const fields = new Map<string, RespValue>();
    for (let i = 0; i < entry.length; i += 2) fields.set(String(entry[i]), entry[i + 1]);
    return fields;
  });
}

/**
 * `nodes` quorumkv processes on 127.0.0.1 forming one cluster (every node is given every
 * node's bus address as seeds, as scripts/cluster.js does). redis-benchmark talks to node 1,
 * which coordinates (or forwards) every request; `pids` holds every node, so the CPU per
 * request covers the whole cluster.
 *
 * start() resolves only when the cluster is formed: every node answers PING, every node's
 * RING NODES lists all `nodes` members as up with status normal, and a probe SET/GET/DEL
 * through node 1 succeeds at the configured quorums (so the bus connections are up).
 */
export class QuorumkvClusterTarget implements Target {
  private members: ClusterNode[] = [];
  private dir: string | null = null;

  constructor(
    readonly name: string,
    readonly description: string,
    private readonly ctx: TargetContext,
    private readonly nodes: number,
    /** Directives given to every node after the per-node ones (engine, quorums, ...). */
    private readonly extraArgs: readonly string[],
  ) {}

  async start(): Promise<StartedTarget> {
    if (this.dir !== null) throw new Error(`${this.name}: already started`);
    requireQuorumkvBuild(this.ctx)();
    const deadline = Date.now() + this.ctx.readyTimeoutMs;
    const dir = makeTempDir(this.name);
    this.dir = dir;
    const ports = await distinctFreePorts(this.nodes * 2);
    for (let i = 0; i < this.nodes; i++) {
      const id = `node${i + 1}`;
      const nodeDir = path.join(dir, id);
      fs.mkdirSync(nodeDir);
      this.members.push({ id, port: ports[i], busPort: ports[this.nodes + i], dir: nodeDir, logFile: path.join(dir, `${id}.log`), child: null });
    }
    const seeds = this.members.map((m) => `127.0.0.1:${m.busPort}`);
    for (const m of this.members) {
      const args = [
        ...quorumkvEntry(this.ctx),
        '--port', String(m.port),
        '--bind', '127.0.0.1',
        '--bus-port', String(m.busPort),
        '--dir', m.dir,
        '--node-id', m.id,
        '--seeds', ...seeds,
        ...this.extraArgs,
      ];
      const logFd = fs.openSync(m.logFile, 'a');
      try {
        m.child = await spawnTracked(this.ctx.node, args, { cwd: m.dir, stdio: ['ignore', logFd, logFd] });
      } finally {
        fs.closeSync(logFd);
      }
      if (m.child.pid === undefined) throw new Error(`${this.name}: spawn gave no pid for ${m.id}`);
    }

    for (const m of this.members) {
      await waitForPing(m.port, this.child(m), Math.max(1, deadline - Date.now()), m.logFile);
    }
    await this.waitForRing(deadline);
    await this.waitForProbe(deadline);
    process.stderr.write(
      `[bench] ${this.name}: cluster formed (${this.members.map((m) => `${m.id} :${m.port} bus :${m.busPort}`).join(', ')}); ` +
        `redis-benchmark talks to ${this.members[0].id}\n`,
    );
    return { port: this.members[0].port, pids: this.members.map((m) => this.child(m).pid as number), dirs: this.members.map((m) => m.dir) };
  }

  async stop(): Promise<void> {
    const members = this.members;
    this.members = [];
    await Promise.all(
      members.map(async (m) => {
        const child = m.child;
        m.child = null;
        if (child !== null) await stopChild(child);
      }),
    );
    const dir = this.dir;
    this.dir = null;
    if (dir !== null) releaseTempDir(dir, this.name, this.ctx.keepTmp);
  }

  private child(m: ClusterNode): ChildProcess {
    if (m.child === null) throw new Error(`${this.name}: ${m.id} is not running`);
    return m.child;
  }

  /** Throw (with the log tail) if any node has exited. */
  private checkAlive(): void {
    for (const m of this.members) {
      const c = this.child(m);
      if (hasExited(c)) {
        throw new Error(
          `${m.id} (pid ${c.pid}) exited (code ${c.exitCode}, signal ${c.signalCode}) while the cluster was forming; ` +
            `${path.basename(m.logFile)} ends with:\n${tailOfFile(m.logFile)}`,
        );
      }
    }
  }

  private timeoutError(what: string, last: string): Error {
    const logs = this.members.map((m) => `--- ${path.basename(m.logFile)}:\n${tailOfFile(m.logFile, 8)}`).join('\n');
    return new Error(`${this.name}: ${what} within ${this.ctx.readyTimeoutMs} ms (last: ${last})\n${logs}`);
  }

  /** Poll RING NODES on every node until each sees all members up with status normal. */
  private async waitForRing(deadline: number): Promise<void> {
    const expected = this.members.map((m) => m.id).sort();
    let last = '';
    for (;;) {
      this.checkAlive();
      let formed = true;
      for (const m of this.members) {
        try {
          const entries = ringEntries(await respCommand(m.port, ['RING', 'NODES'], 1_000));
          const view = entries.map((e) => `${String(e.get('id'))}:${String(e.get('state'))}/${String(e.get('status'))}`);
          const ids = entries.map((e) => String(e.get('id'))).sort();
          const ok =
            ids.length === expected.length &&
            ids.every((id, i) => id === expected[i]) &&
            entries.every((e) => e.get('state') === 'up' && e.get('status') === 'normal');
          if (!ok) {
            formed = false;
            last = `${m.id} sees ${view.join(' ') || 'nobody'}`;
            break;
          }
        } catch (err) {
          formed = false;
          last = `${m.id}: ${err instanceof Error ? err.message : String(err)}`;
          break;
        }
      }
      if (formed) return;
      if (Date.now() > deadline) throw this.timeoutError(`cluster did not form (${expected.length} nodes up on every node)`, last);
      await sleep(100);
    }
  }

  /**
   * Writes, reads and deletes of PROBE_KEYS keys through node 1 at the configured quorums,
   * so that the first benchmark request does not pay for bus set-up and a cluster whose
   * forwarding or replication is broken fails here, with a clear message, rather than as
   * an ERROR row. With 32 keys every node is the primary of some of them (all but
   * certainly), so node 1 forwards to each peer.
   */
  private async waitForProbe(deadline: number): Promise<void> {
    const port = this.members[0].port;
    const keys = Array.from({ length: PROBE_KEYS }, (_, i) => `quorumkv-bench-probe-${process.pid}-${i}`);
    const show = (v: RespValue): string => (v instanceof RespError ? `-${v.message}` : JSON.stringify(v));
    let last = '';
    for (;;) {
      this.checkAlive();
      try {
        last = await probeKeys(port, keys, show);
        if (last === '') return;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      if (Date.now() > deadline) throw this.timeoutError(`probe SET/GET/DEL of ${keys.length} keys through node1 did not succeed`, last);
      await sleep(200);
    }
  }
}

const PROBE_KEYS = 32;

/** SET, GET and DEL each key (the keys in parallel); '' if all replied as expected, else what went wrong first. */
async function probeKeys(port: number, keys: readonly string[], show: (v: RespValue) => string): Promise<string> {
  const steps: [string, (k: string) => string[], RespValue][] = [
    ['SET', (k) => ['SET', k, 'probe'], 'OK'],
    ['GET', (k) => ['GET', k], 'probe'],
    ['DEL', (k) => ['DEL', k], 1],
  ];
  for (const [name, argv, expected] of steps) {
    const replies = await Promise.all(keys.map((k) => respCommand(port, argv(k), 5_000)));
    const bad = replies.findIndex((r) => r !== expected);
    if (bad >= 0) return `${name} ${keys[bad]} replied ${show(replies[bad])} (${replies.filter((r) => r !== expected).length} of ${keys.length} wrong)`;
  }
  return '';
}

// ---------------------------------------------------------------------------
// The targets
// ---------------------------------------------------------------------------

function redisArgs(port: number, dir: string, extra: string[]): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', ...extra];
}

/** node's arguments up to the directives: node flags, the entry point, the config file. */
function quorumkvEntry(ctx: TargetContext): string[] {
  return [...(ctx.nodeFlags ?? []), ctx.quorumkvMain, ...(ctx.quorumkvConfig === null ? [] : [ctx.quorumkvConfig])];
}

function quorumkvArgs(ctx: TargetContext, port: number, dir: string, extra: readonly string[]): string[] {
  return [...quorumkvEntry(ctx), '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...extra];
}

/** A redis-server on a free port of 127.0.0.1 with `--save ''` and `extra` (e.g. the AOF settings). */
export function redisTarget(ctx: TargetContext, name: string, description: string, extra: readonly string[]): ServerProcessTarget {
  return new ServerProcessTarget(name, description, ctx, ctx.redisServer, (port, dir) => redisArgs(port, dir, [...extra]));
}

/** One quorumkv node on a free port of 127.0.0.1 with its data in a temp dir, plus `extra` directives. */
export function quorumkvTarget(ctx: TargetContext, name: string, description: string, extra: readonly string[]): ServerProcessTarget {
  return new ServerProcessTarget(name, description, ctx, ctx.node, (port, dir) => quorumkvArgs(ctx, port, dir, extra), requireQuorumkvBuild(ctx));
}

/** INFO [section] as field -> value (lines "field:value"; "# Section" lines skipped). */
export async function infoFields(port: number, section?: string): Promise<Record<string, string>> {
  const reply = await respCommand(port, section === undefined ? ['INFO'] : ['INFO', section], 10_000);
  if (reply instanceof RespError) throw new Error(`INFO: -${reply.message}`);
  if (typeof reply !== 'string') throw new Error(`INFO: unexpected reply ${JSON.stringify(reply)}`);
  const out: Record<string, string> = {};
  for (const line of reply.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** redis-server's AOF settings for the `redis-aof` target: `appendfsync everysec`, like quorumkv's default. */
export const REDIS_AOF_ARGS: readonly string[] = ['--appendonly', 'yes', '--appendfsync', 'everysec'];
/** redis-server without persistence, the `redis` target. */
export const REDIS_NO_PERSISTENCE_ARGS: readonly string[] = ['--appendonly', 'no'];
/**
 * The cluster target's directives on top of the config file: the quorums spelled out
 * (they are the defaults: N=3, W=2, R=2) and a gossip interval that forms the cluster in
 * about a second; fail-timeout keeps its default (5 s), so a node stalled by the load is
 * not marked down.
 */
export const CLUSTER_ARGS: readonly string[] = ['--replicas', '3', '--write-quorum', '2', '--read-quorum', '2', '--gossip-interval', '200ms'];

/** The TLS bus target's extra directives: tls-cluster with throw-away certificates (test/support/certs.ts, openssl). */
function tlsClusterArgs(): string[] {
  const c = makeCerts();
  return ['--tls-cluster', 'yes', '--tls-cert-file', c.crt('server'), '--tls-key-file', c.key('server'), '--tls-ca-cert-file', c.crt('ca')];
}

// ---------------------------------------------------------------------------
// A single node with a given record cache
// ---------------------------------------------------------------------------

/** The directive that sizes quorumkv's record cache (`cache-size` is its old name, still accepted). */
export const RECORD_CACHE_DIRECTIVE = 'record-cache';

/**
 * A single quorumkv node started with `--record-cache <cacheSize>` (as given, e.g. "64mb")
 * after the config file and `extra`. Once it answers PING, `CONFIG GET record-cache` must
 * echo `expectedBytes`, else start() fails: a benchmark of "bigger than the cache" must not
 * quietly run with another cache size.
 */
export class QuorumkvCacheTarget implements Target {
  private readonly inner: ServerProcessTarget;

  constructor(
    readonly name: string,
    readonly description: string,
    ctx: TargetContext,
    extra: readonly string[],
    private readonly cacheSize: string,
    private readonly expectedBytes: number,
  ) {
    this.inner = quorumkvTarget(ctx, name, description, [...extra, `--${RECORD_CACHE_DIRECTIVE}`, cacheSize]);
  }

  async start(): Promise<StartedTarget> {
    const started = await this.inner.start();
    const reply = await respCommand(started.port, ['CONFIG', 'GET', RECORD_CACHE_DIRECTIVE], 5_000);
    const value = Array.isArray(reply) && reply.length >= 2 ? Number(reply[1]) : NaN;
    if (value !== this.expectedBytes) {
      throw new Error(
        `${this.name}: CONFIG GET ${RECORD_CACHE_DIRECTIVE} replied ${reply instanceof RespError ? `-${reply.message}` : JSON.stringify(reply)}, ` +
          `expected ${this.expectedBytes} (started with --${RECORD_CACHE_DIRECTIVE} ${this.cacheSize})`,
      );
    }
    return started;
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }
}

function requireQuorumkvBuild(ctx: TargetContext): () => void {
  return () => {
    if (!fs.existsSync(ctx.quorumkvMain)) {
      throw new Error(`${ctx.quorumkvMain} not found: build the server first (npm run build), or pass --quorumkv-main`);
    }
    if (ctx.quorumkvConfig !== null && !fs.existsSync(ctx.quorumkvConfig)) {
      throw new Error(`${ctx.quorumkvConfig} not found: pass --quorumkv-config FILE, or --quorumkv-config none for the built-in defaults`);
    }
  };
}

/** The repository (this file is dist/benchmarks/lib/targets.js once built). */
export const REPO_ROOT = path.join(__dirname, '..', '..', '..');

/** --quorumkv-config: a path, "none" (or empty) for the built-in defaults, undefined for config/quorumkv.conf. */
export function parseConfigPath(value: string | undefined): string | null {
  if (value === 'none' || value === '') return null;
  return path.resolve(value ?? path.join(REPO_ROOT, 'config', 'quorumkv.conf'));
}

/**
 * The TargetContext of a benchmark script from its `--redis-server`, `--quorumkv-main` and
 * `--quorumkv-config` options (temp dirs removed, 60 s to answer PING).
 */
export function targetContextFrom(values: ReadonlyMap<string, string>): TargetContext {
  return {
    redisServer: values.get('redis-server') ?? 'redis-server',
    node: process.execPath,
    quorumkvMain: path.resolve(values.get('quorumkv-main') ?? path.join(REPO_ROOT, 'dist', 'src', 'main.js')),
    quorumkvConfig: parseConfigPath(values.get('quorumkv-config')),
    keepTmp: false,
    readyTimeoutMs: 60_000,
  };
}

// ---------------------------------------------------------------------------
// The targets of run.ts
// ---------------------------------------------------------------------------

/** What the quorumkv command lines look like, for the descriptions. */
const QKV = 'node dist/src/main.js config/quorumkv.conf';

export const TARGET_DEFINITIONS: readonly TargetDefinition[] = [
  {
    name: 'redis-aof',
    nodes: 1,
    description: `redis-server --save '' ${REDIS_AOF_ARGS.join(' ')}; the baseline of the ratios`,
    inDefault: true,
    create: (ctx) => redisTarget(ctx, 'redis-aof', 'redis-server, AOF everysec', REDIS_AOF_ARGS),
  },
  {
    name: 'redis',
    nodes: 1,
    description: `redis-server --save '' ${REDIS_NO_PERSISTENCE_ARGS.join(' ')}: no persistence; the second ratio column`,
    inDefault: true,
    create: (ctx) => redisTarget(ctx, 'redis', 'redis-server, no persistence', REDIS_NO_PERSISTENCE_ARGS),
  },
  {
    name: 'quorumkv-rocksdb',
    nodes: 1,
    description: `${QKV}: single node, the default configuration (RocksDB, appendfsync everysec, record-cache 256mb)`,
    inDefault: true,
    create: (ctx) => quorumkvTarget(ctx, 'quorumkv-rocksdb', 'quorumkv, single node, default config', []),
  },
  {
    name: 'quorumkv-cluster3',
    nodes: 3,
    description:
      `${QKV} x 3: local cluster, ${CLUSTER_ARGS.join(' ')}; ` +
      'redis-benchmark talks to node 1, CPU is summed over the 3 nodes',
    inDefault: true,
    create: (ctx) => new QuorumkvClusterTarget('quorumkv-cluster3', 'quorumkv, 3-node cluster, N=3 W=2 R=2', ctx, 3, CLUSTER_ARGS),
  },
  {
    name: 'quorumkv-cluster3-tls',
    nodes: 3,
    description: `${QKV} x 3: as quorumkv-cluster3, with the cluster bus on TLS (tls-cluster yes, P-256 certificates); clients stay on plain TCP`,
    inDefault: false,
    create: (ctx) => new QuorumkvClusterTarget('quorumkv-cluster3-tls', 'quorumkv, 3-node cluster, TLS bus', ctx, 3, [...CLUSTER_ARGS, ...tlsClusterArgs()]),
  },
  {
    name: 'quorumkv-memory',
    nodes: 1,
    description: `${QKV} --engine memory: single node, nothing persisted (the protocol and command layers alone)`,
    inDefault: false,
    create: (ctx) => quorumkvTarget(ctx, 'quorumkv-memory', 'quorumkv, memory engine', ['--engine', 'memory']),
  },
];
