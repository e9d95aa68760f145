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
import { MessageReader, MessageWriter, requestBytes } from '../../src/bus/messages';
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
    expect(() => AUTH.decodeResponse([randomBytes(31)])).toThrow(BusCodecError);
    // A client's proof may be a plain secret (an operator's redis-cli), up to 1024 bytes.
    expect(AUTH.decodeRequest([b('sesame')])).toEqual({ proof: b('sesame') });
    expect(() => AUTH.decodeRequest([randomBytes(1025)])).toThrow(/at most 1024 bytes/);
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

describe('messages (RESP after the handshake)', () => {
  /** A deterministic generator, so a failing split is replayable. */
  function lcg(seed: number): () => number {
    let x = seed >>> 0;
    return () => {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      return x / 0x100000000;
    };
  }

  type Req = { id: number; verb: string; args: string[] };
  const unbounded = { maxMessageBytes: 1 << 30, maxArgBytes: 1 << 30, maxArgs: 1 << 30 };

  function requests(data: Buffer, cut: (len: number) => number[], limits = unbounded): Req[] {
    const r = new MessageReader('request', limits);
    const out: Req[] = [];
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

  const whole = (n: number): number[] => [n];
  const bytes = (n: number): number[] => Array.from({ length: n }, () => 1);
  const sample = (): Req[] => [
    { id: 1, verb: 'replicate', args: ['0', 'key:1', 'x'.repeat(100)] },
    { id: 2, verb: 'digest', args: ['0', ''] },
    { id: 0xffffffff, verb: 'ping', args: [] },
    // RESP inside a payload: a bulk is binary-safe, its length is what counts.
    { id: 7, verb: 'forward', args: ['\r\n*3\r\n$1\r\n', String.fromCharCode(0, 177, 255, 13, 10), '$-1\r\n'] },
    { id: 1234567890, verb: 'ae.push', args: ['\r', '\n', 'y'.repeat(12)] },
  ];
  const encode = (msgs: Req[]): Buffer =>
    batchOf((w) => {
      for (const m of msgs) w.request(m.id, m.verb, m.args.map((a) => Buffer.from(a, 'latin1')));
    });

  it('writes a request and a reply as RESP arrays of bulk strings, a batch as their concatenation', () => {
    const w = new MessageWriter(16);
    w.request(42, 'ping', [b('hi')]);
    w.reply(42, true, [b('hi')]);
    w.replyError(9, 'BADREQ', 'bad ä');
    expect(w.messages).toBe(3);
    const data = w.take();
    expect(data.toString('utf8')).toBe(
      '*3\r\n$4\r\nping\r\n$2\r\n42\r\n$2\r\nhi\r\n' + '*3\r\n$2\r\n42\r\n$2\r\nok\r\n$2\r\nhi\r\n' + '*4\r\n$1\r\n9\r\n$3\r\nerr\r\n$6\r\nBADREQ\r\n$6\r\nbad ä\r\n',
    );
    expect(w.length).toBe(0);
    expect(w.messages).toBe(0);
    expect(w.take()).toEqual(Buffer.alloc(0));
    // Lengths and ids of every width; the size bound the peer client checks holds.
    for (const n of [0, 9, 10, 99, 100, 999, 1000, 65535, 100_000]) {
      const arg = Buffer.alloc(n, 1);
      for (const id of [0, 9, 10, 99, 100, 65536, 2147483647, 2147483648, 0xffffffff]) {
        w.request(id, 'replicate', [arg, arg]);
        const req = w.take();
        expect(req.length).toBeLessThanOrEqual(requestBytes('replicate', [arg, arg]));
        expect(req.subarray(0, 30).toString('latin1')).toBe(`*4\r\n$9\r\nreplicate\r\n$${String(id).length}\r\n${id}\r\n$${n}\r\n`.slice(0, 30));
        expect(requests(req, whole)).toEqual([{ id, verb: 'replicate', args: [arg.toString('latin1'), arg.toString('latin1')] }]);
      }
    }
  });

  it('parses a batch fed whole, byte by byte, split at every byte boundary and at seeded places', () => {
    const msgs = [...sample(), ...sample().map((m) => ({ ...m, id: (m.id + 100) % 0x100000000 }))];
    const data = encode(msgs);
    expect(requests(data, whole)).toEqual(msgs);
    expect(requests(data, bytes)).toEqual(msgs);
    for (let cut = 1; cut < data.length; cut++) {
      expect(requests(data, (n) => [cut, n - cut]), `cut at ${cut}`).toEqual(msgs);
    }
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

  it('parses a batch of many messages that came in one read', () => {
    const msgs: Req[] = Array.from({ length: 5000 }, (_, i) => ({ id: i + 1, verb: i % 3 === 0 ? 'gossip' : 'replicate', args: ['0', `k${i}`, 'v'.repeat(i % 50)] }));
    expect(requests(encode(msgs), whole)).toEqual(msgs);
  });

  it('assembles a big bulk split across reads, once, between small messages', () => {
    const big = 'v'.repeat(300_000);
    const msgs: Req[] = [
      { id: 1, verb: 'replicate', args: ['0', 'k', big, 'after'] },
      { id: 2, verb: 'replicate', args: ['0', 'k2', 'small'] },
      { id: 3, verb: 'read', args: ['0', 'k3'] },
    ];
    const data = encode(msgs);
    for (const size of [1, 1000, 65536, 100_000, data.length]) {
      if (size === 1) {
        // Byte by byte only around the big bulk's header and trailer (300k reads are slow).
        const head = data.indexOf('$300000\r\n') + 9;
        expect(requests(data, (n) => [...bytes(head), 300_000 - 10, ...bytes(n - head - 300_000 + 10)])).toEqual(msgs);
        continue;
      }
      const cuts = (n: number): number[] => Array.from({ length: Math.ceil(n / size) }, (_, i) => Math.min(size, n - i * size));
      expect(requests(data, cuts), `chunks of ${size}`).toEqual(msgs);
    }
  });

  it('can stop between two messages and go on after more bytes came', () => {
    const msgs = sample();
    const data = encode(msgs);
    const r = new MessageReader('request', unbounded);
    const cut = encode(msgs.slice(0, 2)).length + 5; // two messages and a bit of the third
    r.feed(data.subarray(0, cut));
    expect(r.next()).toBe(true);
    expect(r.id).toBe(1);
    r.feed(data.subarray(cut)); // arrives while a whole message is still unread
    const ids: number[] = [];
    while (r.next()) ids.push(r.id);
    expect(ids).toEqual([2, 0xffffffff, 7, 1234567890]);
    expect(r.error).toBe(null);
  });

  it('recognises a run of requests that start alike, and still checks what follows', () => {
    // Same verb, other counts; same count, other verbs; a verb that is a prefix of another.
    const msgs: Req[] = [
      { id: 1, verb: 'ping', args: ['a'] },
      { id: 2, verb: 'ping', args: ['b'] },
      { id: 3, verb: 'ping', args: ['b', 'c'] },
      { id: 4, verb: 'pin', args: ['d'] },
      { id: 5, verb: 'pings', args: ['e'] },
      { id: 6, verb: 'ping', args: [] },
      { id: 7, verb: 'key.summary', args: ['0', 'k'] },
      { id: 8, verb: 'key.summary', args: ['0', 'k'] },
    ];
    for (const cut of [whole, bytes]) expect(requests(encode(msgs), cut)).toEqual(msgs);
    const r = new MessageReader('request', unbounded);
    r.feed(Buffer.concat([encode(msgs.slice(0, 2)), b('*3\r\n$4\r\nping\r\n$2\r\n07\r\n$1\r\nx\r\n')]));
    expect([r.next(), r.next(), r.next()]).toEqual([true, true, false]);
    expect(r.error).toMatch(/bad request id '07'/);
  });

  it('takes verbs case-insensitively, as Redis takes commands', () => {
    const data = Buffer.concat([rawRequest(['PING', '1', 'a']), rawRequest(['Ping', '2']), rawRequest(['ping', '3'])]);
    for (const cut of [whole, bytes]) expect(requests(data, cut).map((m) => m.verb)).toEqual(['ping', 'ping', 'ping']);
  });

  it('round-trips replies, ok and err', () => {
    const w = new MessageWriter();
    w.reply(5, true, [b('a'), Buffer.alloc(0)]);
    w.replyError(3, 'BADREQ', 'bad ä');
    w.reply(4, true, []);
    w.reply(0xffffffff, true, [b('\r\n')]);
    const want = [
      { id: 5, ok: true, args: ['a', ''] },
      { id: 3, ok: false, args: ['BADREQ', 'bad ä'] },
      { id: 4, ok: true, args: [] },
      { id: 0xffffffff, ok: true, args: ['\r\n'] },
    ];
    const data = w.take();
    expect(replies(data)).toEqual(want);
    const r = new MessageReader('reply', unbounded);
    const got: unknown[] = [];
    for (let i = 0; i < data.length; i++) {
      r.feed(data.subarray(i, i + 1));
      while (r.next()) got.push({ id: r.id, ok: r.ok, args: r.args.map((a) => a.toString()) });
    }
    expect(got).toEqual(want);
  });

  it('refuses malformed input, fed whole or byte by byte, and then stays dead', () => {
    const limits = { maxMessageBytes: 1000, maxArgBytes: 200, maxArgs: 20 };
    const cases: [string, string | Buffer, RegExp][] = [
      ['an inline command', 'PING 1 x\r\n', /expected '\*', got 'P'/],
      ['a bulk first', '$4\r\nping\r\n', /expected '\*', got '\$'/],
      ['a binary frame', Buffer.from([0xb1, 1, 0, 0, 0]), /expected '\*', got 0xb1/],
      ['a negative multibulk', '*-1\r\n', /invalid multibulk length/],
      ['an empty multibulk', '*0\r\n', /invalid multibulk length: a bus request is \[verb, request id, \.\.\.args\]/],
      ['no request id', '*1\r\n$4\r\nping\r\n', /invalid multibulk length/],
      ['a count that is not a number', '*x\r\n', /invalid multibulk length/],
      ['a count beyond the limit', '*21\r\n', /21 elements in a message \(limit 20\)/],
      ['a negative bulk length', '*2\r\n$-1\r\n', /invalid bulk length/],
      ['a bulk length of 20 digits', '*2\r\n$99999999999999999999\r\n', /invalid bulk length/],
      ['a bulk beyond the limit', '*2\r\n$201\r\n', /argument of 201 bytes \(limit 200\)/],
      ['a huge bulk length', '*2\r\n$999999999999999\r\n', /argument of 999999999999999 bytes/],
      ['an integer element', '*2\r\n:1\r\n', /expected '\$', got ':'/],
      ['no CRLF after a bulk', '*2\r\n$4\r\npingXX$1\r\n1\r\n', /expected CRLF after a bulk/],
      ['an empty verb', '*2\r\n$0\r\n\r\n$1\r\n1\r\n', /bad verb name/],
      ['a request id that is not a number', '*2\r\n$4\r\nping\r\n$3\r\nabc\r\n', /bad request id 'abc'/],
      ['a negative request id', '*2\r\n$4\r\nping\r\n$2\r\n-1\r\n', /bad request id '-1'/],
      ['a request id with a leading zero', '*2\r\n$4\r\nping\r\n$2\r\n01\r\n', /bad request id '01'/],
      ['a request id beyond 32 bits', '*2\r\n$4\r\nping\r\n$10\r\n4294967296\r\n', /bad request id '4294967296'/],
      ['a message beyond the limit', `*7\r\n$4\r\nping\r\n$1\r\n1\r\n${`$200\r\n${'x'.repeat(200)}\r\n`.repeat(5)}`, /message of more than 1000 bytes/],
    ];
    const good = rawRequest(['ping', '1', 'x']);
    for (const [what, bad, err] of cases) {
      for (const cut of [whole, bytes]) {
        const r = new MessageReader('request', limits);
        const data = Buffer.concat([good, typeof bad === 'string' ? b(bad) : bad, good]);
        let n = 0;
        let at = 0;
        for (const k of cut(data.length)) {
          r.feed(data.subarray(at, at + k));
          at += k;
          while (r.next()) n++;
        }
        expect(n, what).toBe(1);
        expect(r.error, `${what} (${cut === whole ? 'whole' : 'byte by byte'})`).toMatch(err);
        r.feed(good);
        expect(r.next(), what).toBe(false);
      }
    }
    const bigCount = new MessageReader('request', { maxMessageBytes: 1000, maxArgBytes: 1000, maxArgs: 1 << 30 });
    bigCount.feed(b('*1000\r\n'));
    expect(bigCount.next()).toBe(false);
    expect(bigCount.error).toMatch(/1000 elements cannot fit in a message of at most 1000 bytes/);
    const rr = new MessageReader('reply', unbounded);
    rr.feed(b('*2\r\n$1\r\n1\r\n$2\r\nOK\r\n'));
    expect(rr.next()).toBe(false);
    expect(rr.error).toMatch(/bad reply status 'OK' \(ok or err\)/);
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

/** The batch written by `fill` into a MessageWriter. */
function batchOf(fill: (w: MessageWriter) => void): Buffer {
  const w = new MessageWriter(64);
  fill(w);
  return w.take();
}

/** Every reply in `data` (whole messages), with text arguments. */
function replies(data: Buffer): { id: number; ok: boolean; args: string[] }[] {
  const r = new MessageReader('reply', { maxMessageBytes: 1 << 30, maxArgBytes: 1 << 30, maxArgs: 1 << 30 });
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

  it('admits an operator who sends the plain cluster-secret as auth (redis-cli), and refuses a wrong one', async () => {
    const typed = async (secret: string): Promise<{ got: string; closed: boolean; r: Rig }> => {
      const r = rig({ serverSecret: 'open sesame' });
      r.handlers.set('echo', (_from, args) => args);
      const [c, s] = socketPair();
      const got: Buffer[] = [];
      c.on('data', (d: Buffer) => got.push(d));
      r.server.accept(s);
      // What redis-cli sends for: hello 1 operator 0123456789abcdef <version> / AUTH 2 <secret> / echo 3 hi
      c.write(rawRequest(['hello', '1', 'operator', '0123456789abcdef', String(BUS_PROTOCOL_VERSION)]));
      await until(() => got.length === 1, 'hello answered');
      c.write(rawRequest(['AUTH', '2', secret]));
      await until(() => got.length === 2, 'auth answered');
      if (!c.closed) {
        c.write(rawRequest(['echo', '3', 'hi']));
        await until(() => got.length === 3 || c.closed, 'echo answered');
      }
      return { got: Buffer.concat(got).toString('latin1'), closed: c.closed, r };
    };
    const ok = await typed('open sesame');
    expect(ok.got).toMatch(/^\*6\r\n\$1\r\n1\r\n\$2\r\nok\r\n\$3\r\nsrv\r\n/);
    expect(ok.got).toMatch(/\*3\r\n\$1\r\n2\r\n\$2\r\nok\r\n\$32\r\n[^]{32}\r\n\*3\r\n\$1\r\n3\r\n\$2\r\nok\r\n\$2\r\nhi\r\n$/);
    expect(ok.closed).toBe(false);
    expect(ok.r.log.lines).toContain("notice Cluster bus: 10.0.0.1:4242 (node operator) authenticated with the plain cluster-secret (an operator's client, not a node)");
    const bad = await typed('open sesame!');
    expect(bad.got).toMatch(/\*4\r\n\$1\r\n2\r\n\$3\r\nerr\r\n\$6\r\nNOAUTH\r\n\$27\r\nNOAUTH wrong cluster-secret\r\n$/);
    await until(() => bad.r.server.connectionCount === 0, 'refused connection closed');
    expect(bad.r.log.lines).toContain('warning Refused cluster bus connection from 10.0.0.1:4242 (node operator): wrong cluster-secret');
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

    // After it, RESP requests are served (as a peer or redis-cli sends them); an inline
    // command, or anything not an array of bulks, is a protocol error: id 0, then close.
    const r2 = rig();
    const [c2, s2] = socketPair();
    const got2: Buffer[] = [];
    c2.on('data', (d: Buffer) => got2.push(d));
    r2.server.accept(s2);
    c2.write(rawRequest(['hello', '1', 'raw', 'x'.repeat(16), String(BUS_PROTOCOL_VERSION)]));
    await until(() => got2.length === 1, 'hello answered');
    c2.write(Buffer.concat([batchOf((w) => w.request(2, 'echo', [b('fine')])), rawRequest(['ECHO', '3', 'as typed'])]));
    await until(() => got2.length === 2, 'echo answered');
    expect(got2[1].toString()).toBe('*3\r\n$1\r\n2\r\n$2\r\nok\r\n$4\r\nfine\r\n*3\r\n$1\r\n3\r\n$2\r\nok\r\n$8\r\nas typed\r\n');
    c2.write(b('echo 4 inline\r\n'));
    await until(() => c2.closed, 'closed');
    expect(replies(Buffer.concat(got2.slice(2)))).toEqual([{ id: 0, ok: false, args: ['PROTO', "Protocol error: expected '*', got 'e'"] }]);
    expect(r2.log.lines.some((l) => l.startsWith("warning Cluster bus: Protocol error: expected '*', got 'e'"))).toBe(true);
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

  it('matches replies that come back in any order, inside one batch and across batches', async () => {
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
    expect(r.client.opts.stats.readsReceived).toBe(3);
  });

  it('reassembles requests and replies that the network splits into pieces', async () => {
    const r = rig();
    await r.client.request('echo', []);
    const c = r.sockets[0];
    const s = c.other as FakeSocket;
    c.splitAt = 7;
    s.splitAt = 5;
    const payloads = Array.from({ length: 50 }, (_, i) => Buffer.alloc(i * 37, i));
    const got = await Promise.all(payloads.map((p) => r.client.request('echo', [p, b('tail')])));
    got.forEach((g, i) => expect(g).toEqual([payloads[i], b('tail')]));
    // And a message far bigger than one read.
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

  it('closes on a malformed message, and the client learns why', async () => {
    const r = rig();
    await r.client.request('echo', []);
    const d = deferred<Buffer[]>();
    r.handlers.set('hang', () => d.promise);
    const held = r.client.request('hang', []);
    await turn();
    await turn();
    const c = r.sockets[0];
    c.write(b('*3\r\n$4\r\necho\r\n$1\r\n9\r\n$999999999999999\r\n'));
    await expect(held).rejects.toThrow(/connection lost: the peer closed the connection: Protocol error: argument of 999999999999999 bytes \(limit \d+\)/);
    expect(r.log.lines.some((l) => /^warning Cluster bus: Protocol error: argument of 999999999999999 bytes .* from 10\.0\.0\.1:4242 \(node cli\); closing the connection$/.test(l))).toBe(true);
    // The next request reconnects.
    await expect(r.client.request('echo', [b('again')])).resolves.toEqual([b('again')]);
  });

  it('refuses requests sent before the handshake finished', async () => {
    const r = rig();
    const [c, s] = socketPair();
    const got: Buffer[] = [];
    c.on('data', (d: Buffer) => got.push(d));
    r.server.accept(s);
    c.write(Buffer.concat([rawRequest(['hello', '1', 'raw', 'x'.repeat(16), String(BUS_PROTOCOL_VERSION)]), batchOf((w) => w.request(2, 'echo', [b('early')]))]));
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
