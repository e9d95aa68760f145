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
import { backoffDelayMs, DeadlineQueues } from '../../src/bus/deadlines';
import {
  BusAuthError,
  BusCodecError,
  BusOverloadedError,
  BusRemoteError,
  BusTimeoutError,
  BusUnreachableError,
  WireCode,
} from '../../src/bus/errors';
import { FRAME_HEADER_BYTES, FRAME_MAGIC, FRAME_SOFT_MAX_BYTES, FrameReader, FrameWriter } from '../../src/bus/frame';
import { MemoryNetwork, MemoryTransport } from '../../src/bus/memory-transport';
import { PeerClient, type PeerLimits } from '../../src/bus/peer';
import { BusServer, type BusServerLimits } from '../../src/bus/server';
import type { BusConnector, BusSocket } from '../../src/bus/socket';
import { newBusCounters } from '../../src/bus/stats';
import type { VerbHandler } from '../../src/bus/transport';
import { codec, defineVerb, parseDecimal, verbTable, type CodecHandler } from '../../src/bus/verb';
import { AUTH, BUS_PROTOCOL_VERSION, BUS_VERBS, HELLO, PING, VERB_BY_NAME } from '../../src/bus/verbs';

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

describe('frames', () => {
  /** A deterministic generator, so a failing split is replayable. */
  function lcg(seed: number): () => number {
    let x = seed >>> 0;
    return () => {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      return x / 0x100000000;
    };
  }

  function requests(data: Buffer, cut: (len: number) => number[]): { id: number; verb: string; args: string[] }[] {
    const r = new FrameReader('request', { maxFrameBytes: 1 << 30, maxArgBytes: 1 << 30 });
    const out: { id: number; verb: string; args: string[] }[] = [];
    let at = 0;
    for (const n of cut(data.length)) {
      r.feed(data.subarray(at, at + n));
      at += n;
      while (r.next()) out.push({ id: r.id, verb: r.verb, args: r.args.map((a) => a.toString('latin1')) });
    }
    expect(at).toBe(data.length);
    expect(r.error).toBe(null);
    expect(r.pendingBytes).toBe(0);
    return out;
  }

  const sample = (): { id: number; verb: string; args: string[] }[] => [
    { id: 1, verb: 'replicate', args: ['0', 'key:1', 'x'.repeat(100)] },
    { id: 2, verb: 'digest', args: ['0', ''] },
    { id: 0xffffffff, verb: 'ping', args: [] },
    { id: 7, verb: 'forward', args: ['\r\n*3\r\n', String.fromCharCode(0, 177, 255)] },
  ];
  const encode = (msgs: { id: number; verb: string; args: string[] }[]): Buffer =>
    frameOf((w) => {
      for (const m of msgs) w.request(m.id, m.verb, m.args.map((a) => Buffer.from(a, 'latin1')));
    });

  it('puts the messages written between two takes in one frame', () => {
    const data = encode(sample());
    expect(data[0]).toBe(FRAME_MAGIC);
    expect(data.readUInt32LE(1)).toBe(data.length - FRAME_HEADER_BYTES);
    expect(data.readUInt32LE(5)).toBe(4);
    const w = new FrameWriter();
    w.request(1, 'ping', []);
    w.request(2, 'ping', []);
    const t = w.take();
    expect(t.frames).toBe(1);
    expect(w.length).toBe(0);
    expect(w.take()).toEqual({ data: Buffer.alloc(0), frames: 0 });
  });

  it('parses a batch fed whole, byte by byte, and split at every seeded place', () => {
    const msgs = [...sample(), ...sample().map((m) => ({ ...m, id: (m.id + 100) % 0x100000000 }))];
    const data = Buffer.concat([encode(msgs.slice(0, 4)), encode(msgs.slice(4))]);
    expect(requests(data, (n) => [n])).toEqual(msgs);
    expect(requests(data, (n) => Array.from({ length: n }, () => 1))).toEqual(msgs);
    for (let seed = 1; seed <= 50; seed++) {
      const rnd = lcg(seed);
      const cuts = (n: number): number[] => {
        const out: number[] = [];
        for (let left = n; left > 0; ) {
          const k = Math.min(left, 1 + Math.floor(rnd() * 40));
          out.push(k);
          left -= k;
        }
        return out;
      };
      expect(requests(data, cuts), `seed ${seed}`).toEqual(msgs);
    }
  });

  it('assembles a big frame split across reads, and closes frames at the soft maximum', () => {
    const big = 'v'.repeat(FRAME_SOFT_MAX_BYTES + 10);
    const msgs = [
      { id: 1, verb: 'replicate', args: ['0', 'k', big] },
      { id: 2, verb: 'replicate', args: ['0', 'k2', 'small'] },
      { id: 3, verb: 'read', args: ['0', 'k3'] },
    ];
    const w = new FrameWriter();
    for (const m of msgs) w.request(m.id, m.verb, m.args.map((a) => b(a)));
    const { data, frames } = w.take();
    expect(frames).toBe(2); // the first message filled a frame; the others share the next
    for (const size of [1000, 65536, 100_000, data.length]) {
      const cuts = (n: number): number[] => Array.from({ length: Math.ceil(n / size) }, (_, i) => Math.min(size, n - i * size));
      expect(requests(data, cuts), `chunks of ${size}`).toEqual(msgs);
    }
  });

  it('can stop between two messages of a frame and go on after more bytes came', () => {
    const msgs = sample();
    const data = Buffer.concat([encode(msgs.slice(0, 2)), encode(msgs.slice(2))]);
    const r = new FrameReader('request', { maxFrameBytes: 1 << 20, maxArgBytes: 1 << 20 });
    const cut = FRAME_HEADER_BYTES + data.readUInt32LE(1) + 5; // the first frame and a bit of the second
    r.feed(data.subarray(0, cut));
    expect(r.next()).toBe(true);
    expect(r.id).toBe(1);
    r.feed(data.subarray(cut)); // arrives while a message of the first frame is still unread
    const ids: number[] = [];
    while (r.next()) ids.push(r.id);
    expect(ids).toEqual([2, 0xffffffff, 7]);
    expect(r.error).toBe(null);
  });

  it('round-trips replies, ok and err', () => {
    const w = new FrameWriter();
    w.reply(5, true, [b('a'), Buffer.alloc(0)]);
    w.replyError(3, 'BADREQ', 'bad ä');
    w.reply(4, true, []);
    expect(replies(w.take().data)).toEqual([
      { id: 5, ok: true, args: ['a', ''] },
      { id: 3, ok: false, args: ['BADREQ', 'bad ä'] },
      { id: 4, ok: true, args: [] },
    ]);
  });

  it('refuses malformed frames and then stays dead', () => {
    const good = encode(sample());
    const cases: [string, (d: Buffer) => Buffer, RegExp][] = [
      ['wrong magic', (d) => Buffer.concat([b('*'), d.subarray(1)]), /expected a frame \(0xb1\), got 0x2a/],
      ['frame beyond the limit', (d) => (d.writeUInt32LE(2000, 1), d), /frame of 2000 bytes \(limit 1000\)/],
      ['a count that cannot fit', (d) => (d.writeUInt32LE(1000, 5), d), /cannot hold 1000 messages/],
      ['fewer messages than the body holds', (d) => (d.writeUInt32LE(3, 5), d), /frame length does not match its messages/],
      ['an argument running past the frame', (d) => (d.writeUInt32LE(999, FRAME_HEADER_BYTES + 4 + 1 + 9 + 4), d), /truncated argument/],
    ];
    for (const [what, mangle, err] of cases) {
      const r = new FrameReader('request', { maxFrameBytes: 1000, maxArgBytes: 1000 });
      r.feed(mangle(Buffer.from(good)));
      while (r.next());
      expect(r.error, what).toMatch(err);
      r.feed(good);
      expect(r.next(), what).toBe(false);
    }
    const r = new FrameReader('request', { maxFrameBytes: 1000, maxArgBytes: 50 });
    r.feed(good);
    while (r.next());
    expect(r.error).toMatch(/argument of 100 bytes \(limit 50\)/);
    const rr = new FrameReader('reply', { maxFrameBytes: 1000, maxArgBytes: 1000 });
    const bad = frameOf((w) => w.reply(1, true, []));
    bad[FRAME_HEADER_BYTES + 4] = 9;
    rr.feed(bad);
    expect(rr.next()).toBe(false);
    expect(rr.error).toMatch(/bad reply status 9/);
  });
});

describe('DeadlineQueues', () => {
  interface Item {
    name: string;
    deadlineMs: number;
    done: boolean;
  }
  const item = (name: string, deadlineMs: number): Item => ({ name, deadlineMs, done: false });

  it('expires items at their deadline, not before, per timeout, and forgets settled ones', () => {
    const q = new DeadlineQueues<Item>();
    const a = item('a', 1050);
    const b = item('b', 1060);
    const c = item('c', 1500);
    const d = item('d', 1070);
    q.add(a, 50);
    q.add(b, 50);
    q.add(c, 500);
    q.add(d, 50);
    expect(q.size).toBe(4);
    q.settle(b, 50);
    q.settle(b, 50); // twice is once
    expect(q.size).toBe(3);
    expect(q.expire(1049)).toEqual([]);
    expect(q.expire(1050).map((x) => x.name)).toEqual(['a']);
    expect(q.expire(1100).map((x) => x.name)).toEqual(['d']);
    expect(q.size).toBe(1);
    q.settle(a, 50); // already expired: no effect
    expect(q.size).toBe(1);
    expect(q.expire(1499)).toEqual([]);
    expect(q.expire(5000).map((x) => x.name)).toEqual(['c']);
    expect(q.size).toBe(0);
    expect(q.expire(9000)).toEqual([]);
  });

  it('keeps a queue behind a slow head bounded, and clears', () => {
    const q = new DeadlineQueues<Item>();
    const slow = item('slow', 10_000);
    q.add(slow, 10_000);
    const rest: Item[] = [];
    for (let i = 0; i < 100_000; i++) {
      const x = item(`r${i}`, 10_000 + i);
      q.add(x, 10_000);
      rest.push(x);
      if (i >= 10) q.settle(rest[i - 10], 10_000); // ten in flight behind the slow one
    }
    expect(q.size).toBe(11);
    const held = (q as unknown as { queues: Map<number, { items: unknown[]; head: number }> }).queues.get(10_000);
    expect(held !== undefined && held.items.length - held.head).toBeLessThan(3000);
    expect(q.expire(10_000).map((x) => x.name)).toEqual(['slow']);
    expect(q.clear().map((x) => x.name)).toEqual(rest.slice(-10).map((x) => x.name));
    expect(q.size).toBe(0);
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

  /** When set, each write reaches the other end in pieces of this many bytes (one per turn). */
  splitAt = 0;

  write(data: Buffer): boolean {
    if (this.closed) return false;
    this.writes++;
    const o = this.other;
    const copy = Buffer.from(data);
    if (o === null) return true;
    const step = this.splitAt > 0 ? this.splitAt : copy.length;
    for (let at = 0; at < copy.length; at += step) {
      const piece = copy.subarray(at, at + step);
      setImmediate(() => o.receive(piece));
    }
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

/** Frames written by `fill` into a FrameWriter. */
function frameOf(fill: (w: FrameWriter) => void): Buffer {
  const w = new FrameWriter(64);
  fill(w);
  return w.take().data;
}

/** Every reply in `data` (whole frames), with text arguments. */
function replies(data: Buffer): { id: number; ok: boolean; args: string[] }[] {
  const r = new FrameReader('reply', { maxFrameBytes: 1 << 30, maxArgBytes: 1 << 30 });
  r.feed(data);
  const out: { id: number; ok: boolean; args: string[] }[] = [];
  while (r.next()) out.push({ id: r.id, ok: r.ok, args: r.args.map((a) => a.toString()) });
  expect(r.error).toBe(null);
  expect(r.pendingBytes).toBe(0);
  return out;
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
  handlers: Map<string, VerbHandler | CodecHandler>;
  /** Client ends of the connections made so far. */
  sockets: FakeSocket[];
  /** Make the next connect attempts fail (connection refused). */
  refuse: boolean;
}

function rig(o: { serverSecret?: string; clientSecret?: string; limits?: Partial<PeerLimits>; serverLimits?: Partial<BusServerLimits>; connectNever?: boolean } = {}): Rig {
  const clock = new ManualClock();
  const log = new CaptureLog(clock);
  const sched = new TestScheduler();
  const handlers = new Map<string, VerbHandler | CodecHandler>();
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

    // The handshake is RESP, and an inline command is refused there too.
    const r1 = rig();
    const [c1, s1] = socketPair();
    const got1: Buffer[] = [];
    c1.on('data', (d: Buffer) => got1.push(d));
    r1.server.accept(s1);
    c1.write(b('hello 1 inline\r\n'));
    await until(() => c1.closed, 'closed');
    expect(Buffer.concat(got1).toString('latin1')).toBe("-ERR Protocol error: expected '*', got 'h'\r\n");

    // After it, frames are served; RESP (or anything else) is a protocol error.
    const r2 = rig();
    const [c2, s2] = socketPair();
    const got2: Buffer[] = [];
    c2.on('data', (d: Buffer) => got2.push(d));
    r2.server.accept(s2);
    c2.write(rawRequest(['hello', '1', 'raw', 'x'.repeat(16), String(BUS_PROTOCOL_VERSION)]));
    await until(() => got2.length === 1, 'hello answered');
    c2.write(frameOf((w) => w.request(2, 'echo', [b('fine')])));
    await until(() => got2.length === 2, 'echo answered');
    expect(replies(got2[1])).toEqual([{ id: 2, ok: true, args: ['fine'] }]);
    c2.write(rawRequest(['echo', '3', 'resp']));
    await until(() => c2.closed, 'closed');
    expect(replies(Buffer.concat(got2.slice(2)))).toEqual([{ id: 0, ok: false, args: ['PROTO', 'Protocol error: expected a frame (0xb1), got 0x2a'] }]);
    expect(r2.log.lines.some((l) => l.startsWith('warning Cluster bus: Protocol error: expected a frame'))).toBe(true);
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

  it('answers each request of a batch on its own: one failing does not fail the others', async () => {
    const r = rig();
    r.handlers.set('maybe', (_from, args) => {
      if (args[0].toString() === 'bad') throw new Error('refused this one');
      return [args[0]];
    });
    r.handlers.set('amaybe', async (_from, args) => {
      if (args[0].toString() === 'bad') throw new BusRemoteError('CUSTOM', 'async refusal');
      return [args[0]];
    });
    await r.client.request('echo', []);
    const s = r.sockets[0].other as FakeSocket;
    const sw = s.writes;
    const names = ['a', 'bad', 'c', 'bad', 'e'];
    const sync = names.map((n) => r.client.request('maybe', [b(n)]));
    const async = names.map((n) => r.client.request('amaybe', [b(n)]));
    const unknown = r.client.request('nosuch', []);
    const settled = await Promise.allSettled([...sync, ...async, unknown]);
    const view = settled.map((x) => (x.status === 'fulfilled' ? x.value[0].toString() : `${(x.reason as BusRemoteError).remoteCode}: ${(x.reason as Error).message}`));
    expect(view).toEqual([
      'a', 'ERR: refused this one', 'c', 'ERR: refused this one', 'e',
      'a', 'CUSTOM: async refusal', 'c', 'CUSTOM: async refusal', 'e',
      "UNKNOWN: unknown bus verb 'nosuch'",
    ]);
    // The sync replies went out with the read that brought them, the async ones a turn later.
    expect(s.writes - sw).toBe(2);
    expect(r.client.opts.stats.repliesOk).toBe(1 + 6);
    expect(r.client.opts.stats.repliesErr).toBe(5);
  });

  it('matches replies that come back in any order, inside one frame and across frames', async () => {
    const r = rig();
    const waits: { resolve: (v: Buffer[]) => void; arg: Buffer }[] = [];
    r.handlers.set('later', (_f, args) => {
      const d = deferred<Buffer[]>();
      waits.push({ resolve: d.resolve, arg: args[0] });
      return d.promise;
    });
    const all = Array.from({ length: 300 }, (_, i) => r.client.request('later', [b(String(i))]));
    await until(() => waits.length === 300, 'all at the server');
    const s = r.sockets[0].other as FakeSocket;
    const sw = s.writes;
    // Shuffle (seeded), then answer in three turns.
    let x = 12345;
    const order = waits.map((w) => ({ w, k: (x = (Math.imul(x, 1103515245) + 12345) >>> 0) }));
    order.sort((p, q) => p.k - q.k);
    for (let part = 0; part < 3; part++) {
      for (const { w } of order.slice(part * 100, part * 100 + 100)) w.resolve([w.arg]);
      await turn();
      await turn();
    }
    const got = await Promise.all(all);
    got.forEach((g, i) => expect(g[0].toString()).toBe(String(i)));
    expect(s.writes - sw).toBe(3);
    expect(r.client.opts.stats.framesReceived).toBe(3);
  });

  it('reassembles request and reply frames that the network splits into pieces', async () => {
    const r = rig();
    await r.client.request('echo', []);
    const c = r.sockets[0];
    const s = c.other as FakeSocket;
    c.splitAt = 7;
    s.splitAt = 5;
    const payloads = Array.from({ length: 50 }, (_, i) => Buffer.alloc(i * 37, i));
    const got = await Promise.all(payloads.map((p) => r.client.request('echo', [p, b('tail')])));
    got.forEach((g, i) => expect(g).toEqual([payloads[i], b('tail')]));
    // And a frame far bigger than one read.
    const big = Buffer.alloc(300_000, 7);
    c.splitAt = 65536;
    s.splitAt = 1000;
    await expect(r.client.request('echo', [big])).resolves.toEqual([big]);
  });

  it('decodes typed replies before the promise settles; a reply that does not decode fails its call only', async () => {
    const r = rig();
    r.handlers.set('num', { run: (_f, args) => Number(args[0].toString()) * 2, encode: (n) => [b(String(n))] });
    r.handlers.set('anum', { run: async (_f, args) => Number(args[0].toString()) * 3, encode: (n) => [b(String(n))] });
    r.handlers.set('badenc', { run: () => 1, encode: () => { throw new BusCodecError('cannot encode'); } });
    const toNum = (a: Buffer[]): number => {
      const v = Number(a[0].toString());
      if (v === 6) throw new BusCodecError('six is not allowed');
      return v;
    };
    const calls = [r.client.requestDecoded('num', [b('2')], toNum), r.client.requestDecoded('num', [b('3')], toNum), r.client.requestDecoded('anum', [b('5')], toNum)];
    const settled = await Promise.allSettled(calls);
    expect(settled.map((x) => (x.status === 'fulfilled' ? x.value : (x.reason as Error).message))).toEqual([4, 'six is not allowed', 15]);
    await expect(r.client.request('badenc', [])).rejects.toMatchObject({ remoteCode: WireCode.badRequest, message: 'cannot encode' });
    expect(r.client.state).toBe('ready');
  });

  it('closes on a malformed frame, and the client learns why', async () => {
    const r = rig();
    await r.client.request('echo', []);
    const d = deferred<Buffer[]>();
    r.handlers.set('hang', () => d.promise);
    const held = r.client.request('hang', []);
    await turn();
    await turn();
    const c = r.sockets[0];
    c.write(Buffer.from([FRAME_MAGIC, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]));
    await expect(held).rejects.toThrow(/connection lost: the peer closed the connection: Protocol error: frame of 2147483647 bytes \(limit \d+\)/);
    expect(r.log.lines.some((l) => /^warning Cluster bus: Protocol error: frame of 2147483647 bytes .* from 10\.0\.0\.1:4242 \(node cli\); closing the connection$/.test(l))).toBe(true);
    // The next request reconnects.
    await expect(r.client.request('echo', [b('again')])).resolves.toEqual([b('again')]);
  });

  it('refuses frames sent before the handshake finished', async () => {
    const r = rig();
    const [c, s] = socketPair();
    const got: Buffer[] = [];
    c.on('data', (d: Buffer) => got.push(d));
    r.server.accept(s);
    c.write(Buffer.concat([rawRequest(['hello', '1', 'raw', 'x'.repeat(16), String(BUS_PROTOCOL_VERSION)]), frameOf((w) => w.request(2, 'echo', [b('early')]))]));
    await until(() => c.closed, 'closed');
    expect(Buffer.concat(got).toString('latin1')).not.toContain('early');
    expect(r.log.lines.some((l) => l.includes('data sent before the handshake completed'))).toBe(true);
  });

  it('refuses a verb name that cannot travel, without touching the connection', async () => {
    const r = rig();
    await expect(r.client.request('', [])).rejects.toBeInstanceOf(BusCodecError);
    await expect(r.client.request('ech\u00f6', [])).rejects.toThrow(/bad bus verb name/);
    await expect(r.client.request('a b', [])).rejects.toThrow(/bad bus verb name/);
    await expect(r.client.request('echo', [b('fine')])).resolves.toEqual([b('fine')]);
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
