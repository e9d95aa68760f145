/**
 * Clients that half-close or vanish, side by side with redis-server.
 *
 * A client may send its commands and then shut down its sending side (shutdown(SHUT_WR):
 * `nc -N`, a Node socket's `.end()`). Redis answers every complete command it read before
 * the FIN and then closes; an incomplete command at the FIN is dropped. quorumkv must do the
 * same even when replies are not ready at once: on a standalone RocksDB node a reply waits
 * until its write batch is durable, and on a cluster node a write waits for its quorum.
 * A client that resets its connection mid-pipeline must leave the server serving, its
 * connection forgotten, and every write whose reply it received readable.
 *
 * Three targets: redis-server, a standalone quorumkv node (RocksDB) and the first node of a
 * two-node quorumkv cluster (replicas 2, write quorum 2). quorumkv listens below 32768,
 * outside the kernel's ephemeral range, so no outgoing connection can take its port
 * between our probe and its bind. Nothing here sleeps: every wait is a bounded poll or a
 * bounded wait for an event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { FAST_GOSSIP, waitAllUp } from '../support/cluster';
import { RawClient } from '../support/raw-client';
import { encodeCommand, escapeBytes, scanFrame } from '../support/resp-frames';
import { startQuorumkv, startRedis, stopAll, waitFor, type QuorumkvProcess, type ServerProcess } from '../support/servers';

const EXCHANGE_TIMEOUT_MS = 20_000;
/** Probe ports here: below the ephemeral range (32768-60999 on Linux) and above the usual services. */
const LOW_PORT_MIN = 20_000;
const LOW_PORT_MAX = 32_767;

interface Target {
  name: string;
  port: number;
  /** The processes behind it, to tell a crash from a wrong answer. */
  procs: ServerProcess[];
}

let redis: Target;
let standalone: Target;
let cluster: Target;

function targets(): Target[] {
  return [redis, standalone, cluster];
}

afterAll(async () => {
  await stopAll();
});

beforeAll(async () => {
  const [r, s, c] = await Promise.all([
    startRedis(),
    onLowPorts(1, ([port, busPort]) => startQuorumkv(['--engine', 'rocksdb', '--bus-port', String(busPort)], { port })),
    startCluster2(),
  ]);
  redis = { name: 'redis-server', port: r.port, procs: [r] };
  standalone = { name: 'quorumkv standalone', port: s.port, procs: [s] };
  cluster = { name: 'quorumkv cluster node', port: c[0].port, procs: c };
});

// ------------------------------------------------------------------ processes and ports

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** `n` distinct ports below 32768 that were free a moment ago. */
async function lowFreePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let tries = 0; out.length < n; tries++) {
    if (tries > 200) throw new Error(`no free port found in ${LOW_PORT_MIN}-${LOW_PORT_MAX}`);
    const port = LOW_PORT_MIN + Math.floor(Math.random() * (LOW_PORT_MAX - LOW_PORT_MIN + 1));
    if (!out.includes(port) && (await canBind(port))) out.push(port);
  }
  return out;
}

/** Start something on `2 * nodes` fresh low ports, again on others if one was taken meanwhile. */
async function onLowPorts<T>(nodes: number, start: (ports: number[]) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports = await lowFreePorts(2 * nodes);
    try {
      return await start(ports);
    } catch (err) {
      if (attempt >= 3 || !/EADDRINUSE|address already in use/i.test((err as Error).message)) throw err;
      await stopAll();
    }
  }
}

/** Two nodes that hold every key between them: each write waits for the other node. */
function startCluster2(): Promise<QuorumkvProcess[]> {
  return onLowPorts(2, async ([port1, port2, bus1, bus2]) => {
    const seeds = ['--seeds', `127.0.0.1:${bus1}`, `127.0.0.1:${bus2}`];
    const common = [...FAST_GOSSIP, '--engine', 'rocksdb', '--replicas', '2', '--write-quorum', '2', '--read-quorum', '1', ...seeds];
    const nodes = await Promise.all([
      startQuorumkv([...common, '--node-id', 'n1', '--bus-port', String(bus1)], { port: port1 }),
      startQuorumkv([...common, '--node-id', 'n2', '--bus-port', String(bus2)], { port: port2 }),
    ]);
    await waitAllUp(nodes, ['n1', 'n2'], 20_000);
    return nodes;
  });
}

function diagnostics(t: Target): string {
  return t.procs.map((p) => `\n--- ${t.name} pid ${p.pid}${p.exited ? ' EXITED' : ''} ---\n${p.output().slice(-3000)}`).join('');
}

// ------------------------------------------------------------------ client side

interface Exchange {
  /** Every byte the server sent. */
  bytes: Buffer;
  /** The server closed its side cleanly (FIN), rather than resetting. */
  serverEnded: boolean;
  error: string | null;
}

/** Connect, write `pieces` one after another, half-close right after the last, read until closed. */
function halfCloseExchange(port: number, pieces: Buffer[]): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let serverEnded = false;
    let error: string | null = null;
    const s = net.connect({ port, host: '127.0.0.1' }, () => {
      for (let i = 0; i < pieces.length - 1; i++) s.write(pieces[i]);
      s.end(pieces[pieces.length - 1]);
    });
    const timer = setTimeout(() => {
      s.destroy();
      const got = Buffer.concat(chunks);
      reject(new Error(`server did not close within ${EXCHANGE_TIMEOUT_MS} ms; got ${got.length} bytes ending ${escapeBytes(got.subarray(-200))}`));
    }, EXCHANGE_TIMEOUT_MS);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => {
      serverEnded = true;
    });
    s.on('error', (err) => {
      error = err.message;
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ bytes: Buffer.concat(chunks), serverEnded, error });
    });
  });
}

/** Cut a reply stream into whole frames; a torn tail is returned apart. */
function frames(bytes: Buffer): { frames: Buffer[]; rest: Buffer } {
  const out: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const end = scanFrame(bytes, offset);
    if (end === -1) break;
    out.push(bytes.subarray(offset, end));
    offset = end;
  }
  return { frames: out, rest: bytes.subarray(offset) };
}

/** The values of `keys` (null when missing), read over a fresh connection in pipelined batches. */
async function readValues(port: number, keys: Buffer[]): Promise<(Buffer | null)[]> {
  const c = await RawClient.connect(port);
  try {
    const out: (Buffer | null)[] = [];
    for (let i = 0; i < keys.length; i += 500) {
      const batch = keys.slice(i, i + 500);
      const replies = await c.sendRaw(Buffer.concat(batch.map((k) => encodeCommand(['GET', k]))), batch.length);
      expect(replies.length, `replies to GETs on a new connection`).toBe(batch.length);
      for (const r of replies) {
        if (r.equals(Buffer.from('$-1\r\n'))) out.push(null);
        else {
          const header = r.indexOf('\r\n');
          out.push(r.subarray(header + 2, r.length - 2));
        }
      }
    }
    return out;
  } finally {
    c.close();
  }
}

async function connectedClients(port: number): Promise<number> {
  const c = await RawClient.connect(port);
  try {
    const info = (await c.send('INFO', 'clients')).toString('latin1');
    const m = /connected_clients:(\d+)/.exec(info);
    if (m === null) throw new Error(`no connected_clients in ${info}`);
    return Number(m[1]);
  } finally {
    c.close();
  }
}

function randomKeys(prefix: string, n: number): Buffer[] {
  // Binary keys (CR, LF and NUL included) through the multibulk protocol.
  return Array.from({ length: n }, () => Buffer.concat([Buffer.from(prefix), randomBytes(12)]));
}

// ------------------------------------------------------------------ the cases

describe('a client that half-closes after its commands', () => {
  it('gets every reply, byte for byte as from redis-server, then the server closes', async () => {
    const bin = Buffer.from([0, 13, 10, 255, 32, 36]);
    const script = Buffer.concat([
      encodeCommand(['SET', 'hc:a', '1']),
      encodeCommand(['GET', 'hc:a']),
      encodeCommand(['INCR', 'hc:a']),
      encodeCommand(['INCR', 'hc:n']),
      encodeCommand(['INCRBY', 'hc:n', '41']),
      encodeCommand(['APPEND', 'hc:a', 'xyz']),
      encodeCommand(['GET', 'hc:a']),
      encodeCommand(['INCR', 'hc:a']),
      encodeCommand(['MGET', 'hc:a', 'hc:n', 'hc:missing']),
      encodeCommand(['SET', 'hc:bin', bin]),
      encodeCommand(['GET', 'hc:bin']),
      encodeCommand(['DEL', 'hc:a']),
      encodeCommand(['GET', 'hc:a']),
      encodeCommand(['EXISTS', 'hc:a', 'hc:n', 'hc:bin']),
      Buffer.from('INCR hc:inline\r\n'),
      // Incomplete at the FIN: never run, never answered.
      Buffer.from('*3\r\n$3\r\nSET\r\n$6\r\nhc:par'),
    ]);
    // Once in one write with the FIN, once spread over several writes before it.
    const ways: [string, Buffer[]][] = [
      ['one write', [script]],
      ['split writes', [script.subarray(0, 7), script.subarray(7, 100), script.subarray(100)]],
    ];
    for (const [way, pieces] of ways) {
      const results = new Map<Target, Exchange>();
      for (const t of targets()) results.set(t, await halfCloseExchange(t.port, pieces));
      const want = results.get(redis) as Exchange;
      expect(frames(want.bytes).frames.length, `redis-server replies (${way})`).toBe(15);
      for (const t of targets()) {
        const got = results.get(t) as Exchange;
        const label = `${t.name}, ${way}: got ${escapeBytes(got.bytes)}${diagnostics(t)}`;
        expect(escapeBytes(got.bytes, 10_000), label).toBe(escapeBytes(want.bytes, 10_000));
        expect(got.serverEnded, label).toBe(true);
        expect(got.error, label).toBe(null);
      }
      // The partial SET never ran.
      for (const t of targets()) expect(await readValues(t.port, [Buffer.from('hc:par')]), t.name).toEqual([null]);
      // The next way starts from the same empty keys on every target.
      for (const t of targets()) {
        const c = await RawClient.connect(t.port);
        await c.send('DEL', 'hc:n', 'hc:bin', 'hc:inline');
        c.close();
      }
    }
  });

  it.each(['redis-server', 'quorumkv standalone', 'quorumkv cluster node'])(
    '%s: 5000 pipelined SETs then FIN give 5000 +OK, and every key is there afterwards',
    async (name) => {
      const t = targets().find((x) => x.name === name) as Target;
      const keys = randomKeys('hc:big:', 5000);
      const values = keys.map((_, i) => Buffer.from(`v${i}-${randomBytes(4).toString('hex')}`));
      const pipeline = Buffer.concat(keys.map((k, i) => encodeCommand(['SET', k, values[i]])));
      const got = await halfCloseExchange(t.port, [pipeline]);
      const label = `${t.name}: ${got.bytes.length} bytes back${diagnostics(t)}`;
      expect(got.bytes.length, label).toBe(5 * keys.length);
      expect(got.bytes.equals(Buffer.from('+OK\r\n'.repeat(keys.length))), label).toBe(true);
      expect(got.serverEnded, label).toBe(true);
      const read = await readValues(t.port, keys);
      const wrong = read.map((v, i) => (v !== null && v.equals(values[i]) ? -1 : i)).filter((i) => i >= 0);
      expect(wrong.length, `${t.name}: keys missing or wrong after the half-closed pipeline, first ${wrong.slice(0, 5).join(',')}`).toBe(0);
    },
  );

  it('with nc -N (netcat-openbsd) the replies match redis-server', async (ctx) => {
    const help = spawnSync('nc', ['-h'], { encoding: 'latin1', timeout: 5000 });
    const hasN = help.error === undefined && `${help.stdout}${help.stderr}`.includes('-N');
    ctx.skip(!hasN, 'netcat-openbsd is not installed (no `nc` with -N, shutdown after EOF on stdin); install it to run this case');
    const input = 'SET hc:nc 1\r\nGET hc:nc\r\nINCR hc:nc\r\nINCR hc:nc\r\nGET hc:nc\r\n';
    const outputs = new Map<Target, string>();
    for (const t of targets()) outputs.set(t, await ncExchange(t.port, input));
    expect(outputs.get(redis)).toBe('+OK\r\n$1\r\n1\r\n:2\r\n:3\r\n$1\r\n3\r\n');
    for (const t of targets()) expect(outputs.get(t), `${t.name}${diagnostics(t)}`).toBe(outputs.get(redis));
  });
});

/** `printf INPUT | nc -N 127.0.0.1 PORT`: its standard output once nc exits (bounded). */
function ncExchange(port: number, input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const nc = spawn('nc', ['-N', '127.0.0.1', String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => {
      nc.kill('SIGKILL');
      reject(new Error(`nc -N did not exit within ${EXCHANGE_TIMEOUT_MS} ms (server never closed?); stdout ${escapeBytes(Buffer.concat(out))}`));
    }, EXCHANGE_TIMEOUT_MS);
    nc.stdout.on('data', (d: Buffer) => out.push(d));
    nc.stderr.on('data', (d: Buffer) => err.push(d));
    nc.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    nc.once('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`nc exited ${code}: ${Buffer.concat(err).toString()}`));
      else resolve(Buffer.concat(out).toString('latin1'));
    });
    nc.stdin.end(input);
  });
}

describe('a client that vanishes mid-pipeline', () => {
  it.each(['redis-server', 'quorumkv standalone', 'quorumkv cluster node'])(
    '%s: keeps serving, forgets the client, and keeps every acknowledged write',
    async (name) => {
      const t = targets().find((x) => x.name === name) as Target;
      const keys = randomKeys('hc:rst:', 20_000);
      const values = keys.map((_, i) => Buffer.from(`r${i}`));
      const pipeline = Buffer.concat(keys.map((k, i) => encodeCommand(['SET', k, values[i]])));
      // Reset the connection once the first replies are in, with the rest still in flight.
      const acked = await new Promise<number>((resolve, reject) => {
        let got = Buffer.alloc(0);
        const s = net.connect({ port: t.port, host: '127.0.0.1' }, () => s.write(pipeline));
        const timer = setTimeout(() => {
          s.destroy();
          reject(new Error(`no replies within ${EXCHANGE_TIMEOUT_MS} ms`));
        }, EXCHANGE_TIMEOUT_MS);
        s.on('error', () => undefined);
        s.on('data', (d: Buffer) => {
          got = Buffer.concat([got, d]);
          if (got.length >= 5 * 500) {
            clearTimeout(timer);
            s.resetAndDestroy();
            const { frames: f } = frames(got);
            const odd = f.find((r) => !r.equals(Buffer.from('+OK\r\n')));
            if (odd !== undefined) reject(new Error(`unexpected reply ${escapeBytes(odd)}`));
            else resolve(f.length);
          }
        });
      });
      // A few more that reset right after writing, before any reply can arrive.
      for (let i = 0; i < 5; i++) {
        await new Promise<void>((resolve) => {
          const s = net.connect({ port: t.port, host: '127.0.0.1' }, () => s.write(pipeline, () => {
            s.resetAndDestroy();
            resolve();
          }));
          s.on('error', () => resolve());
        });
      }
      const c = await RawClient.connect(t.port);
      expect((await c.send('PING')).toString(), `${t.name} answers a new connection${diagnostics(t)}`).toBe('+PONG\r\n');
      c.close();
      for (const p of t.procs) expect(p.exited, `${t.name} pid ${p.pid} exited${diagnostics(t)}`).toBe(false);
      // The vanished clients are forgotten (only the asking connection is left).
      await waitFor(async () => (await connectedClients(t.port)) === 1, 10_000, { what: `${t.name} to drop the reset clients` });
      const read = await readValues(t.port, keys.slice(0, acked));
      const missing = read.map((v, i) => (v !== null && v.equals(values[i]) ? -1 : i)).filter((i) => i >= 0);
      expect(missing.length, `${t.name}: acknowledged writes missing (of ${acked}), first ${missing.slice(0, 5).join(',')}`).toBe(0);
    },
  );
});
