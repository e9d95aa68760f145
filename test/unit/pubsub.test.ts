/**
 * Pub/sub pieces on their own: notify-keyspace-events and client-output-buffer-limit
 * parsing and printing (tables), the output-limit verdict (a table over time), the
 * registry (delivery, counts, cleanup), the service's bus side (interest, relays), and a
 * node in this process whose subscriber never reads: it is disconnected at the pubsub hard
 * limit (or after soft seconds over the soft limit) while a reading subscriber and the
 * publisher carry on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { formatNotifyFlags, NOTIFY, NOTIFY_ALL, notifyWanted, parseNotifyFlags } from '../../src/pubsub/notify-flags';
import { defaultOutputLimits, formatOutputLimits, outputLimitVerdict, parseOutputLimits } from '../../src/pubsub/output-limits';
import { ClientSubs, PubSubRegistry, type PushTarget } from '../../src/pubsub/registry';
import { PubSubService, type PubSubCluster } from '../../src/pubsub/service';
import { defaultSettings } from '../../src/config/settings';
import { QuorumkvNode } from '../../src/node';
import { RawClient } from '../support/raw-client';

describe('notify-keyspace-events flags', () => {
  const cases: [string, string | null][] = [
    ['', ''], ['KEA', 'AKE'], ['Ex', 'xE'], ['Kx', 'xK'], ['Kn', 'nK'], ['Kgn', 'gnK'], ['n', 'n'], ['E$', '$E'], ['Ah', 'A'], ['KEAn', 'AKE'],
    ['AKEm', 'AKEm'], ['g$lshzxetdKE', 'AKE'], ['K$lshzxegtmnd', 'AKm'], ['Q', null], ['K E', null], ['a', null],
  ];
  it.each(cases)('%j -> %j', (input, out) => {
    const f = parseNotifyFlags(input);
    if (out === null) expect(f).toBeNull();
    else expect(formatNotifyFlags(f!)).toBe(out);
  });
  it('an event needs its class and K or E', () => {
    expect(notifyWanted(NOTIFY_ALL, 'g')).toBeNull();
    expect(notifyWanted(NOTIFY_ALL | NOTIFY.K, 'n')).toBeNull();
    expect(notifyWanted(NOTIFY.g | NOTIFY.E, 'g')).toEqual({ keyspace: false, keyevent: true });
    expect(notifyWanted(NOTIFY.x | NOTIFY.K | NOTIFY.E, 'x')).toEqual({ keyspace: true, keyevent: true });
  });
});

describe('client-output-buffer-limit', () => {
  it('parses over the current value and prints as Redis does', () => {
    const d = defaultOutputLimits();
    expect(formatOutputLimits(d)).toBe('normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60');
    const r = parseOutputLimits(['pubsub', '1mb', '2k', '3'], d);
    expect(typeof r === 'string' ? r : formatOutputLimits(r)).toBe('normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 2000 3');
    expect(parseOutputLimits(['pubsub', '1', '1'], d)).toBe('Wrong number of arguments in buffer limit configuration.');
    expect(parseOutputLimits(['master', '1', '1', '1'], d)).toBe('Invalid client class specified in buffer limit configuration.');
    expect(parseOutputLimits(['normal', '-1', '0', '0'], d)).toBe('Error in hard, soft or soft_seconds setting in buffer limit configuration.');
  });

  // [bytes, hard, soft, softSeconds, softSinceMs, nowMs] -> [close, softSinceMs]
  const table: [number, number, number, number, number, number, boolean, number][] = [
    [100, 1000, 500, 10, 0, 5000, false, 0],
    [1000, 1000, 500, 10, 0, 5000, true, 0], // hard: at once
    [600, 1000, 500, 10, 0, 5000, false, 5000], // soft: the clock starts
    [600, 1000, 500, 10, 5000, 15_000, false, 5000], // exactly soft seconds: not yet
    [600, 1000, 500, 10, 5000, 15_001, true, 5000], // past them: close
    [100, 1000, 500, 10, 5000, 15_001, false, 0], // back under: the clock resets
    [1e9, 0, 0, 0, 0, 1, false, 0], // no limits
  ];
  it.each(table)('bytes %d hard %d soft %d/%ds since %d at %d', (bytes, hard, soft, secs, since, now, close, next) => {
    expect(outputLimitVerdict(bytes, { hardBytes: hard, softBytes: soft, softSeconds: secs }, since, now)).toEqual({ close, softSinceMs: next });
  });
});

function target(id: number, resp: 2 | 3 = 2): PushTarget & { frames: string[] } {
  const frames: string[] = [];
  return { id, resp, frames, push: (f) => frames.push(f.toString('latin1')) };
}

describe('registry', () => {
  it('delivers to channel then pattern subscribers, counts receivers, forgets a client', () => {
    const reg = new PubSubRegistry();
    const a = target(1);
    const b = target(2, 3);
    const ca = new ClientSubs(a);
    const cb = new ClientSubs(b);
    expect(reg.subscribe(ca, Buffer.from('news'))).toBe(true);
    expect(reg.subscribe(ca, Buffer.from('news'))).toBe(false);
    reg.psubscribe(cb, Buffer.from('n*'));
    reg.psubscribe(ca, Buffer.from('n*'));
    expect(reg.publish(Buffer.from('news'), Buffer.from('hi'))).toBe(3);
    expect(a.frames).toEqual(['*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n', '*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n']);
    expect(b.frames).toEqual(['>4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n']);
    expect(reg.patternCount).toBe(1);
    reg.removeClient(ca);
    expect(reg.publish(Buffer.from('news'), Buffer.from('x'))).toBe(1);
    expect(reg.channelCount).toBe(0);
    expect(ca.total).toBe(0);
  });

  it('keeps its own copy of names (argv may be a view into a reused input buffer)', () => {
    const reg = new PubSubRegistry();
    const c = new ClientSubs(target(1));
    const name = Buffer.from('chan');
    reg.subscribe(c, name);
    name.write('xxxx');
    expect(reg.channelNames(null, false).map(String)).toEqual(['chan']);
    expect([...c.channels.values()].map(String)).toEqual(['chan']);
  });
});

describe('service: cluster side', () => {
  function fakeCluster(selfId: string, owners: string[], sent: [string, string[]][]): PubSubCluster {
    return {
      selfId,
      peers: () => ['a', 'b', 'c'].filter((x) => x !== selfId),
      owners: () => owners,
      isUp: () => true,
      send: (to, args) => sent.push([to, args.map(String)]),
    };
  }

  it('PUBLISH goes to every live peer; SPUBLISH to owners with one relay; interest is relayed', () => {
    const sent: [string, string[]][] = [];
    let now = 0;
    const svc = new PubSubService(() => 0, () => now);
    svc.cluster = fakeCluster('a', ['b', 'c'], sent);
    expect(svc.publish(Buffer.from('ch'), Buffer.from('m'))).toBe(0);
    expect(sent).toEqual([['b', ['p', 'ch', 'm']], ['c', ['p', 'ch', 'm']]]);
    sent.length = 0;
    svc.spublish(Buffer.from('s'), Buffer.from('m'));
    expect(sent).toEqual([['b', ['s', 's', 'm', '1']], ['c', ['s', 's', 'm', '0']]]);

    // The owner side: node 'd' registers interest, a relayed message reaches it; after the TTL it does not.
    const sent2: [string, string[]][] = [];
    const owner = new PubSubService(() => 0, () => now);
    owner.cluster = fakeCluster('b', ['b'], sent2);
    owner.onBus('d', [Buffer.from('w'), Buffer.from('s')]);
    owner.onBus('x', [Buffer.from('s'), Buffer.from('s'), Buffer.from('m1'), Buffer.from('1')]);
    expect(sent2).toEqual([['d', ['s', 's', 'm1', '0']]]);
    now = 60_000;
    owner.onBus('x', [Buffer.from('s'), Buffer.from('s'), Buffer.from('m2'), Buffer.from('1')]);
    expect(sent2).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------
// A node in this process, a subscriber that never reads.

let node: QuorumkvNode | null = null;
let dir = '';
afterEach(async () => {
  await node?.stop();
  node = null;
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

async function startNode(hz = 10): Promise<number> {
  dir = mkdtempSync(path.join(os.tmpdir(), 'qkv-pubsub-'));
  node = new QuorumkvNode({ settings: { ...defaultSettings(), port: 0, engine: 'memory', dir, hz }, configFile: null });
  await node.start();
  return node.server.boundPort();
}

/** A raw socket that subscribes and then never reads again. */
async function stalledSubscriber(port: number, channel: string): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => s.once('connect', () => r()));
  s.write(`*2\r\n$9\r\nSUBSCRIBE\r\n$${channel.length}\r\n${channel}\r\n`);
  await new Promise((r) => setTimeout(r, 50));
  s.pause();
  s.on('error', () => undefined);
  return s;
}

async function publishMany(pub: RawClient, channel: string, count: number, size: number): Promise<void> {
  const msg = Buffer.alloc(size, 'x');
  // 8 at a time: what one turn pushes to a subscriber that does read stays well under the limit.
  for (let i = 0; i < count; i += 8) {
    await Promise.all(Array.from({ length: Math.min(8, count - i) }, () => pub.send('PUBLISH', channel, msg)));
  }
}

describe('a subscriber that never reads', () => {
  it('is disconnected at the pubsub hard limit; a reading subscriber and the publisher carry on', async () => {
    const port = await startNode();
    const admin = await RawClient.connect(port);
    expect((await admin.send('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 1mb 0 0')).toString()).toBe('+OK\r\n');
    const stalled = await stalledSubscriber(port, 'firehose');
    const reader = await RawClient.connect(port, { timeoutMs: 10_000 });
    await reader.send('SUBSCRIBE', 'firehose');
    let received = 0;
    const drain = (async () => {
      for (;;) {
        const f = await reader.readFrame().catch(() => null);
        if (f === null) return;
        received++;
      }
    })();
    const pub = await RawClient.connect(port, { timeoutMs: 10_000 });
    expect((await admin.send('PUBSUB', 'NUMSUB', 'firehose')).toString()).toBe('*2\r\n$8\r\nfirehose\r\n:2\r\n');
    const count = 1500;
    await publishMany(pub, 'firehose', count, 32 * 1024); // ~48 MB: far past the kernel's socket buffers
    expect((await admin.send('PUBSUB', 'NUMSUB', 'firehose')).toString()).toBe('*2\r\n$8\r\nfirehose\r\n:1\r\n');
    const deadline = Date.now() + 10_000;
    while (received < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(received).toBe(count);
    expect((await pub.send('PING')).toString()).toBe('+PONG\r\n');
    stalled.destroy();
    reader.close();
    pub.close();
    admin.close();
    await drain;
  }, 60_000);

  it('is disconnected once over the soft limit for soft seconds', async () => {
    const port = await startNode();
    const admin = await RawClient.connect(port);
    await admin.send('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 0 256kb 1');
    const stalled = await stalledSubscriber(port, 'slow');
    const pub = await RawClient.connect(port, { timeoutMs: 10_000 });
    await publishMany(pub, 'slow', 400, 32 * 1024); // over the soft limit: the clock starts
    expect((await admin.send('PUBSUB', 'NUMSUB', 'slow')).toString()).toBe('*2\r\n$4\r\nslow\r\n:1\r\n');
    await new Promise((r) => setTimeout(r, 1200));
    await publishMany(pub, 'slow', 10, 1024); // still over it, soft seconds later
    expect((await admin.send('PUBSUB', 'NUMSUB', 'slow')).toString()).toBe('*2\r\n$4\r\nslow\r\n:0\r\n');
    stalled.destroy();
    pub.close();
    admin.close();
  }, 30_000);
});

describe('events raised by a lookup in the middle of a reply', () => {
  it("MGET over keys that expire: the RESP3 client's own expired events follow the array, never inside it", async () => {
    const port = await startNode(1); // the first tick comes after a second: the MGET's lookups retire the keys
    const c = await RawClient.connect(port);
    await c.send('HELLO', '3');
    await c.send('CONFIG', 'SET', 'notify-keyspace-events', 'Ex');
    await c.sendRaw('*2\r\n$9\r\nSUBSCRIBE\r\n$22\r\n__keyevent@0__:expired\r\n', 1);
    await c.send('SET', 'a', '1', 'PX', '30');
    await c.send('SET', 'b', '2', 'PX', '30');
    await new Promise((r) => setTimeout(r, 60));
    const frames = (await c.sendRaw('*4\r\n$4\r\nMGET\r\n$1\r\nx\r\n$1\r\na\r\n$1\r\nb\r\n', 3)).map((f) => f.toString('latin1'));
    expect(frames[0]).toBe('*3\r\n_\r\n_\r\n_\r\n');
    expect(frames.slice(1)).toEqual(['>3\r\n$7\r\nmessage\r\n$22\r\n__keyevent@0__:expired\r\n$1\r\na\r\n', '>3\r\n$7\r\nmessage\r\n$22\r\n__keyevent@0__:expired\r\n$1\r\nb\r\n']);
    c.close();
  });
});
