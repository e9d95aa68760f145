/**
 * Anti-entropy benchmark (issue 4): how fast a wiped node of a 3-node cluster is refilled
 * by RING REPAIR, and what keeping the Merkle trees current costs SET throughput.
 *
 *   npm run bench:repair                          # 1M keys, then SET with trees on/off
 *   node dist/benchmarks/repair.js --keys 300000 --set-n 60000 --repeat 5
 *   node dist/benchmarks/repair.js --skip-repair  # only the SET comparison
 *
 * Repair: three nodes (rocksdb, appendfsync everysec, N=3 W=2 R=2, periodic repairs off,
 * no rate bound) holding `--keys` distinct keys of `--value-size` bytes: with `--load
 * direct` (the default) the same records (one stamp) are written into every node's RocksDB
 * before the nodes start, as if every replica had taken every write, and the nodes build
 * their trees from the start-up scan; with `--load set` they are SET through node 1 over
 * pipelined connections (many minutes for 1M keys on a busy 2-core machine). The run waits
 * until every node's trees hold them all; node 3 is stopped, its data directory deleted,
 * and it is started again; then RING REPAIR START on it, polling STATUS until done.
 * Reported: wall time from START to done, keys received per second and bytes (hashes,
 * keys, digests, records) per second. `--repair-concurrency N` sets
 * anti-entropy-concurrency for it.
 *
 * SET cost: two clusters of the same shape, one with `anti-entropy yes` and one with
 * `anti-entropy no`, both running for the whole comparison;
 * `redis-benchmark -t set -n N -r 100000 -d VALUE -c 50 -P P` against node 1 of each, for
 * every P of `--pipelines` (1 and 16), `--repeat` times, on and off back to back (the order
 * alternating), after one unmeasured warm-up run each: the median of each side, their
 * ratio, and the ratio of each pair. See benchmarks/README.md.
 *
 * `REPAIR_BENCH_PROFILE_DIR=dir` runs node 3 (or the nodes REPAIR_BENCH_PROFILE_NODES
 * lists, e.g. node1,node3) with --cpu-prof into `dir`.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { cleanup, freePort, makeTempDir, respCommand, spawnTracked, stopChild, waitForPing, type ClusterNode, type RespValue } from './lib/targets';
import { preload } from './lib/preload';
import { hlcFromMs } from '../src/versioning/hlc';

interface Options {
  keys: number;
  valueSize: number;
  setN: number;
  repeat: number;
  skipRepair: boolean;
  skipSet: boolean;
  redisBenchmark: string;
  main: string;
  json: string | null;
  /** 'direct': write the records into every node's RocksDB before it starts; 'set': SETs through node 1. */
  load: 'direct' | 'set';
  setPipelines: number[];
  /** anti-entropy-concurrency for the repair run (null: the default). */
  repairConcurrency: number | null;
}

const USAGE = `usage: node dist/benchmarks/repair.js [--keys N] [--value-size B] [--set-n N] [--repeat K]
       [--load direct|set] [--pipelines 1,16] [--repair-concurrency N] [--skip-repair] [--skip-set] [--redis-benchmark PATH] [--json FILE]
`;

function parseArgs(argv: readonly string[]): Options {
  const o: Options = {
    keys: 1_000_000, valueSize: 64, setN: 300_000, repeat: 3, skipRepair: false, skipSet: false,
    redisBenchmark: process.env.REDIS_BENCHMARK ?? 'redis-benchmark',
    main: path.resolve(__dirname, '..', 'src', 'main.js'), json: null, load: 'direct', setPipelines: [1, 16], repairConcurrency: null,
  };
  const int = (name: string, v: string | undefined): number => {
    if (v === undefined || !/^\d+$/.test(v) || Number(v) <= 0) throw new Error(`${name} needs a positive integer\n${USAGE}`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--keys') o.keys = int(a, argv[++i]);
    else if (a === '--value-size') o.valueSize = int(a, argv[++i]);
    else if (a === '--set-n') o.setN = int(a, argv[++i]);
    else if (a === '--repeat') o.repeat = int(a, argv[++i]);
    else if (a === '--load') {
      const v = argv[++i];
      if (v !== 'direct' && v !== 'set') throw new Error(`--load must be direct or set\n${USAGE}`);
      o.load = v;
    } else if (a === '--repair-concurrency') o.repairConcurrency = int(a, argv[++i]);
    else if (a === '--pipelines') o.setPipelines = (argv[++i] ?? '').split(',').map((x) => int(a, x));
    else if (a === '--skip-repair') o.skipRepair = true;
    else if (a === '--skip-set') o.skipSet = true;
    else if (a === '--redis-benchmark') o.redisBenchmark = argv[++i] ?? o.redisBenchmark;
    else if (a === '--json') o.json = argv[++i] ?? null;
    else if (a === '--help') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  return o;
}

const log = (msg: string): void => void process.stderr.write(`[repair-bench] ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// A 3-node cluster of real processes

type Member = ClusterNode;

class Cluster {
  readonly members: Member[] = [];
  private root = '';

  constructor(
    private readonly main: string,
    private readonly extra: readonly string[],
  ) {}

  /** `prepare` runs on each node's data directory before the node first starts. */
  async start(label: string, prepare?: (dir: string) => Promise<void>): Promise<void> {
    this.root = makeTempDir(label);
    for (let i = 0; i < 3; i++) {
      const id = `node${i + 1}`;
      const dir = path.join(this.root, id);
      fs.mkdirSync(dir);
      this.members.push({ id, port: await freePort(), busPort: await freePort(), dir, logFile: path.join(this.root, `${id}.log`), child: null });
    }
    if (prepare !== undefined) for (const m of this.members) await prepare(m.dir);
    await Promise.all(this.members.map((m) => this.spawn(m)));
    await this.waitFormed();
  }

  private async spawn(m: Member): Promise<void> {
    const args = [
      this.main, '--port', String(m.port), '--bind', '127.0.0.1', '--bus-port', String(m.busPort), '--dir', m.dir,
      '--node-id', m.id, '--seeds', ...this.members.map((x) => `127.0.0.1:${x.busPort}`),
      '--engine', 'rocksdb', '--appendfsync', 'everysec', '--replicas', '3', '--write-quorum', '2', '--read-quorum', '2',
      '--gossip-interval', '200ms', '--request-timeout', '10s', '--anti-entropy-interval', '0', '--anti-entropy-rate', '100000000', ...this.extra,
    ];
    const fd = fs.openSync(m.logFile, 'a');
    try {
      const prof = process.env.REPAIR_BENCH_PROFILE_DIR;
      const profiled = (process.env.REPAIR_BENCH_PROFILE_NODES ?? 'node3').split(',');
      const flags = prof !== undefined && profiled.includes(m.id) ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [];
      m.child = await spawnTracked(process.execPath, [...flags, ...args], { cwd: m.dir, stdio: ['ignore', fd, fd] });
    } finally {
      fs.closeSync(fd);
    }
    await waitForPing(m.port, m.child, 120_000, m.logFile);
  }

  /** Until every node sees all three up. */
  async waitFormed(): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ups = await Promise.all(this.members.map((m) => upCount(m.port)));
      if (ups.every((n) => n === 3)) return;
      if (Date.now() > deadline) throw new Error(`cluster not formed: ${ups.join(',')} up`);
      await sleep(200);
    }
  }

  async stopMember(m: Member): Promise<void> {
    if (m.child !== null) await stopChild(m.child);
    m.child = null;
  }

  async restartWiped(m: Member): Promise<void> {
    await this.stopMember(m);
    fs.rmSync(m.dir, { recursive: true, force: true });
    fs.mkdirSync(m.dir);
    await this.spawn(m);
    await this.waitFormed();
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => this.stopMember(m)));
    cleanup.removeDir(this.root);
  }
}

async function upCount(port: number): Promise<number> {
  try {
    const rows = (await respCommand(port, ['RING', 'NODES'], 5000)) as RespValue[][];
    return rows.filter((r) => r.indexOf('state') >= 0 && r[r.indexOf('state') + 1] === 'up').length;
  } catch {
    return 0;
  }
}

async function fields(port: number, args: string[]): Promise<Record<string, string>> {
  const v = await respCommand(port, args, 10_000);
  const o: Record<string, string> = {};
  if (typeof v === 'string') {
    for (const line of v.split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) o[line.slice(0, i)] = line.slice(i + 1);
    }
  } else if (Array.isArray(v)) {
    for (let i = 0; i + 1 < v.length; i += 2) o[String(v[i])] = String(v[i + 1]);
  } else throw new Error(`${args.join(' ')}: unexpected reply ${JSON.stringify(v)}`);
  return o;
}

// ---------------------------------------------------------------------------------------
// Loading distinct keys: pipelined SETs over a few raw connections; a SET refused (a
// NOQUORUM timeout on a busy machine) is sent again, up to MAX_RETRIES times in all.

const MAX_RETRIES = 100_000;

async function load(port: number, keys: number, valueSize: number): Promise<void> {
  const value = 'v'.repeat(valueSize);
  const conns = 8;
  const window = 128;
  let next = 0;
  let errors = 0;
  const retry: number[] = [];
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const sock = net.createConnection({ host: '127.0.0.1', port });
      let inflight = 0;
      let pending = '';
      const sent: string[] = [];
      const pump = (): void => {
        let out = '';
        while (inflight < window && (next < keys || retry.length > 0)) {
          const key = `key:${retry.length > 0 ? (retry.pop() as number) : next++}`;
          sent.push(key);
          out += `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`;
          inflight++;
        }
        if (out !== '') sock.write(out);
        if (inflight === 0 && next >= keys && retry.length === 0) {
          sock.end();
          resolve();
        }
      };
      sock.on('connect', pump);
      sock.on('error', reject);
      sock.on('data', (chunk: Buffer) => {
        pending += chunk.toString('latin1');
        let eol: number;
        while ((eol = pending.indexOf('\r\n')) >= 0) {
          const key = sent.shift() as string;
          if (pending[0] === '-') {
            if (++errors > MAX_RETRIES) return reject(new Error(`too many SETs refused while loading: ${pending.slice(0, eol)}`));
            retry.push(Number(key.slice(4)));
          }
          pending = pending.slice(eol + 2);
          inflight--;
        }
        pump();
      });
    });
  await Promise.all(Array.from({ length: conns }, one));
  if (errors > 0) log(`${errors} SETs refused while loading were sent again`);
}

// ---------------------------------------------------------------------------------------

interface RepairResult {
  keys: number;
  seconds: number;
  keysPerSec: number;
  mbPerSec: number;
  bytes: number;
  status: Record<string, string>;
}

async function benchRepair(o: Options): Promise<RepairResult> {
  const cluster = new Cluster(o.main, o.repairConcurrency === null ? [] : ['--anti-entropy-concurrency', String(o.repairConcurrency)]);
  const t0 = Date.now();
  if (o.load === 'direct') log(`writing ${o.keys} keys of ${o.valueSize} bytes into every node's engine`);
  const stampT = hlcFromMs(Date.now() - 60_000); // one stamp: every replica holds the same records
  await cluster.start('repair', o.load === 'direct' ? (dir) => preload(dir, o.keys, o.valueSize, stampT) : undefined);
  try {
    const [n1, , n3] = cluster.members;
    if (o.load === 'set') {
      log(`loading ${o.keys} keys of ${o.valueSize} bytes through ${n1.id}`);
      await load(n1.port, o.keys, o.valueSize);
    }
    log(`loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s; waiting for every replica`);
    const deadline = Date.now() + 600_000;
    for (;;) {
      const counts = await Promise.all(cluster.members.map(async (m) => Number((await fields(m.port, ['INFO', 'ring'])).merkle_tree_keys)));
      if (counts.every((c) => c === o.keys)) break;
      if (Date.now() > deadline) throw new Error(`replicas did not converge: ${counts.join(',')}`);
      await sleep(500);
    }
    log(`wiping ${n3.id}`);
    await cluster.restartWiped(n3);
    const before = Number((await fields(n3.port, ['INFO', 'ring'])).merkle_tree_keys);
    if (before !== 0) throw new Error(`${n3.id} is not empty after the wipe (${before} keys)`);
    const start = Date.now();
    const ok = await respCommand(n3.port, ['RING', 'REPAIR', 'START'], 10_000);
    if (ok !== 'OK') throw new Error(`RING REPAIR START: ${JSON.stringify(ok)}`);
    let status: Record<string, string>;
    for (;;) {
      status = await fields(n3.port, ['RING', 'REPAIR', 'STATUS']);
      if (status.state === 'done') break;
      await sleep(100);
    }
    const seconds = (Date.now() - start) / 1000;
    const after = Number((await fields(n3.port, ['INFO', 'ring'])).merkle_tree_keys);
    if (after !== o.keys) throw new Error(`${n3.id} holds ${after} of ${o.keys} keys after the repair: ${JSON.stringify(status)}`);
    const received = Number(status['keys-received']);
    const bytes = Number(status.bytes);
    return { keys: received, seconds, keysPerSec: received / seconds, mbPerSec: bytes / 1e6 / seconds, bytes, status };
  } finally {
    await cluster.stop();
  }
}

function redisBenchmark(bin: string, port: number, n: number, valueSize: number, pipeline: number): Promise<number> {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-t', 'set', '-n', String(n), '-r', '100000', '-d', String(valueSize), '-c', '50', '-P', String(pipeline), '--csv'];
  return new Promise((resolve, reject) => {
    execFile(bin, args, { maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err !== null) return reject(err);
      const line = stdout.split('\n').find((l) => l.startsWith('"SET"'));
      if (line === undefined) return reject(new Error(`no SET line in redis-benchmark output: ${stdout}`));
      resolve(Number(JSON.parse(`[${line}]`)[1]));
    });
  });
}

const median = (xs: number[]): number => {
  const a = [...xs].sort((x, y) => x - y);
  const m = Math.floor(a.length / 2);
  return a.length % 2 === 1 ? a[m] : (a[m - 1] + a[m]) / 2;
};

interface SetResult {
  pipeline: number;
  on: number[];
  off: number[];
  /** on/off of each back-to-back pair. */
  pairRatios: number[];
  ratio: number;
}

/**
 * Both clusters (trees on, trees off) run side by side for the whole comparison, and the
 * runs alternate between them back to back (on first in even repeats, off first in odd
 * ones), so that a change in the machine's load hits both alike.
 */
async function benchSet(o: Options): Promise<SetResult[]> {
  const on = new Cluster(o.main, ['--anti-entropy', 'yes']);
  const off = new Cluster(o.main, ['--anti-entropy', 'no']);
  await on.start('set-ae-yes');
  try {
    await off.start('set-ae-no');
    const results: SetResult[] = o.setPipelines.map((pipeline) => ({ pipeline, on: [], off: [], pairRatios: [], ratio: 0 }));
    // Warm-up (connections, JIT, the first 100k keys' cache entries), not counted.
    for (const c of [on, off]) for (const r of results) await redisBenchmark(o.redisBenchmark, c.members[0].port, Math.min(o.setN, 100_000), o.valueSize, r.pipeline);
    for (let rep = 0; rep < o.repeat; rep++) {
      for (const r of results) {
        const order = rep % 2 === 0 ? (['yes', 'no'] as const) : (['no', 'yes'] as const);
        const got: Record<string, number> = {};
        for (const mode of order) {
          const c = mode === 'yes' ? on : off;
          got[mode] = await redisBenchmark(o.redisBenchmark, c.members[0].port, o.setN, o.valueSize, r.pipeline);
          log(`SET -P ${r.pipeline}, trees ${mode === 'yes' ? 'on ' : 'off'}: ${Math.round(got[mode])} requests/s`);
        }
        r.on.push(got.yes);
        r.off.push(got.no);
        r.pairRatios.push(got.yes / got.no);
      }
    }
    for (const r of results) r.ratio = median(r.on) / median(r.off);
    return results;
  } finally {
    await off.stop();
    await on.stop();
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(o.main)) throw new Error(`${o.main} not found: run npm run build first`);
  const onSignal = (): void => {
    cleanup.killAllSync();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => cleanup.killAllSync());
  const result: Record<string, unknown> = { keys: o.keys, valueSize: o.valueSize };
  try {
    if (!o.skipRepair) {
      const r = await benchRepair(o);
      result.repair = r;
      process.stdout.write(
        `repair of a wiped node: ${r.keys} keys in ${r.seconds.toFixed(2)} s = ${Math.round(r.keysPerSec)} keys/s, ` +
          `${(r.bytes / 1e6).toFixed(1)} MB = ${r.mbPerSec.toFixed(1)} MB/s (target >= 50000 keys/s)\n`,
      );
    }
    if (!o.skipSet) {
      const sets = await benchSet(o);
      result.set = sets;
      for (const r of sets) {
        process.stdout.write(
          `SET (-P ${r.pipeline} -c 50 -r 100000, 3-node cluster, medians of ${r.on.length}): trees on ${Math.round(median(r.on))} req/s, off ${Math.round(median(r.off))} req/s, ` +
            `ratio ${r.ratio.toFixed(3)} (cost ${((1 - r.ratio) * 100).toFixed(1)} %, target < 10 %); median pair ratio ${median(r.pairRatios).toFixed(3)} ` +
            `[${r.pairRatios.map((x) => x.toFixed(2)).join(', ')}]\n`,
        );
      }
    }
    if (o.json !== null) fs.writeFileSync(o.json, JSON.stringify(result, null, 2));
  } finally {
    await cleanup.stopAll();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
