/**
 * Real server processes for integration and compatibility tests.
 *
 * Every process started here listens on a free loopback port, writes into its own
 * temporary directory, and is tracked by pid: tests stop them in afterAll, and anything
 * left over is SIGKILLed when the test worker exits. Readiness is detected by polling
 * PING with a bound — never by sleeping — and a process that exits during start-up fails
 * fast with its captured output, so a crash at boot is diagnosed from the test report.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { RawClient } from './raw-client';

/** Repository root (this file lives in test/support/, or dist/test/support/ when compiled for a benchmark). */
export const REPO_ROOT = ((dir: string) => (path.basename(dir) === 'dist' ? path.dirname(dir) : dir))(path.resolve(__dirname, '..', '..'));
/** The built server entry point; `npm run build` produces it. QKV_MAIN overrides it. */
export const QUORUMKV_MAIN = process.env.QKV_MAIN ?? path.join(REPO_ROOT, 'dist', 'src', 'main.js');
/** Override with REDIS_SERVER=/path/to/redis-server. */
export const REDIS_SERVER_BIN = process.env.REDIS_SERVER ?? 'redis-server';

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const OUTPUT_LIMIT_BYTES = 256 * 1024;
const START_ATTEMPTS = 3;

/** Thrown by a `waitFor` predicate to stop polling at once (other errors are retried). */
export class AbortWait extends Error {}

/**
 * Poll `predicate` until it returns true; throws after `timeoutMs`. A predicate that throws
 * is retried (e.g. connection refused while a server boots) unless it throws `AbortWait`.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  opts: { intervalMs?: number; what?: string } = {},
): Promise<void> {
  const intervalMs = opts.intervalMs ?? 25;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await predicate()) return;
    } catch (err) {
      if (err instanceof AbortWait) throw err;
      lastError = err;
    }
    if (performance.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'condition'}${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Test ports come from [20000, 32768): below the kernel's ephemeral range (32768 and up),
 * so a port handed out here is never taken meanwhile by some outgoing connection's local
 * port. Random within the range, so parallel test workers rarely pick the same one; the
 * callers retry on a collision (withPortRetry).
 */
const TEST_PORT_MIN = 20000;
const TEST_PORT_END = 32768;

function tryListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port below the ephemeral range that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = TEST_PORT_MIN + Math.floor(Math.random() * (TEST_PORT_END - TEST_PORT_MIN));
    if (await tryListen(port)) return port;
  }
  throw new Error(`no free port in [${TEST_PORT_MIN}, ${TEST_PORT_END})`);
}

export function makeTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  createdDirs.add(dir);
  return dir;
}

/** A started server process. */
export interface ServerProcess {
  readonly kind: 'redis' | 'quorumkv';
  readonly port: number;
  readonly pid: number;
  readonly dir: string;
  /** Everything the process wrote to stdout and stderr so far (bounded, tail kept). */
  output(): string;
  /** True once the process has exited. */
  readonly exited: boolean;
  /** Send `signal` (default SIGTERM), wait for exit (bounded), then SIGKILL. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
}

export interface QuorumkvProcess extends ServerProcess {
  readonly kind: 'quorumkv';
  readonly busPort: number;
  /** The argv passed to node after the script path, for diagnostics and restarts. */
  readonly args: readonly string[];
}

const live = new Map<number, ChildProcess>();
const createdDirs = new Set<string>();

process.on('exit', () => {
  for (const [pid, child] of live) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const dir of createdDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
});

/** Stop every process started by this worker that is still running (by pid). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live.values()].map((child) => stopChild(child, 'SIGTERM')));
}

class OutputBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  add(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > OUTPUT_LIMIT_BYTES && this.chunks.length > 1) {
      this.size -= (this.chunks.shift() as Buffer).length;
    }
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
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

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  const pid = child.pid as number;
  if (child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(pid, signal);
    } catch {
      // exited in between
    }
    if (!(await waitExit(child, STOP_TIMEOUT_MS))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited in between
      }
      await waitExit(child, STOP_TIMEOUT_MS);
    }
  }
  live.delete(pid);
}

/** One PING over a fresh connection; true when the server answered with a whole reply. */
async function answersPing(port: number): Promise<boolean> {
  const client = await RawClient.connect(port, { timeoutMs: 1_000 });
  try {
    const reply = (await client.send('PING')).toString('latin1');
    // -NOAUTH still proves the server is up and serving clients; -LOADING does not.
    return reply === '+PONG\r\n' || reply.startsWith('-NOAUTH');
  } finally {
    client.close();
  }
}

interface SpawnSpec {
  kind: 'redis' | 'quorumkv';
  command: string;
  argv: string[];
  port: number;
  dir: string;
  env?: NodeJS.ProcessEnv;
}

interface Spawned {
  child: ChildProcess;
  output: OutputBuffer;
}

async function spawnAndWait(spec: SpawnSpec): Promise<Spawned> {
  const output = new OutputBuffer();
  const child = spawn(spec.command, spec.argv, {
    cwd: spec.dir,
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => output.add(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.add(chunk));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const pid = await Promise.race([
    new Promise<number>((resolve) => child.once('spawn', () => resolve(child.pid as number))),
    spawnError.then((err) => {
      throw new Error(`cannot start ${spec.command}: ${err.message}`);
    }),
  ]);
  live.set(pid, child);
  let exitInfo = '';
  child.once('exit', (code, signal) => {
    exitInfo = `exited with ${signal ?? `code ${code}`}`;
  });

  try {
    await waitFor(
      async () => {
        if (exitInfo) throw new ExitedEarly(exitInfo);
        return answersPing(spec.port);
      },
      START_TIMEOUT_MS,
      { intervalMs: 50, what: `${spec.kind} on port ${spec.port} to answer PING` },
    ).catch((err: Error) => {
      if (exitInfo) throw new ExitedEarly(exitInfo);
      throw err;
    });
  } catch (err) {
    await stopChild(child, 'SIGKILL');
    const text = output.text();
    const message =
      `${spec.kind} failed to start: ${(err as Error).message}\n` +
      `command: ${spec.command} ${spec.argv.map((a) => JSON.stringify(a)).join(' ')}\n` +
      `--- output ---\n${text || '(none)'}\n--- end of output ---`;
    throw new StartError(message, /address already in use|EADDRINUSE/i.test(text));
  }
  return { child, output };
}

class ExitedEarly extends AbortWait {}
class StartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
  }
}

function makeHandle<K extends 'redis' | 'quorumkv', X extends object>(
  kind: K,
  spawned: Spawned,
  port: number,
  dir: string,
  extra: X,
): ServerProcess & { kind: K } & X {
  const { child, output } = spawned;
  return {
    ...extra,
    kind,
    port,
    pid: child.pid as number,
    dir,
    output: () => output.text(),
    get exited() {
      return child.exitCode !== null || child.signalCode !== null;
    },
    stop: (signal: NodeJS.Signals = 'SIGTERM') => stopChild(child, signal),
    kill: () => stopChild(child, 'SIGKILL'),
  };
}

/** Retry on a fresh port when the one we picked was taken between freePort() and bind. */
async function withPortRetry<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (!(err instanceof StartError) || !err.portInUse || attempt >= START_ATTEMPTS) throw err;
    }
  }
}

export interface StartRedisOptions {
  /** Extra redis-server arguments, e.g. ['--maxclients', '1000']. */
  args?: string[];
}

/** Start a throw-away redis-server: no persistence, loopback only, temp dir. */
export function startRedis(opts: StartRedisOptions = {}): Promise<ServerProcess> {
  return withPortRetry(async () => {
    const port = await freePort();
    const dir = makeTempDir('qkv-redis-');
    const argv = [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', 'no',
      '--dir', dir,
      '--daemonize', 'no',
      ...(opts.args ?? []),
    ];
    const spawned = await spawnAndWait({ kind: 'redis', command: REDIS_SERVER_BIN, argv, port, dir });
    return makeHandle('redis', spawned, port, dir, {});
  });
}

export interface StartQuorumkvOptions {
  /** Data directory; defaults to a fresh temp dir. Pass the old one to restart a node. */
  dir?: string;
  /** Fixed client port (e.g. to restart a node on the same port). Default: a free port. */
  port?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * Start `node dist/src/main.js [config-file] --port P --bind 127.0.0.1 --dir D
 * [--bus-port B] ...args`. A leading argument that is not a `--directive` is taken as the
 * config file and kept first. A free `--bus-port` is added unless `args` sets one, so a
 * default of port+offset can never collide or overflow.
 */
export function startQuorumkv(args: string[] = [], opts: StartQuorumkvOptions = {}): Promise<QuorumkvProcess> {
  if (!fs.existsSync(QUORUMKV_MAIN)) {
    return Promise.reject(new Error(`${QUORUMKV_MAIN} not found: run \`npm run build\` first`));
  }
  const configFile = args.length > 0 && !args[0].startsWith('--') ? [args[0]] : [];
  const directives = args.slice(configFile.length);
  return withPortRetry(async () => {
    const port = opts.port ?? (await freePort());
    const dir = opts.dir ?? makeTempDir('qkv-node-');
    const busPort = directives.includes('--bus-port')
      ? Number(directives[directives.indexOf('--bus-port') + 1])
      : await freePort();
    const nodeArgs = [
      ...configFile,
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--dir', dir,
      ...(directives.includes('--bus-port') ? [] : ['--bus-port', String(busPort)]),
      ...directives,
    ];
    const spawned = await spawnAndWait({
      kind: 'quorumkv',
      command: process.execPath,
      argv: [QUORUMKV_MAIN, ...nodeArgs],
      port,
      dir,
      env: opts.env,
    });
    return makeHandle('quorumkv', spawned, port, dir, { busPort, args: nodeArgs as readonly string[] });
  });
}

/**
 * The server under test for black-box suites (compat, redis-cli): quorumkv with the engine
 * from QKV_COMPAT_ENGINE (default rocksdb), or — with QKV_COMPAT_TARGET=redis — a second
 * redis-server, which is how the suites prove their own harness (they must pass
 * redis-vs-redis with zero mismatches). `common` are directives given to both sides.
 */
export function startTarget(common: string[] = []): Promise<ServerProcess> {
  const target = process.env.QKV_COMPAT_TARGET ?? 'quorumkv';
  if (target === 'redis') return startRedis({ args: common });
  if (target !== 'quorumkv') throw new Error(`QKV_COMPAT_TARGET must be quorumkv or redis, not ${target}`);
  const engine = process.env.QKV_COMPAT_ENGINE ?? 'rocksdb';
  return startQuorumkv(['--engine', engine, ...common]);
}

/** Human-readable name of the target side for failure messages. */
export function targetName(): string {
  return process.env.QKV_COMPAT_TARGET === 'redis'
    ? 'redis#2'
    : `quorumkv(${process.env.QKV_COMPAT_ENGINE ?? 'rocksdb'})`;
}

/** The message a rejected promise carries (a command's error reply), or "(no error)". */
export async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  return '(no error)';
}
