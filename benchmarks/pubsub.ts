/**
 * PUBLISH with 10 subscribers: quorumkv next to redis-server in one run.
 *
 *   node dist/benchmarks/pubsub.js                      # -n 100000, -P 1 and 16
 *   node dist/benchmarks/pubsub.js --n 20000 --subscribers 10 --pipelines 1
 *
 * Starts redis-server (AOF everysec, the `redis-aof` target) and one quorumkv node
 * (config/quorumkv.conf) side by side, attaches --subscribers raw-socket subscribers to
 * `chan` on each, and runs, one target after the other,
 *   redis-benchmark -n N -c 50 -r 1000000 -P P --csv PUBLISH chan __rand_int__
 * For each run: requests/s (and the ratio quorumkv / redis-server), messages delivered per
 * second (every subscriber's messages, counted from the bytes it received: each message
 * frame has the same length since __rand_int__ is 12 digits, until all arrived) and the
 * server's CPU µs per request. See benchmarks/README.md.
 */
import * as net from 'node:net';
import * as path from 'node:path';

import { runBenchmark, shellLine, benchmarkArgs, type BenchmarkSpec } from './lib/redis-benchmark';
import { fmt, fmtRatio, makeLog, markdownTable, parseArgv, parseList, parsePositiveInt, runScript } from './lib/script';
import { quorumkvTarget, redisTarget, REDIS_AOF_ARGS, targetContextFrom, type StartedTarget, type Target } from './lib/targets';

const log = makeLog('pubsub');

const USAGE = `usage: node dist/benchmarks/pubsub.js [options]

  --n N               PUBLISH requests per run             (default 100000)
  --subscribers K     subscribers per server                (default 10)
  --pipelines LIST    pipeline depths                       (default 1,16)
  --redis-server P, --redis-benchmark P, --quorumkv-main P, --quorumkv-config F
  --help
`;

/** `*3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$12\r\n<12 digits>\r\n` */
const FRAME_BYTES = Buffer.byteLength('*3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$12\r\n000000000000\r\n');
const CONFIRM = Buffer.from('*3\r\n$9\r\nsubscribe\r\n$4\r\nchan\r\n:1\r\n');

interface Subscriber {
  socket: net.Socket;
  bytes: number;
}

async function subscribe(port: number): Promise<Subscriber> {
  const socket = net.connect(port, '127.0.0.1');
  const sub: Subscriber = { socket, bytes: 0 };
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => resolve());
  });
  socket.on('data', (d: Buffer) => (sub.bytes += d.length));
  socket.write('*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nchan\r\n');
  const t0 = Date.now();
  while (sub.bytes < CONFIRM.length) {
    if (Date.now() - t0 > 5000) throw new Error('no subscribe confirmation');
    await new Promise((r) => setTimeout(r, 5));
  }
  sub.bytes -= CONFIRM.length;
  return sub;
}

function delivered(subs: Subscriber[]): number {
  return subs.reduce((n, s) => n + Math.floor(s.bytes / FRAME_BYTES), 0);
}

interface Row {
  target: string;
  p: number;
  rps: number;
  deliveredPerSec: number;
  cpuUs: number;
  complete: boolean;
}

async function runOne(name: string, started: StartedTarget, subs: Subscriber[], spec: BenchmarkSpec, bin: string): Promise<Row> {
  for (const s of subs) s.bytes = 0;
  const t0 = process.hrtime.bigint();
  const run = await runBenchmark(bin, started.port, started.pids, spec);
  if (run.error !== null) throw new Error(`${run.commandLine}: ${run.error}`);
  const want = spec.n * subs.length;
  const deadline = Date.now() + 30_000;
  while (delivered(subs) < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const got = delivered(subs);
  const row = run.rows[0];
  log(`${name} -P ${spec.pipeline}: ${fmt(row.rps, 0)} req/s, ${got}/${want} messages in ${seconds.toFixed(2)} s, ${fmt(row.serverCpuUsPerRequest, 1)} µs CPU/request`);
  return { target: name, p: spec.pipeline, rps: row.rps, deliveredPerSec: got / seconds, cpuUs: row.serverCpuUsPerRequest, complete: got === want };
}

async function main(): Promise<number> {
  const { values } = parseArgv(process.argv.slice(2), ['n', 'subscribers', 'pipelines', 'redis-server', 'redis-benchmark', 'quorumkv-main', 'quorumkv-config'], [], USAGE);
  const n = parsePositiveInt('--n', values.get('n') ?? '100000');
  const k = parsePositiveInt('--subscribers', values.get('subscribers') ?? '10');
  const pipelines = parseList(values.get('pipelines') ?? '1,16').map((p) => parsePositiveInt('--pipelines', p));
  const bin = values.get('redis-benchmark') ?? 'redis-benchmark';
  const ctx = targetContextFrom(values);
  const targets: Target[] = [redisTarget(ctx, 'redis-aof', 'redis-server, AOF everysec', REDIS_AOF_ARGS), quorumkvTarget(ctx, 'quorumkv-rocksdb', 'quorumkv, single node, default config', [])];
  const rows: Row[] = [];
  const started: StartedTarget[] = [];
  const subs: Subscriber[][] = [];
  try {
    // Both servers up side by side, with their subscribers; the runs take turns.
    for (const t of targets) {
      started.push(await t.start());
      subs.push(await Promise.all(Array.from({ length: k }, () => subscribe(started[started.length - 1].port))));
    }
    for (const p of pipelines) {
      const spec: BenchmarkSpec = { test: null, command: ['PUBLISH', 'chan', '__rand_int__'], n, clients: 50, pipeline: p, keyspace: 1_000_000 };
      for (let i = 0; i < targets.length; i++) rows.push(await runOne(targets[i].name, started[i], subs[i], spec, bin));
    }
  } finally {
    for (const l of subs) for (const s of l) s.socket.destroy();
    for (const t of targets) await t.stop();
  }
  const spec: BenchmarkSpec = { test: null, command: ['PUBLISH', 'chan', '__rand_int__'], n, clients: 50, pipeline: 0, keyspace: 1_000_000 };
  const out: string[] = [];
  out.push(`${shellLine(bin, benchmarkArgs(spec, 'PORT')).replace('-P 0', '-P P')}, ${k} subscribers on chan per server`, '');
  const table: string[][] = [];
  for (const p of pipelines) {
    const r = rows.find((x) => x.p === p && x.target === 'redis-aof')!;
    const q = rows.find((x) => x.p === p && x.target === 'quorumkv-rocksdb')!;
    table.push([String(p), fmt(r.rps, 0), fmt(q.rps, 0), fmtRatio(q.rps / r.rps), fmt(r.deliveredPerSec, 0), fmt(q.deliveredPerSec, 0), fmt(r.cpuUs, 1), fmt(q.cpuUs, 1), r.complete && q.complete ? 'yes' : 'NO']);
  }
  out.push(markdownTable(['P', 'redis rps', 'quorumkv rps', 'ratio', 'redis msgs/s', 'quorumkv msgs/s', 'redis CPU µs/req', 'quorumkv CPU µs/req', 'all delivered'], table, [true, true, true, true, true, true, true, true, false]));
  process.stdout.write(`\n${out.join('\n')}\n`);
  return rows.every((r) => r.complete) ? 0 : 1;
}

if (require.main === module) runScript('pubsub', main);
