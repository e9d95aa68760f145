/**
 * Benchmark targets and the process plumbing they need.
 *
 * A target is a server (or a group of servers, e.g. a future 3-node quorumkv
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

// ---------------------------------------------------------------------------
// Target model
// ---------------------------------------------------------------------------

export interface StartedTarget {
  /** Port on 127.0.0.1 that redis-benchmark connects to. */
  readonly port: number;
  /** Every server process of the target; their CPU time is summed. */
  readonly pids: readonly number[];
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
  /** Keep temp dirs (data + server logs) after the run, for debugging. */
  readonly keepTmp: boolean;
  /** How long to wait for a server to answer PING. */
  readonly readyTimeoutMs: number;
}

export interface TargetDefinition {
  readonly name: string;
  readonly description: string;
  create(ctx: TargetContext): Target;
}

// ---------------------------------------------------------------------------
// Cleanup registry
// ---------------------------------------------------------------------------

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
    return { port, pids: [pid] };
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child !== null) await stopChild(child);
    const dir = this.dir;
    this.dir = null;
    if (dir !== null) {
      if (this.ctx.keepTmp) {
        cleanup.forgetDir(dir);
        process.stderr.write(`[bench] ${this.name}: kept ${dir}\n`);
      } else {
        cleanup.removeDir(dir);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// The targets
// ---------------------------------------------------------------------------

function redisArgs(port: number, dir: string, extra: string[]): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', ...extra];
}

function quorumkvArgs(ctx: TargetContext, port: number, dir: string, extra: string[]): string[] {
  return [ctx.quorumkvMain, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...extra];
}

function requireQuorumkvBuild(ctx: TargetContext): () => void {
  return () => {
    if (!fs.existsSync(ctx.quorumkvMain)) {
      throw new Error(`${ctx.quorumkvMain} not found: build the server first (npm run build), or pass --quorumkv-main`);
    }
  };
}

export const TARGET_DEFINITIONS: readonly TargetDefinition[] = [
  {
    name: 'redis',
    description: 'redis-server, no persistence (--save "" --appendonly no); the baseline',
    create: (ctx) =>
      new ServerProcessTarget('redis', 'redis-server, no persistence', ctx, ctx.redisServer, (port, dir) =>
        redisArgs(port, dir, ['--appendonly', 'no']),
      ),
  },
  {
    name: 'redis-aof',
    description: 'redis-server with AOF (--appendonly yes --appendfsync everysec) in a temp dir',
    create: (ctx) =>
      new ServerProcessTarget('redis-aof', 'redis-server, AOF everysec', ctx, ctx.redisServer, (port, dir) =>
        redisArgs(port, dir, ['--appendonly', 'yes', '--appendfsync', 'everysec']),
      ),
  },
  {
    name: 'quorumkv-rocksdb',
    description: 'quorumkv, single node, --engine rocksdb --appendfsync everysec in a temp dir',
    create: (ctx) =>
      new ServerProcessTarget(
        'quorumkv-rocksdb',
        'quorumkv, RocksDB, fsync everysec',
        ctx,
        ctx.node,
        (port, dir) => quorumkvArgs(ctx, port, dir, ['--engine', 'rocksdb', '--appendfsync', 'everysec']),
        requireQuorumkvBuild(ctx),
      ),
  },
  {
    name: 'quorumkv-memory',
    description: 'quorumkv, single node, --engine memory (no persistence)',
    create: (ctx) =>
      new ServerProcessTarget(
        'quorumkv-memory',
        'quorumkv, memory engine',
        ctx,
        ctx.node,
        (port, dir) => quorumkvArgs(ctx, port, dir, ['--engine', 'memory']),
        requireQuorumkvBuild(ctx),
      ),
  },
];
