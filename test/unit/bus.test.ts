/**
 * The cluster bus without TCP: codecs and the verb table, deadline and backoff arithmetic,
 * the handshake proofs, the in-memory twin, and a PeerClient talking to a BusServer through
 * an in-memory socket pair with a manual clock (request ids, batching, timeouts, bounds,
 * authentication, disconnects and backoff).
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ManualClock, type Clock } from '../../src/runtime/clock';
import { Logger, type Level } from '../../src/runtime/log';
import type { Cancel, Scheduler } from '../../src/runtime/scheduler';
import { clientProof, proofMatches, serverProof } from '../../src/bus/auth';
import { backoffDelayMs, DeadlineWheel } from '../../src/bus/deadlines';
import {
  BusAuthError,
  BusCodecError,
  BusOverloadedError,
  BusRemoteError,
  BusTimeoutError,
  BusUnreachableError,
  WireCode,
} from '../../src/bus/errors';
import { MemoryNetwork, MemoryTransport } from '../../src/bus/memory-transport';
import { PeerClient, type PeerLimits } from '../../src/bus/peer';
import { BusServer, type BusServerLimits } from '../../src/bus/server';
import type { BusConnector, BusSocket } from '../../src/bus/socket';
import { newBusCounters } from '../../src/bus/stats';
import type { VerbHandler } from '../../src/bus/transport';
import { codec, defineVerb, parseDecimal, verbTable } from '../../src/bus/verb';
import { AUTH, BUS_VERBS, HELLO, PING, VERB_BY_NAME } from '../../src/bus/verbs';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

class CaptureLog extends Logger {
  readonly lines: string[] = [];
  constructor(clock: Clock) {
    super(clock, 'debug', '');
  }
  override log(level: Level, msg: string): void {
    this.lines.push(`${level} ${msg}`);
  }
}

// ---------------------------------------------------------------------------------------
// Pure parts

describe('codecs and the verb table', () => {
  it('parses decimals exactly', () => {
    const table: [string, number | null][] = [
      ['0', 0],
      ['7', 7],
      ['123456789', 123456789],
      ['-42', -42],
      ['9007199254740991', 9007199254740991],
      ['9007199254740992', null],
      ['', null],
      ['-', null],
      ['01', null],
      ['1a', null],
      ['+1', null],
      [' 1', null],
    ];
    for (const [s, want] of table) expect(parseDecimal(b(s)), s).toBe(want);
  });

  it('round-trips the handshake and ping payloads', () => {
    const nonce = randomBytes(16);
    const hello = { nodeId: 'node-ä', nonce, version: 1 };
    expect(HELLO.decodeRequest(HELLO.encodeRequest(hello))).toEqual(hello);
    const res = { nodeId: 'srv', nonce, authRequired: true, version: 1 };
    expect(HELLO.decodeResponse(HELLO.encodeResponse(res))).toEqual(res);
    const proof = randomBytes(32);
    expect(AUTH.decodeRequest(AUTH.encodeRequest({ proof }))).toEqual({ proof });
    expect(AUTH.decodeRequest(AUTH.encodeRequest({ proof: Buffer.alloc(0) }))).toEqual({ proof: Buffer.alloc(0) });
    const bin = Buffer.from([0, 13, 10, 255, 42]);
    expect(PING.decodeResponse(PING.encodeResponse(bin))).toEqual(bin);
  });

  it('refuses malformed payloads with BusCodecError', () => {
    expect(() => HELLO.decodeRequest([b('x'), randomBytes(15), b('1')])).toThrow(BusCodecError);
    expect(() => HELLO.decodeRequest([b(''), randomBytes(16), b('1')])).toThrow(BusCodecError);
    expect(() => HELLO.decodeRequest([b('x'), randomBytes(16)])).toThrow(/expected 3 arguments, got 2/);
    expect(() => AUTH.decodeRequest([randomBytes(31)])).toThrow(BusCodecError);
    expect(() => codec.toInt(b('x1'))).toThrow(BusCodecError);
    expect(() => codec.toBool(b('2'))).toThrow(BusCodecError);
    expect(() => codec.int(1.5)).toThrow(BusCodecError);
    expect(codec.toInt(codec.int(-123))).toBe(-123);
    expect(codec.toBool(codec.bool(false))).toBe(false);
  });

  it('builds one table with unique, well-formed names', () => {
    expect(VERB_BY_NAME.size).toBe(BUS_VERBS.length);
    for (const v of BUS_VERBS) {
      expect(v.name).toMatch(/^[a-z][a-z0-9.-]*$/);
      expect(v.doc.length).toBeGreaterThan(10);
    }
    expect(() => verbTable([PING, PING])).toThrow(/defined twice/);
    const spec = { doc: 'd', encodeRequest: () => [], decodeRequest: () => 0, encodeResponse: () => [], decodeResponse: () => 0 };
    expect(() => defineVerb({ name: 'Bad Name', ...spec })).toThrow(/bad bus verb name/);
  });
});

describe('DeadlineWheel', () => {
  it('expires items in their tick, not before, and forgets removed ones', () => {
    const w = new DeadlineWheel<string>(10, 1000);
    const sa = w.add('a', 1005); // slot 101
    w.add('b', 1010); // slot 101
    const sc = w.add('c', 1011); // slot 102
    w.add('d', 5000);
    w.add('past', 900); // already due: goes with the next tick
    expect(w.size).toBe(5);
    expect(w.expire(1009)).toEqual([]); // never early
    w.remove('a', sa);
    expect(w.expire(1010).sort()).toEqual(['b', 'past']);
    w.remove('c', sc);
    w.remove('c', sc); // twice is harmless
    expect(w.expire(1100)).toEqual([]);
    expect(w.size).toBe(1);
    // A long stall: one sweep covers all slots in between.
    expect(w.expire(1_000_000)).toEqual(['d']);
    expect(w.size).toBe(0);
    w.add('e', 0);
    expect(w.clear()).toEqual(['e']);
  });

  it('never files an item into a slot already swept', () => {
    const w = new DeadlineWheel<number>(10, 0);
    w.expire(500);
    w.add(1, 100);
    expect(w.expire(505)).toEqual([]);
    expect(w.expire(510)).toEqual([1]);
  });
});

describe('backoffDelayMs', () => {
  const policy = { baseMs: 50, maxMs: 2000 };
  const table: [number, number, number][] = [
    // failures, random, delay
    [1, 0, 25],
    [1, 0.999, 49],
    [2, 0, 50],
    [3, 0.5, 150],
    [6, 0, 800],
    [7, 0, 1000],
    [8, 0, 1000],
    [100, 0.999, 1999],
  ];
  for (const [failures, r, want] of table) {
    it(`failure ${failures}, random ${r} → ${want} ms`, () => expect(backoffDelayMs(failures, policy, r)).toBe(want));
  }
});

describe('handshake proofs', () => {
  const sn = randomBytes(16);
  const cn = randomBytes(16);
  it('depend on the secret, both nonces, the id and the direction', () => {
    const p = clientProof('s3cret', sn, cn, 'a');
    expect(p.length).toBe(32);
    expect(proofMatches(p, clientProof('s3cret', sn, cn, 'a'))).toBe(true);
    expect(proofMatches(p, clientProof('other', sn, cn, 'a'))).toBe(false);
    expect(proofMatches(p, clientProof('s3cret', cn, sn, 'a'))).toBe(false);
    expect(proofMatches(p, clientProof('s3cret', sn, cn, 'b'))).toBe(false);
    expect(proofMatches(p, serverProof('s3cret', sn, cn, 'a'))).toBe(false);
    expect(proofMatches(p, Buffer.alloc(0))).toBe(false);
  });
});

describe('typed verbs over the in-memory twin', () => {
  const ADD = defineVerb<{ a: number; b: number }, number>({
    name: 'test.add',
    doc: 'adds two numbers (test only)',
    encodeRequest: (r) => [codec.int(r.a), codec.int(r.b)],
    decodeRequest: (a) => {
      codec.arity(a, 2);
      return { a: codec.toInt(a[0]), b: codec.toInt(a[1]) };
    },
    encodeResponse: (n) => [codec.int(n)],
    decodeResponse: (a) => codec.toInt(a[0]),
  });

  it('calls, handles, and carries errors back', async () => {
    const net = new MemoryNetwork();
    const x = net.add({ id: 'x', host: 'x', port: 1 });
    const y = net.add({ id: 'y', host: 'y', port: 1 });
    let seenFrom = '';
    ADD.handle(y, async (from, r) => {
      seenFrom = from.id;
      if (r.a < 0) throw new Error('negative');
      return r.a + r.b;
    });
    expect(await ADD.call(x, { host: 'y', port: 1 }, { a: 2, b: 40 })).toBe(42);
    expect(seenFrom).toBe('x');
    await expect(ADD.call(x, { host: 'y', port: 1 }, { a: -1, b: 0 })).rejects.toThrow(new BusRemoteError(WireCode.handler, 'negative'));
    await expect(x.request({ host: 'y', port: 1 }, 'test.add', [b('1')])).rejects.toMatchObject({ remoteCode: WireCode.badRequest });
    await expect(x.request({ host: 'y', port: 1 }, 'nope', [])).rejects.toMatchObject({ remoteCode: WireCode.unknownVerb });
    await expect(x.request({ host: 'z', port: 1 }, 'ping', [])).rejects.toBeInstanceOf(BusUnreachableError);
    await expect(x.request({ id: 'other', host: 'y', port: 1 }, 'test.add', [])).rejects.toBeInstanceOf(BusUnreachableError);
    await y.close();
    await expect(ADD.call(x, { host: 'y', port: 1 }, { a: 1, b: 1 })).rejects.toBeInstanceOf(BusUnreachableError);
  });

  it('lets a simulation supply the network', async () => {
    const log: string[] = [];
    const nodes = new Map<string, MemoryTransport>();
    const deliver = (from: { id: string }, to: { host: string }, verb: string, args: Buffer[], o: { timeoutMs: number }): Promise<Buffer[]> => {
      log.push(`${from.id}->${to.host} ${verb} ${o.timeoutMs}`);
      const t = nodes.get(to.host);
      return t === undefined ? Promise.reject(new BusTimeoutError(to.host, verb, o.timeoutMs)) : t.serve({ id: from.id, host: '', port: 0 }, verb, args);
    };
    const p = new MemoryTransport({ id: 'p', host: 'p', port: 1 }, deliver, 123);
    const q = new MemoryTransport({ id: 'q', host: 'q', port: 1 }, deliver);
    nodes.set('p', p);
    nodes.set('q', q);
    PING.handle(q, (_f, x) => x);
    expect(await PING.call(p, { host: 'q', port: 1 }, b('hi'))).toEqual(b('hi'));
    await expect(PING.call(p, { host: 'gone', port: 1 }, b('hi'), { timeoutMs: 7 })).rejects.toBeInstanceOf(BusTimeoutError);
    expect(log).toEqual(['p->q ping 123', 'p->gone ping 7']);
  });
});

// ---------------------------------------------------------------------------------------
// PeerClient ↔ BusServer through in-memory sockets

/** One end of an in-memory connection; data arrives at the other end on a later turn. */
class FakeSocket extends EventEmitter implements BusSocket {
  other: FakeSocket | null = null;
  writes = 0;
  writableLength = 0;
  remoteAddress = '10.0.0.1';
  remotePort = 4242;
  closed = false;
  private paused = false;
  private inbox: Buffer[] = [];

  write(data: Buffer): boolean {
    if (this.closed) return false;
    this.writes++;
    const o = this.other;
    const copy = Buffer.from(data);
    if (o !== null) setImmediate(() => o.receive(copy));
    return true;
  }
  receive(data: Buffer): void {
    if (this.closed) return;
    if (this.paused) this.inbox.push(data);
    else this.emit('data', data);
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
    const q = this.inbox;
    this.inbox = [];
    for (const d of q) this.receive(d);
  }
  end(): void {
    // After the writes already queued (setImmediate callbacks run in order).
    setImmediate(() => this.destroy());
  }
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    setImmediate(() => {
      this.emit('close', false);
      this.other?.destroy();
    });
  }
}

function socketPair(): [FakeSocket, FakeSocket] {
  const a = new FakeSocket();
  const s = new FakeSocket();
  a.other = s;
  s.other = a;
  return [a, s];
}

/** A scheduler whose `after` timers fire only when the test says so. */
class TestScheduler implements Scheduler {
  readonly timers: { fn: () => void; live: boolean }[] = [];
  every(): Cancel {
    return { cancel: () => undefined };
  }
  after(_ms: number, fn: () => void): Cancel {
    const t = { fn, live: true };
    this.timers.push(t);
    return { cancel: () => (t.live = false) };
  }
  endOfTurn(fn: () => void): void {
    setImmediate(fn);
  }
  fireAll(): void {
    for (const t of this.timers.splice(0)) if (t.live) t.fn();
  }
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

async function until(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (pred()) return;
    await turn();
  }
  throw new Error(`never happened: ${what}`);
}

function rawRequest(args: string[]): Buffer {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return b(s);
}

interface Rig {
  clock: ManualClock;
  log: CaptureLog;
  sched: TestScheduler;
  server: BusServer;
  client: PeerClient;
  handlers: Map<string, VerbHandler>;
  /** Client ends of the connections made so far. */
  sockets: FakeSocket[];
  /** Make the next connect attempts fail (connection refused). */
  refuse: boolean;
}

function rig(o: { serverSecret?: string; clientSecret?: string; limits?: Partial<PeerLimits>; serverLimits?: Partial<BusServerLimits>; connectNever?: boolean } = {}): Rig {
  const clock = new ManualClock();
  const log = new CaptureLog(clock);
  const sched = new TestScheduler();
  const handlers = new Map<string, VerbHandler>();
  const nowMs = (): number => clock.monoUs() / 1000;
  const server = new BusServer({
    nodeId: 'srv',
    secret: o.serverSecret ?? '',
    limits: { maxInFlight: 1000, maxOutputBytes: 1 << 20, maxBulkLenBytes: 1 << 20, handshakeTimeoutMs: 1000, ...o.serverLimits },
    handlerFor: (v) => handlers.get(v),
    scheduler: sched,
    nowMs,
    nonce: () => randomBytes(16),
    log,
    stats: newBusCounters(),
  });
  const r: Rig = { clock, log, sched, server, client: null as unknown as PeerClient, handlers, sockets: [], refuse: false };
  const connect: BusConnector = () => {
    const [c, s] = socketPair();
    r.sockets.push(c);
    if (o.connectNever === true) return c;
    if (r.refuse) {
      setImmediate(() => {
        c.emit('error', new Error('connect ECONNREFUSED'));
        c.destroy();
      });
      return c;
    }
    server.accept(s);
    setImmediate(() => c.emit('connect'));
    return c;
  };
  r.client = new PeerClient({
    address: { host: 'srv', port: 1 },
    nodeId: 'cli',
    secret: o.clientSecret ?? '',
    limits: {
      requestTimeoutMs: 1000,
      connectTimeoutMs: 1000,
      maxInFlight: 1000,
      maxQueuedBytes: 1 << 20,
      backoff: { baseMs: 100, maxMs: 1000 },
      tickMs: 10,
      ...o.limits,
    },
    connect,
    scheduler: sched,
    nowMs,
    random: () => 0.5,
    nonce: () => randomBytes(16),
    log,
    stats: newBusCounters(),
  });
  handlers.set('echo', (_from, args) => args);
  return r;
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('PeerClient and BusServer', () => {
  it('connects lazily, handshakes, and matches out-of-order replies by id', async () => {
    const r = rig();
    const waits: { resolve: (v: Buffer[]) => void; args: Buffer[] }[] = [];
    let from = '';
    r.handlers.set('later', (f, args) => {
      from = f.id;
      const d = deferred<Buffer[]>();
      waits.push({ resolve: d.resolve, args });
      return d.promise;
    });
    expect(r.client.state).toBe('idle');
    const replies = Array.from({ length: 200 }, (_, i) => r.client.request('later', [b(`req-${i}`), b(String(i))]));
    expect(r.client.state).toBe('connecting');
    await until(() => waits.length === 200, 'all requests at the server');
    expect(from).toBe('cli');
    expect(r.client.remoteNodeId).toBe('srv');
    // Answer in reverse order.
    for (const w of waits.reverse()) w.resolve([w.args[1], w.args[0]]);
    const got = await Promise.all(replies);
    got.forEach((g, i) => expect(g.map((x) => x.toString())).toEqual([String(i), `req-${i}`]));
    expect(r.client.inFlight).toBe(0);
  });

  it('sends the requests of one turn in one write, and the replies of one turn in one write', async () => {
    const r = rig();
    await r.client.request('echo', [b('warm-up')]);
    const c = r.sockets[0];
    const s = c.other as FakeSocket;
    const cw = c.writes;
    const sw = s.writes;
    const all = Array.from({ length: 500 }, (_, i) => r.client.request('echo', [b(String(i))]));
    const got = await Promise.all(all);
    got.forEach((g, i) => expect(g[0].toString()).toBe(String(i)));
    expect(c.writes - cw).toBe(1);
    expect(s.writes - sw).toBe(1);
  });

  it('times requests out by their own deadline and drops late replies', async () => {
    const r = rig();
    const d = deferred<Buffer[]>();
    r.handlers.set('hang', () => d.promise);
    const short = r.client.request('hang', [], 50);
    const long = r.client.request('hang', [], 500);
    let longDone = false;
    long.then(
      () => (longDone = true),
      () => (longDone = true),
    );
    await until(() => r.client.state === 'ready', 'connected');
    r.clock.advance(49);
    r.client.sweep(r.clock.monoUs() / 1000);
    r.clock.advance(11); // one tick late at most
    r.client.sweep(r.clock.monoUs() / 1000);
    await expect(short).rejects.toThrow(BusTimeoutError);
    await expect(short).rejects.toThrow(/'hang' to srv:1 timed out after 50 ms/);
    expect(longDone).toBe(false);
    expect(r.client.opts.stats.timeouts).toBe(1);
    d.resolve([b('late')]);
    await expect(long).resolves.toEqual([b('late')]);
    expect(r.client.opts.stats.lateReplies).toBe(1);
  });

  it('rejects beyond the in-flight bound with BusOverloadedError, and accepts again below it', async () => {
    const r = rig({ limits: { maxInFlight: 3 } });
    const d = deferred<Buffer[]>();
    r.handlers.set('hang', () => d.promise);
    const held = [r.client.request('hang', []), r.client.request('hang', []), r.client.request('hang', [])];
    await expect(r.client.request('echo', [])).rejects.toThrow(BusOverloadedError);
    await expect(r.client.request('echo', [])).rejects.toThrow(/3 requests in flight \(limit 3\)/);
    d.resolve([]);
    await Promise.all(held);
    await expect(r.client.request('echo', [b('x')])).resolves.toEqual([b('x')]);
    expect(r.client.opts.stats.overloaded).toBe(2);
  });

  it('rejects beyond the queued-bytes bound, but lets one big request through an empty queue', async () => {
    const r = rig({ limits: { maxQueuedBytes: 1000 }, connectNever: true });
    const p1 = r.client.request('echo', [Buffer.alloc(700)]);
    await expect(r.client.request('echo', [Buffer.alloc(700)])).rejects.toThrow(BusOverloadedError);
    expect(r.client.queuedBytes).toBeLessThan(1000);
    const r2 = rig({ limits: { maxQueuedBytes: 1000 }, connectNever: true });
    const big = r2.client.request('echo', [Buffer.alloc(5000)]);
    expect(r2.client.queuedBytes).toBeGreaterThan(5000);
    await expect(r2.client.request('echo', [b('x')])).rejects.toThrow(/bytes queued/);
    // The connect timeout fails what was queued.
    r.sched.fireAll();
    r2.sched.fireAll();
    await expect(p1).rejects.toThrow(/not connected within 1000 ms/);
    await expect(big).rejects.toThrow(BusUnreachableError);
    expect(r.client.queuedBytes).toBe(0);
  });

  it('carries handler errors and unknown verbs back as BusRemoteError', async () => {
    const r = rig();
    r.handlers.set('boom', () => {
      throw new Error('kaput');
    });
    r.handlers.set('aboom', async () => {
      throw new Error('async kaput');
    });
    await expect(r.client.request('boom', [])).rejects.toThrow(new BusRemoteError(WireCode.handler, 'kaput'));
    await expect(r.client.request('aboom', [])).rejects.toThrow('async kaput');
    await expect(r.client.request('what', [])).rejects.toMatchObject({ remoteCode: WireCode.unknownVerb });
    await expect(r.client.request('echo', [b('still fine')])).resolves.toEqual([b('still fine')]);
  });

  it('authenticates with a shared secret', async () => {
    const r = rig({ serverSecret: 'k', clientSecret: 'k' });
    await expect(r.client.request('echo', [b('hi')])).resolves.toEqual([b('hi')]);
    expect(r.log.lines.filter((l) => l.startsWith('warning'))).toEqual([]);
  });

  it('refuses and logs a peer with the wrong secret', async () => {
    const r = rig({ serverSecret: 'right', clientSecret: 'wrong' });
    const p = r.client.request('echo', [b('hi')]);
    await expect(p).rejects.toThrow(BusAuthError);
    await expect(p).rejects.toThrow(/NOAUTH wrong cluster-secret/);
    expect(r.log.lines).toContain('warning Refused cluster bus connection from 10.0.0.1:4242 (node cli): wrong cluster-secret');
    expect(r.client.state).toBe('backoff');
    await until(() => r.server.connectionCount === 0, 'refused connection closed');
  });

  it('refuses a peer without a secret when the server has one', async () => {
    const r = rig({ serverSecret: 'right' });
    await expect(r.client.request('echo', [])).rejects.toThrow(BusAuthError);
    expect(r.log.lines).toContain('warning Refused cluster bus connection from 10.0.0.1:4242 (node cli): the peer has no cluster-secret');
  });

  it('does not admit a server without a secret when the client has one', async () => {
    const r = rig({ clientSecret: 'mine' });
    await expect(r.client.request('echo', [])).rejects.toThrow(/has no cluster-secret; refusing an unauthenticated peer/);
    expect(r.log.lines.some((l) => l.startsWith('warning Cluster bus: peer srv:1 not admitted'))).toBe(true);
  });

  it('serves nothing before the handshake, and no inline requests after it', async () => {
    const r = rig({ serverSecret: 's' });
    const [c, s] = socketPair();
    const got: Buffer[] = [];
    c.on('data', (d: Buffer) => got.push(d));
    r.server.accept(s);
    c.write(rawRequest(['echo', '1', 'x']));
    await until(() => c.closed, 'closed');
    expect(Buffer.concat(got).toString()).toContain('NOAUTH');
    expect(r.log.lines.some((l) => l.includes("Refused cluster bus connection from 10.0.0.1:4242: 'echo' before the handshake completed"))).toBe(true);

    const r2 = rig();
    const [c2, s2] = socketPair();
    const got2: Buffer[] = [];
    c2.on('data', (d: Buffer) => got2.push(d));
    r2.server.accept(s2);
    c2.write(rawRequest(['hello', '1', 'raw', 'x'.repeat(16), '1']));
    c2.write(rawRequest(['echo', '2', 'fine']));
    c2.write(b('echo 3 inline\r\n'));
    await until(() => c2.closed, 'closed');
    const text = Buffer.concat(got2).toString('latin1');
    expect(text).toContain('$1\r\n2\r\n$2\r\nok\r\n$4\r\nfine\r\n');
    expect(text).toContain("-ERR Protocol error: expected '*', got 'e'");
    expect(text).not.toContain('inline');
  });

  it('closes a connection that does not finish the handshake in time', async () => {
    const r = rig({ serverSecret: 's' });
    const [c, s] = socketPair();
    r.server.accept(s);
    expect(r.server.connectionCount).toBe(1);
    r.sched.fireAll();
    await until(() => c.closed, 'closed');
    expect(r.server.connectionCount).toBe(0);
  });

  it('fails in-flight requests on disconnect, reconnects, and backs off when connects fail', async () => {
    const r = rig();
    const d = deferred<Buffer[]>();
    r.handlers.set('hang', () => d.promise);
    const held = Array.from({ length: 10 }, () => r.client.request('hang', []));
    await until(() => r.client.state === 'ready', 'connected');
    r.sockets[0].other?.destroy(); // the server side drops the connection
    for (const p of held) await expect(p).rejects.toThrow(/connection lost/);
    expect(r.client.state).toBe('idle');
    // It had been working: the next request reconnects at once.
    await expect(r.client.request('echo', [b('again')])).resolves.toEqual([b('again')]);
    expect(r.sockets.length).toBe(2);

    r.refuse = true;
    r.sockets[1].other?.destroy();
    await until(() => r.client.state === 'idle', 'dropped');
    await expect(r.client.request('echo', [])).rejects.toThrow(/ECONNREFUSED/);
    expect(r.client.state).toBe('backoff');
    // In backoff (first delay 50..100 ms; random 0.5 → 75 ms) requests fail fast, no connect.
    await expect(r.client.request('echo', [])).rejects.toThrow(/next attempt in 75 ms/);
    expect(r.sockets.length).toBe(3);
    r.clock.advance(75);
    r.refuse = false;
    await expect(r.client.request('echo', [b('back')])).resolves.toEqual([b('back')]);
    expect(r.sockets.length).toBe(4);
  });

  it('stops reading from a peer beyond the in-flight bound and catches up after', async () => {
    const r = rig({ serverLimits: { maxInFlight: 5 } });
    const ds: ((v: Buffer[]) => void)[] = [];
    r.handlers.set('hang', () => {
      const d = deferred<Buffer[]>();
      ds.push(d.resolve);
      return d.promise;
    });
    const all = Array.from({ length: 50 }, (_, i) => r.client.request('hang', [b(String(i))]));
    await until(() => ds.length === 5, 'five handlers running');
    for (let i = 0; i < 10; i++) await turn();
    expect(ds.length).toBe(5); // reading paused
    let answered = 0;
    while (answered < 50) {
      await until(() => ds.length > answered, 'next handler');
      ds[answered++]([b(String(answered))]);
    }
    const got = await Promise.all(all);
    expect(got.length).toBe(50);
  });

  it('stops reading from a peer that does not read its replies, until they drain', async () => {
    const r = rig({ serverLimits: { maxOutputBytes: 100 } });
    await r.client.request('echo', [b('warm-up')]);
    const s = r.sockets[0].other as FakeSocket;
    let served = 0;
    r.handlers.set('count', () => {
      served++;
      return [];
    });
    s.writableLength = 1000; // the kernel holds unread replies
    const all = Array.from({ length: 20 }, () => r.client.request('count', []));
    for (let i = 0; i < 10; i++) await turn();
    expect(served).toBe(0);
    s.writableLength = 0;
    s.emit('drain');
    await Promise.all(all);
    expect(served).toBe(20);
  });

  it('refuses everything once closed', async () => {
    const r = rig();
    const d = deferred<Buffer[]>();
    r.handlers.set('hang', () => d.promise);
    const p = r.client.request('hang', []);
    await until(() => r.client.state === 'ready', 'connected');
    r.client.close();
    await expect(p).rejects.toThrow(/the bus is closed/);
    await expect(r.client.request('echo', [])).rejects.toThrow(BusUnreachableError);
  });
});
