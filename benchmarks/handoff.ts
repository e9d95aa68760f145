/**
 * Hint replay rate: how fast a node that was down gets back the writes it missed.
 *
 * Starts a local 3-node cluster (N=3, W=2, R=2, rocksdb), SIGKILLs node 3, writes K keys
 * through node 1 (pipelined), waits until nodes 1 and 2 hold a hint for each, restarts
 * node 3 and times until every hint is delivered (INFO hints_pending = 0 on nodes 1 and 2).
 * Prints hints/s and MB/s. The replay throttle is raised out of the way
 * (`hint-replay-rate`, default 20000/s in production) to measure what the path can do.
 *
 *   npm run build && node dist/benchmarks/handoff.js [--keys 100000] [--value-size 64] [--rate 10000000]
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ChildProcess } from 'node:child_process';
import { cleanup, freePort, makeTempDir, respCommand, spawnTracked, stopChild, type RespValue } from './lib/targets';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const KEYS = arg('keys', 100_000);
const VALUE_SIZE = arg('value-size', 64);
const RATE = arg('rate', 10_000_000);
const MAIN = path.resolve('dist/src/main.js');

interface Node {
  id: string;
  port: number;
  busPort: number;
  dir: string;
  log: string;
  child: ChildProcess | null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function start(n: Node, seeds: string[]): Promise<void> {
  // QKV_NODE_FLAGS: extra node flags for the servers (e.g. --cpu-prof), for profiling.
  const flags = (process.env.QKV_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
  const args = [
    ...flags, MAIN, '--port', String(n.port), '--bind', '127.0.0.1', '--bus-port', String(n.busPort), '--dir', n.dir, '--node-id', n.id,
    '--seeds', ...seeds, '--replicas', '3', '--write-quorum', '2', '--read-quorum', '2', '--engine', 'rocksdb',
    '--gossip-interval', '100ms', '--fail-timeout', '1s', '--hint-replay-rate', String(RATE),
  ];
  const fd = fs.openSync(n.log, 'a');
  try {
    n.child = await spawnTracked(process.execPath, args, { stdio: ['ignore', fd, fd] });
  } finally {
    fs.closeSync(fd);
  }
}

async function until(what: string, timeoutMs: number, test: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await test()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function infoField(v: RespValue, name: string): number {
  const m = new RegExp(`^${name}:(\\d+)`, 'm').exec(String(v));
  return m === null ? NaN : Number(m[1]);
}

async function upCount(port: number): Promise<number> {
  const rows = (await respCommand(port, ['RING', 'NODES'], 2000)) as RespValue[][];
  return rows.filter((r) => r[r.indexOf('state') + 1] === 'up').length;
}

/** SET hb:0..count-1 through `port`, pipelined 1000 at a time. */
function load(port: number, count: number, valueSize: number): Promise<void> {
  const value = 'x'.repeat(valueSize);
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({ host: '127.0.0.1', port });
    let sent = 0;
    let replies = 0;
    let inBatch = 0;
    let tail = '';
    const sendBatch = (): void => {
      const n = Math.min(1000, count - sent);
      inBatch = n;
      let out = '';
      for (let i = 0; i < n; i++) {
        const k = `hb:${sent + i}`;
        out += `*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$${value.length}\r\n${value}\r\n`;
      }
      sent += n;
      sock.write(out);
    };
    sock.on('connect', sendBatch);
    sock.on('error', reject);
    sock.on('data', (chunk: Buffer) => {
      const text = tail + chunk.toString('latin1');
      const lines = text.split('\r\n');
      tail = lines.pop() ?? '';
      for (const l of lines) {
        if (l !== '+OK') {
          sock.destroy();
          reject(new Error(`SET replied ${l}`));
          return;
        }
        replies++;
        inBatch--;
      }
      if (replies === count) {
        sock.end();
        resolve();
      } else if (inBatch === 0) sendBatch();
    });
  });
}

async function main(): Promise<void> {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} not found: npm run build first`);
  const dir = makeTempDir('handoff');
  const nodes: Node[] = [];
  for (let i = 1; i <= 3; i++) {
    const d = path.join(dir, `node${i}`);
    fs.mkdirSync(d);
    nodes.push({ id: `node${i}`, port: await freePort(), busPort: await freePort(), dir: d, log: path.join(dir, `node${i}.log`), child: null });
  }
  const seeds = nodes.map((n) => `127.0.0.1:${n.busPort}`);
  try {
    for (const n of nodes) await start(n, seeds);
    await until('the cluster to form', 60_000, async () => (await Promise.all(nodes.map((n) => upCount(n.port)))).every((c) => c === 3));
    const n3 = nodes[2];
    if (n3.child?.pid !== undefined) process.kill(n3.child.pid, 'SIGKILL');
    await until('node 3 to be seen down', 30_000, async () => (await upCount(nodes[0].port)) === 2 && (await upCount(nodes[1].port)) === 2);
    const t0 = Date.now();
    await load(nodes[0].port, KEYS, VALUE_SIZE);
    const loadMs = Date.now() - t0;
    const pending = async (): Promise<{ count: number; bytes: number }> => {
      const infos = await Promise.all(nodes.slice(0, 2).map((n) => respCommand(n.port, ['INFO', 'ring'], 5000)));
      let count = 0;
      let bytes = 0;
      for (const i of infos) {
        count += infoField(i, 'hints_pending');
        bytes += infoField(i, 'hints_pending_bytes');
      }
      return { count, bytes };
    };
    await until('a hint for every key', 60_000, async () => (await pending()).count >= KEYS);
    const before = await pending();
    process.stderr.write(`[bench] ${KEYS} keys written with node3 down in ${loadMs} ms; ${before.count} hints (${(before.bytes / 1e6).toFixed(1)} MB) pending\n`);

    await start(n3, seeds);
    await until('node 3 to be seen up', 60_000, async () => (await upCount(nodes[0].port)) === 3 && (await upCount(nodes[1].port)) === 3);
    const r0 = Date.now();
    await until('every hint to be delivered', 600_000, async () => (await pending()).count === 0);
    const ms = Date.now() - r0;
    const perSec = Math.round((before.count / ms) * 1000);
    const mbPerSec = before.bytes / 1e6 / (ms / 1000);
    const check = await respCommand(n3.port, ['RING', 'LOCAL', `hb:${KEYS - 1}`], 5000);
    if (check === null) throw new Error('node3 lacks the last key after replay');
    console.log(`hint replay: ${before.count} hints, ${(before.bytes / 1e6).toFixed(1)} MB in ${ms} ms = ${perSec} hints/s, ${mbPerSec.toFixed(1)} MB/s (hint-replay-rate ${RATE})`);
  } finally {
    await Promise.all(nodes.map((n) => (n.child === null ? Promise.resolve() : stopChild(n.child))));
    await cleanup.stopAll();
  }
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exitCode = 1;
});
