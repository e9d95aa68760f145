/**
 * Elasticity benchmark (issue 10): a 4th node joins a 3-node cluster holding `--keys` keys
 * while clients keep working.
 *
 *   npm run bench:join                              # 1M keys of 100 bytes
 *   node dist/benchmarks/join.js --keys 200000 --transfer-rate 64mb
 *
 * Three founding nodes (rocksdb, appendfsync everysec, N=3 W=2 R=2, gossip 200 ms, periodic
 * repairs off) start with the same `--keys` records written into their RocksDB beforehand
 * (lib/preload.ts: as if every replica had taken every write). Client load: back-to-back
 * `redis-benchmark -t set,get -n N -r 1000000 -d 100 -c 20` runs against node 1; after
 * `--warmup` (10) uncounted runs, "before" is the median requests/s of `--before` runs, "during" the median of the runs that ended
 * while node 4 was joining. Node 4 then starts with seeds naming node 1 (so it joins), and
 * the run polls RING NODES and INFO transfers until it is normal, then until the old nodes'
 * cleanup has run, and measures "after" (four nodes, nothing moving) as it did "before". Reported: streaming time, keys and MB received, keys/s and MB/s, the
 * copies moved against the ideal share (a 4th node of 4 with N=3 holds 3/4 of the keys),
 * client throughput during the join as a fraction of before, CPU seconds of each process
 * (from /proc), the keys each old node removed, and the cluster's throughput as a fraction
 * of redis-server's. Neither redis-server nor Dynomite streams ranges to a new node
 * (Dynomite grows by a new ring and dual writes; see benchmarks/README.md). `JOIN_BENCH_PROFILE_DIR=dir` runs node1 and node4
 * (or the nodes JOIN_BENCH_PROFILE_NODES lists) with --cpu-prof into `dir`.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { cleanup, freePort, infoFields, makeTempDir, redisTarget, REDIS_AOF_ARGS, respCommand, spawnTracked, stopChild, waitForPing, type ClusterNode, type RespValue } from './lib/targets';
import { preload } from './lib/preload';
import { hlcFromMs } from '../src/versioning/hlc';

interface Options {
  keys: number;
  valueSize: number;
  transferRate: string;
  before: number;
  warmup: number;
  runN: number;
  redisBenchmark: string;
  redisServer: string;
  main: string;
  json: string | null;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { keys: 1_000_000, valueSize: 100, transferRate: '8mb', before: 3, warmup: 10, runN: 5000, redisBenchmark: 'redis-benchmark', redisServer: 'redis-server', main: path.resolve(__dirname, '..', 'src', 'main.js'), json: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[++i];
    if (a === '--keys') o.keys = Number(v);
    else if (a === '--value-size') o.valueSize = Number(v);
    else if (a === '--transfer-rate') o.transferRate = v;
    else if (a === '--before') o.before = Number(v);
    else if (a === '--warmup') o.warmup = Number(v);
    else if (a === '--run-n') o.runN = Number(v);
    else if (a === '--redis-benchmark') o.redisBenchmark = v;
    else if (a === '--redis-server') o.redisServer = v;
    else if (a === '--json') o.json = v;
    else throw new Error(`unknown option ${a}\nusage: node dist/benchmarks/join.js [--keys N] [--value-size B] [--transfer-rate R] [--before K] [--warmup K] [--run-n N] [--json FILE]`);
  }
  return o;
}

const log = (m: string): void => console.log(`[join] ${m}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => {
  const a = [...xs].sort((x, y) => x - y);
  const m = Math.floor(a.length / 2);
  return a.length === 0 ? NaN : a.length % 2 === 1 ? a[m] : (a[m - 1] + a[m]) / 2;
};

type Node = ClusterNode;

async function spawn(o: Options, n: Node, seeds: string[]): Promise<void> {
  const args = [
    o.main, '--port', String(n.port), '--bind', '127.0.0.1', '--bus-port', String(n.busPort), '--dir', n.dir, '--node-id', n.id, '--seeds', ...seeds,
    '--engine', 'rocksdb', '--appendfsync', 'everysec', '--replicas', '3', '--write-quorum', '2', '--read-quorum', '2',
    '--gossip-interval', '200ms', '--request-timeout', '10s', '--anti-entropy-interval', '0', '--transfer-rate', o.transferRate,
  ];
  const fd = fs.openSync(n.logFile, 'a');
  try {
    const prof = process.env.JOIN_BENCH_PROFILE_DIR;
    const flags = prof !== undefined && (process.env.JOIN_BENCH_PROFILE_NODES ?? 'node1,node4').split(',').includes(n.id) ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [];
    n.child = await spawnTracked(process.execPath, [...flags, ...args], { cwd: n.dir, stdio: ['ignore', fd, fd] });
  } finally {
    fs.closeSync(fd);
  }
  await waitForPing(n.port, n.child, 120_000, n.logFile);
}

async function statuses(port: number): Promise<Record<string, string>> {
  const rows = (await respCommand(port, ['RING', 'NODES'], 10_000)) as RespValue[][];
  const out: Record<string, string> = {};
  for (const r of rows) out[String(r[r.indexOf('id') + 1])] = String(r[r.indexOf('status') + 1]);
  return out;
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function redisBenchmarkRun(o: Options, port: number): Promise<{ rps: number; endedMs: number }> {
  return new Promise((resolve, reject) => {
    execFile(o.redisBenchmark, ['-p', String(port), '-t', 'set,get', '-n', String(o.runN), '-r', '1000000', '-d', String(o.valueSize), '-c', '20', '-q'], { maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err !== null) return reject(err);
      const rates = [...stdout.matchAll(/([\d.]+) requests per second/g)].map((m) => Number(m[1]));
      if (rates.length === 0) return reject(new Error(`redis-benchmark: ${stdout}`));
      resolve({ rps: rates.reduce((s, r) => s + r, 0) / rates.length, endedMs: Date.now() });
    });
  });
}

/** SET key:000000000000 ... with `valueSize`-byte values into redis-server, 10,000 per pipelined write. */
function loadRedis(port: number, keys: number, valueSize: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const value = 'v'.repeat(valueSize);
    let sent = 0;
    let replies = 0;
    const sendChunk = (): void => {
      const parts: string[] = [];
      const end = Math.min(keys, sent + 10_000);
      for (; sent < end; sent++) {
        const k = `key:${String(sent).padStart(12, '0')}`;
        parts.push(`*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$${value.length}\r\n${value}\r\n`);
      }
      sock.write(parts.join(''));
    };
    sock.on('error', reject);
    sock.on('connect', sendChunk);
    sock.on('data', (d) => {
      for (const b of d) if (b === 0x0a) replies++;
      if (replies >= keys) {
        sock.end();
        resolve();
      } else if (replies >= sent && sent < keys) sendChunk();
    });
  });
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(o.main)) throw new Error(`${o.main} not found: run npm run build first`);
  process.on('SIGINT', () => {
    cleanup.killAllSync();
    process.exit(130);
  });
  const root = makeTempDir('join');
  const nodes: Node[] = [];
  for (let i = 0; i < 4; i++) {
    const id = `node${i + 1}`;
    const dir = path.join(root, id);
    fs.mkdirSync(dir);
    nodes.push({ id, port: await freePort(), busPort: await freePort(), dir, logFile: path.join(root, `${id}.log`), child: null });
  }
  const founders = nodes.slice(0, 3);
  let cleanupRedis = (): Promise<void> => Promise.resolve();
  const seeds = founders.map((n) => `127.0.0.1:${n.busPort}`);
  try {
    log(`writing ${o.keys} keys of ${o.valueSize} bytes into the three founding nodes' engines`);
    const stamp = hlcFromMs(Date.now() - 60_000);
    // The names redis-benchmark's -r uses (key:000000000042), so the load reads and overwrites them.
    for (const n of founders) await preload(n.dir, o.keys, o.valueSize, stamp, (i) => `key:${String(i).padStart(12, '0')}`);
    await Promise.all(founders.map((n) => spawn(o, n, seeds)));
    for (;;) {
      const st = await statuses(founders[0].port);
      if (Object.values(st).filter((s) => s === 'normal').length === 3) break;
      await sleep(200);
    }
    // redis-server with AOF (appendfsync everysec, quorumkv's default) holding the same keys,
    // measured back to back with every cluster run.
    const redis = redisTarget({ redisServer: o.redisServer, node: process.execPath, quorumkvMain: o.main, quorumkvConfig: null, keepTmp: false, readyTimeoutMs: 60_000 }, 'redis-aof', 'redis-server, AOF everysec', REDIS_AOF_ARGS);
    const redisPort = (await redis.start()).port;
    cleanupRedis = () => redis.stop();
    await loadRedis(redisPort, o.keys, o.valueSize);
    log('cluster formed; client load before the join (redis-server in the same run, back to back)');
    const before: number[] = [];
    const redisRuns: number[] = [];
    // Warm-up (connections, JIT, the caches over the keys the load touches), not counted.
    for (let i = 0; i < o.warmup; i++) await redisBenchmarkRun(o, founders[0].port);
    await redisBenchmarkRun(o, redisPort);
    for (let i = 0; i < o.before; i++) {
      before.push((await redisBenchmarkRun(o, founders[0].port)).rps);
      redisRuns.push((await redisBenchmarkRun(o, redisPort)).rps);
    }
    log(`before: ${before.map(Math.round).join(', ')} requests/s; redis-server ${redisRuns.map(Math.round).join(', ')}`);

    const keysAtJoin = Number(await respCommand(founders[0].port, ['DBSIZE'], 30_000));
    const cpu0 = founders.map((n) => cpuSeconds(n.child!.pid!));
    const joinStart = Date.now();
    const n4 = nodes[3];
    await spawn(o, n4, [seeds[0]]);
    let joinEnd = 0;
    const during: number[] = [];
    const loadLoop = (async () => {
      while (joinEnd === 0) {
        const r = await redisBenchmarkRun(o, founders[0].port);
        log(`during: ${Math.round(r.rps)} requests/s${joinEnd !== 0 && r.endedMs > joinEnd ? ' (ended after the join: not counted)' : ''}`);
        if (joinEnd === 0 || r.endedMs <= joinEnd) during.push(r.rps);
      }
    })();
    let lastPrint = 0;
    for (;;) {
      const st = await statuses(founders[0].port);
      if (st.node4 === 'normal') break;
      if (Date.now() - lastPrint > 5000) {
        lastPrint = Date.now();
        const t = await infoFields(n4.port, 'transfers');
        log(`node4 ${st.node4 ?? '?'}: ${t.transfer_percent}% keys ${t.transfer_keys_received} (${((Date.now() - joinStart) / 1000).toFixed(0)} s)`);
      }
      await sleep(100);
    }
    joinEnd = Date.now();
    await loadLoop;
    const seconds = (joinEnd - joinStart) / 1000;
    const t4 = await infoFields(n4.port, 'transfers');
    const received = Number(t4.transfer_keys_received);
    const bytes = Number(t4.transfer_bytes_received);
    const ideal = keysAtJoin * 0.75;
    log(`node4 normal after ${seconds.toFixed(1)} s: ${received} keys, ${(bytes / 1e6).toFixed(1)} MB`);
    // Cleanup on the old nodes.
    for (;;) {
      const infos = await Promise.all(founders.map((n) => infoFields(n.port, 'transfers')));
      if (infos.every((t) => Number(t.cleanup_runs) > 0 && t.cleanup_state === 'idle')) break;
      await sleep(500);
    }
    const after: number[] = [];
    for (let i = 0; i < o.before; i++) {
      after.push((await redisBenchmarkRun(o, founders[0].port)).rps);
      redisRuns.push((await redisBenchmarkRun(o, redisPort)).rps);
    }
    log(`after (4 nodes, cleanup done): ${after.map(Math.round).join(', ')} requests/s`);
    const cleaned = await Promise.all(founders.map(async (n) => Number((await infoFields(n.port, 'transfers')).cleanup_keys_removed)));
    const othersReceived = await Promise.all(founders.map(async (n) => Number((await infoFields(n.port, 'transfers')).transfer_keys_received)));
    const cpu = founders.map((n, i) => cpuSeconds(n.child!.pid!) - cpu0[i]);
    const result = {
      keys: o.keys,
      keysAtJoin,
      valueSize: o.valueSize,
      transferRate: o.transferRate,
      joinSeconds: seconds,
      keysReceived: received,
      mbReceived: bytes / 1e6,
      keysPerSec: received / seconds,
      mbPerSec: bytes / 1e6 / seconds,
      movedVsIdeal: (received + othersReceived.reduce((s, x) => s + x, 0)) / ideal,
      beforeRps: median(before),
      duringRps: median(during),
      duringRuns: during.length,
      afterRps: median(after),
      redisRps: median(redisRuns),
      beforeVsRedis: median(before) / median(redisRuns),
      duringVsRedis: median(during) / median(redisRuns),
      throughputFraction: median(during) / median(before),
      duringVsAfter: median(during) / median(after),
      node4Cpu: cpuSeconds(n4.child!.pid!),
      oldNodesCpuDuringJoin: cpu,
      cleanupRemoved: cleaned,
    };
    log(JSON.stringify(result, null, 2));
    if (o.json !== null) fs.writeFileSync(o.json, JSON.stringify(result, null, 2));
  } finally {
    await Promise.all(nodes.map((n) => (n.child === null ? Promise.resolve() : stopChild(n.child))));
    await cleanupRedis();
    cleanup.removeDir(root);
  }
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  cleanup.killAllSync();
  process.exit(1);
});
