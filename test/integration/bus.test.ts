/**
 * ClusterBus over real loopback TCP: three buses on free 127.0.0.1 ports exchanging
 * pipelined requests, binary payloads, handler errors, a peer that goes away and comes back,
 * peers with the wrong (or no) cluster-secret, and an operator speaking to the bus port
 * with the stock redis-cli. Waits poll with a bound; nothing sleeps.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../src/runtime/clock';
import { Logger, type Level } from '../../src/runtime/log';
import { realScheduler } from '../../src/runtime/scheduler';
import { ClusterBus, type ClusterBusOptions } from '../../src/bus/bus';
import { BusAuthError, BusRemoteError, BusUnreachableError, WireCode } from '../../src/bus/errors';
import type { PeerAddress } from '../../src/bus/transport';
import { codec, defineVerb, verbTable } from '../../src/bus/verb';
import { BUS_PROTOCOL_VERSION, BUS_VERBS, PING } from '../../src/bus/verbs';

class CaptureLog extends Logger {
  readonly lines: string[] = [];
  constructor(clock: Clock) {
    super(clock, 'debug', '');
  }
  override log(level: Level, msg: string): void {
    this.lines.push(`${level} ${msg}`);
  }
}

/** Test-only verbs, in a table of their own beside the real ones. */
const ECHO = defineVerb<Buffer[], { from: string; args: Buffer[] }>({
  name: 'test.echo',
  doc: 'returns the sender id and the arguments (test only)',
  encodeRequest: (args) => args,
  decodeRequest: (a) => a,
  encodeResponse: (r) => [codec.str(r.from), ...r.args],
  decodeResponse: (a) => ({ from: codec.toStr(a[0]), args: a.slice(1) }),
});
const FAIL = defineVerb<string, never>({
  name: 'test.fail',
  doc: 'always fails with the given message (test only)',
  encodeRequest: (m) => [codec.str(m)],
  decodeRequest: (a) => codec.toStr(a[0]),
  encodeResponse: () => [],
  decodeResponse: () => {
    throw new Error('unreachable');
  },
});
const HANG = defineVerb<null, null>({
  name: 'test.hang',
  doc: 'never answers (test only)',
  encodeRequest: () => [],
  decodeRequest: () => null,
  encodeResponse: () => [],
  decodeResponse: () => null,
});
const TEST_VERBS = verbTable([...BUS_VERBS, ECHO, FAIL, HANG]);

const open: ClusterBus[] = [];

async function startBus(id: string, secret: string, extra: Partial<ClusterBusOptions> = {}): Promise<{ bus: ClusterBus; log: CaptureLog; addr: PeerAddress }> {
  const log = new CaptureLog(systemClock);
  const bus = new ClusterBus({
    nodeId: id,
    host: '127.0.0.1',
    port: 0,
    secret,
    clock: systemClock,
    scheduler: realScheduler,
    log,
    random: Math.random,
    verbs: TEST_VERBS,
    ...extra,
  });
  const port = await bus.start();
  open.push(bus);
  ECHO.handle(bus, (from, args) => ({ from: from.id, args }));
  FAIL.handle(bus, (_from, msg) => {
    throw new Error(msg);
  });
  HANG.handle(bus, () => new Promise<null>(() => undefined));
  return { bus, log, addr: { id, host: '127.0.0.1', port } };
}

async function waitFor(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      if (await pred()) return;
    } catch {
      // retried until the deadline
    }
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const REDIS_CLI = process.env.REDIS_CLI ?? 'redis-cli';

/** Pipe `input` into `redis-cli --no-raw -p port` (one command per line, one connection). */
function redisCli(port: number, input: string): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(REDIS_CLI, ['--no-raw', '-h', '127.0.0.1', '-p', String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('latin1')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('latin1')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('redis-cli did not finish within 10 s'));
    }, 10_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
    child.stdin.end(input);
  });
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((b) => b.close()));
});

describe('ClusterBus over TCP', () => {
  it('three nodes exchange thousands of pipelined requests, each reply matching its request', async () => {
    const nodes = await Promise.all(['a', 'b', 'c'].map((id) => startBus(id, 'sesame')));
    const PER_PAIR = 3000;
    const work: Promise<void>[] = [];
    const mismatches: string[] = [];
    for (const from of nodes) {
      for (const to of nodes) {
        if (to === from) continue;
        for (let i = 0; i < PER_PAIR; i++) {
          const tag = Buffer.from(`${from.addr.id}->${to.addr.id}#${i}`);
          work.push(
            ECHO.call(from.bus, to.addr, [tag, codec.int(i)]).then((r) => {
              // One assertion at the end: expect() per reply would dominate the run time.
              if (r.from !== from.addr.id || !r.args[0].equals(tag) || codec.toInt(r.args[1]) !== i) mismatches.push(tag.toString());
            }),
          );
        }
      }
    }
    await Promise.all(work);
    expect(mismatches).toEqual([]);
    for (const n of nodes) {
      const s = n.bus.stats();
      expect(s.requestsSent).toBe(2 * PER_PAIR);
      expect(s.repliesOk).toBe(2 * PER_PAIR);
      expect(s.peersConnected).toBe(2);
      expect(s.inboundConnections).toBe(2);
      expect(s.inFlight).toBe(0);
      expect(s.timeouts + s.overloaded + s.unreachable).toBe(0);
      expect(n.log.lines.filter((l) => l.startsWith('warning'))).toEqual([]);
    }
  });

  it('carries binary payloads unchanged', async () => {
    const [x, y] = await Promise.all([startBus('x', 'sesame'), startBus('y', 'sesame')]);
    const payloads = [
      Buffer.alloc(0),
      Buffer.from('\r\n*3\r\n$1\r\n'),
      Buffer.from([0, 255, 13, 10, 0]),
      randomBytes(100),
      randomBytes(70_000),
      randomBytes(2 * 1024 * 1024),
    ];
    const r = await ECHO.call(x.bus, y.addr, payloads);
    expect(r.args.length).toBe(payloads.length);
    r.args.forEach((a, i) => expect(a.equals(payloads[i])).toBe(true));
    expect(await PING.call(x.bus, y.addr, Buffer.from([13, 10]))).toEqual(Buffer.from([13, 10]));
  });

  it('returns a handler error to the caller', async () => {
    const [x, y] = await Promise.all([startBus('x', ''), startBus('y', '')]);
    const p = FAIL.call(x.bus, y.addr, 'disk on fire');
    await expect(p).rejects.toBeInstanceOf(BusRemoteError);
    await expect(p).rejects.toMatchObject({ remoteCode: WireCode.handler, message: 'disk on fire' });
    expect(x.log.lines.some((l) => l.startsWith('warning Cluster bus on 127.0.0.1') && l.includes('unauthenticated'))).toBe(true);
  });

  it('fails pending requests fast when a peer dies, and reconnects after it returns', async () => {
    const x = await startBus('x', 'sesame');
    const y = await startBus('y', 'sesame');
    const ups: string[] = [];
    const downs: string[] = [];
    const z = await startBus('z', 'sesame', {
      onPeerUp: (p) => ups.push(p.nodeId),
      onPeerDown: (p) => downs.push(p.nodeId),
    });
    expect((await ECHO.call(z.bus, y.addr, [Buffer.from('hi')])).from).toBe('z');
    const pending = Array.from({ length: 200 }, () => HANG.call(z.bus, y.addr, null, { timeoutMs: 60_000 }).then(
      () => 'answered',
      (e: unknown) => e,
    ));
    await waitFor(() => y.bus.stats().requestsReceived >= 202, 5000, 'requests at y'); // hello + echo + 200
    const t0 = performance.now();
    await y.bus.close();
    const outcomes = await Promise.all(pending);
    expect(performance.now() - t0).toBeLessThan(2000);
    for (const o of outcomes) expect(o).toBeInstanceOf(BusUnreachableError);
    expect(downs).toEqual(['y']);
    // Other peers are unaffected.
    expect((await ECHO.call(z.bus, x.addr, [])).from).toBe('z');
    // While y is gone, requests fail (fast) rather than hang.
    await expect(PING.call(z.bus, y.addr, Buffer.alloc(0))).rejects.toBeInstanceOf(BusUnreachableError);
    // y comes back on the same port; z reconnects within its (bounded) backoff.
    await startBus('y', 'sesame', { port: y.addr.port });
    await waitFor(async () => (await PING.call(z.bus, y.addr, Buffer.from('back'))).toString() === 'back', 5000, 'z reaching y again');
    expect(ups.filter((u) => u === 'y').length).toBe(2);
  });

  it('refuses and logs a peer with the wrong secret, or none', async () => {
    const a = await startBus('a', 'sesame');
    const bad = await startBus('intruder', 'open-up');
    const p = PING.call(bad.bus, a.addr, Buffer.from('let me in'));
    await expect(p).rejects.toBeInstanceOf(BusAuthError);
    await expect(p).rejects.toThrow(/wrong cluster-secret/);
    expect(a.log.lines.some((l) => /^warning Refused cluster bus connection from 127\.0\.0\.1:\d+ \(node intruder\): wrong cluster-secret$/.test(l))).toBe(true);
    expect(a.bus.stats().authFailures).toBe(1);
    expect(bad.log.lines.some((l) => l.startsWith(`warning Cluster bus: peer 127.0.0.1:${a.addr.port} not admitted`))).toBe(true);

    const none = await startBus('anon', '');
    await expect(PING.call(none.bus, a.addr, Buffer.alloc(0))).rejects.toBeInstanceOf(BusAuthError);
    await waitFor(() => a.log.lines.some((l) => l.includes('(node anon): the peer has no cluster-secret')), 3000, 'refusal logged');

    // A node with a secret does not talk to one without.
    await expect(PING.call(a.bus, none.addr, Buffer.alloc(0))).rejects.toThrow(/has no cluster-secret/);
    // A request to a node id that is not the one at the address is refused too.
    const good = await startBus('b', 'sesame');
    await expect(PING.call(good.bus, { ...a.addr, id: 'not-a' }, Buffer.alloc(0))).rejects.toThrow(/answered as node a, expected node not-a/);
    await expect(PING.call(good.bus, a.addr, Buffer.from('ok'))).resolves.toEqual(Buffer.from('ok'));
  });

  it('an operator talks to the bus with redis-cli: hello, auth with the plain secret, then requests', async () => {
    const a = await startBus('a', 'sesame');
    const hello = `hello 1 operator 0123456789abcdef ${BUS_PROTOCOL_VERSION}`;
    const out = await redisCli(a.addr.port, [hello, 'auth 2 sesame', 'ping 7 hi', 'PING 8 "two words"', 'test.echo 9 x y', 'nosuch 10', 'ping 11'].join('\n') + '\n');
    expect(out.code).toBe(0);
    expect(out.stderr).toBe('');
    // The nonce and the server's proof are random bytes, printed escaped.
    const lines = out.stdout.split('\n');
    expect(lines.slice(0, 3)).toEqual(['1) "1"', '2) "ok"', '3) "a"']);
    expect(lines[3]).toMatch(/^4\) ".+"$/);
    expect(lines.slice(4, 8)).toEqual(['5) "1"', `6) "${BUS_PROTOCOL_VERSION}"`, '1) "2"', '2) "ok"']);
    expect(lines[8]).toMatch(/^3\) ".+"$/);
    expect(lines.slice(9)).toEqual([
      '1) "7"', '2) "ok"', '3) "hi"',
      '1) "8"', '2) "ok"', '3) "two words"',
      '1) "9"', '2) "ok"', '3) "operator"', '4) "x"', '5) "y"',
      '1) "10"', '2) "err"', '3) "UNKNOWN"', "4) \"unknown bus verb 'nosuch'\"",
      '1) "11"', '2) "err"', '3) "BADREQ"', '4) "ping: expected 1 arguments, got 0"',
      '',
    ]);
    expect(a.log.lines.some((l) => /^notice Cluster bus: 127\.0\.0\.1:\d+ \(node operator\) authenticated with the plain cluster-secret/.test(l))).toBe(true);
    // redis-cli's opening COMMAND DOCS was answered, not refused as a protocol error.
    expect(a.log.lines.filter((l) => l.startsWith('warning'))).toEqual([]);
    expect(a.bus.stats().connectionsAccepted).toBe(1);

    // A wrong secret is refused like a node's wrong proof, and the connection closed.
    const bad = await redisCli(a.addr.port, [hello, 'auth 2 open-up', 'ping 3 hi'].join('\n') + '\n');
    expect(bad.stdout.split('\n').slice(6)).toEqual(['1) "2"', '2) "err"', '3) "NOAUTH"', '4) "NOAUTH wrong cluster-secret"', '']);
    expect(bad.stderr).toBe('Error: Server closed the connection\n');
    // And nothing is served before the handshake.
    const early = await redisCli(a.addr.port, 'ping 3 hi\n');
    expect(early.stdout).toBe('1) "3"\n2) "err"\n3) "NOAUTH"\n4) "NOAUTH \'ping\' before the handshake completed"\n');
  });

  it('refuses handlers for verbs missing from the table', async () => {
    const x = await startBus('x', '');
    expect(() => x.bus.setHandler('no.such.verb', () => [])).toThrow(/not in the verb table/);
    expect(() => x.bus.setHandler('hello', () => [])).toThrow(/served by the bus itself/);
  });
});
