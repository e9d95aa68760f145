/**
 * The subscription registry of one node: channel → subscribers, pattern → subscribers,
 * shard channel → subscribers, and each client's own sets (pubsub.c's server.pubsub_*
 * dicts and client->pubsub_*). Delivery encodes a message once per protocol and hands the
 * frame to each subscriber's `push` (the connection sends it outside its reply stream,
 * server/connection.ts). Synchronous and in-process; the cluster side is service.ts.
 *
 * Order: Redis iterates its dicts in hash order; here channels and subscribers are kept in
 * insertion order (a valid order for Redis too: it promises none).
 */
import { stringMatch } from '../util/glob';

/** What a subscriber is to the registry: the connection, seen through a narrow window. */
export interface PushTarget {
  readonly id: number;
  readonly resp: 2 | 3;
  /** Deliver one complete frame (a message, pmessage, smessage or keyspace event). */
  push(frame: Buffer): void;
}

/** One client's subscriptions (names as latin1 strings → the name's bytes). */
export class ClientSubs {
  readonly channels = new Map<string, Buffer>();
  readonly patterns = new Map<string, Buffer>();
  readonly shard = new Map<string, Buffer>();
  constructor(readonly target: PushTarget) {}

  /** Channels + patterns: the count SUBSCRIBE/PSUBSCRIBE replies report. */
  get count(): number {
    return this.channels.size + this.patterns.size;
  }

  /** Every subscription, shard channels included (the P flag, the per-client limit). */
  get total(): number {
    return this.channels.size + this.patterns.size + this.shard.size;
  }
}

const key = (b: Buffer): string => b.toString('latin1');

function bulk(b: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`$${b.length}\r\n`, 'latin1'), b, CRLF]);
}

const CRLF = Buffer.from('\r\n');
const HEAD = {
  2: { 3: Buffer.from('*3\r\n'), 4: Buffer.from('*4\r\n') },
  3: { 3: Buffer.from('>3\r\n'), 4: Buffer.from('>4\r\n') },
} as const;
export const KIND = {
  message: bulk(Buffer.from('message')),
  pmessage: bulk(Buffer.from('pmessage')),
  smessage: bulk(Buffer.from('smessage')),
} as const;

/** A frame whose body is shared by both protocols: only the header differs. */
class Frame {
  private body: Buffer | null = null;
  private readonly cache: (Buffer | null)[] = [null, null];
  constructor(
    private readonly n: 3 | 4,
    private readonly parts: () => Buffer[],
  ) {}

  for(resp: 2 | 3): Buffer {
    const i = resp - 2;
    let f = this.cache[i];
    if (f === null) {
      this.body ??= Buffer.concat(this.parts());
      f = this.cache[i] = Buffer.concat([HEAD[resp][this.n], this.body]);
    }
    return f;
  }
}

export class PubSubRegistry {
  private readonly channels = new Map<string, Set<ClientSubs>>();
  private readonly patterns = new Map<string, { pattern: Buffer; subs: Set<ClientSubs> }>();
  private readonly shard = new Map<string, Set<ClientSubs>>();
  /** Messages delivered (frames pushed), for the benchmark and INFO. */
  delivered = 0;

  subscribe(c: ClientSubs, channel: Buffer): boolean {
    return add(this.channels, c.channels, c, channel);
  }

  unsubscribe(c: ClientSubs, channel: Buffer): boolean {
    return remove(this.channels, c.channels, c, key(channel));
  }

  ssubscribe(c: ClientSubs, channel: Buffer): boolean {
    return add(this.shard, c.shard, c, channel);
  }

  sunsubscribe(c: ClientSubs, channel: Buffer): boolean {
    return remove(this.shard, c.shard, c, key(channel));
  }

  psubscribe(c: ClientSubs, pattern: Buffer): boolean {
    const k = key(pattern);
    if (c.patterns.has(k)) return false;
    const own = Buffer.from(pattern); // argv may be a view into the connection's input
    c.patterns.set(k, own);
    let e = this.patterns.get(k);
    if (e === undefined) this.patterns.set(k, (e = { pattern: own, subs: new Set() }));
    e.subs.add(c);
    return true;
  }

  punsubscribe(c: ClientSubs, pattern: Buffer): boolean {
    const k = key(pattern);
    if (!c.patterns.delete(k)) return false;
    const e = this.patterns.get(k)!;
    e.subs.delete(c);
    if (e.subs.size === 0) this.patterns.delete(k);
    return true;
  }

  /** Drop every subscription of a client (disconnect, RESET); nothing is replied. */
  removeClient(c: ClientSubs): void {
    for (const k of [...c.channels.keys()]) remove(this.channels, c.channels, c, k);
    for (const k of [...c.shard.keys()]) remove(this.shard, c.shard, c, k);
    for (const p of [...c.patterns.values()]) this.punsubscribe(c, p);
  }

  /** PUBLISH on this node: subscribers of the channel, then of matching patterns. Returns receivers. */
  publish(channel: Buffer, message: Buffer): number {
    let n = 0;
    const subs = this.channels.get(key(channel));
    if (subs !== undefined && subs.size > 0) {
      const f = new Frame(3, () => [KIND.message, bulk(channel), bulk(message)]);
      for (const c of subs) {
        c.target.push(f.for(c.target.resp));
        n++;
      }
    }
    if (this.patterns.size > 0) {
      let tail: Buffer | null = null;
      for (const e of this.patterns.values()) {
        if (!stringMatch(e.pattern, channel, false)) continue;
        tail ??= Buffer.concat([bulk(channel), bulk(message)]);
        const t = tail;
        const f = new Frame(4, () => [KIND.pmessage, bulk(e.pattern), t]);
        for (const c of e.subs) {
          c.target.push(f.for(c.target.resp));
          n++;
        }
      }
    }
    this.delivered += n;
    return n;
  }

  /** SPUBLISH's local delivery: shard subscribers only (patterns never see shard messages). */
  spublish(channel: Buffer, message: Buffer): number {
    const subs = this.shard.get(key(channel));
    if (subs === undefined) return 0;
    const f = new Frame(3, () => [KIND.smessage, bulk(channel), bulk(message)]);
    for (const c of subs) c.target.push(f.for(c.target.resp));
    this.delivered += subs.size;
    return subs.size;
  }

  /** Whether any client here has subscribed to this shard channel. */
  hasShardSubscribers(channel: Buffer): boolean {
    return this.shard.has(key(channel));
  }

  /** Whether any subscriber could receive a message on this channel (fast path for notify). */
  get idle(): boolean {
    return this.channels.size === 0 && this.patterns.size === 0;
  }

  channelNames(pattern: Buffer | null, shard: boolean): Buffer[] {
    const out: Buffer[] = [];
    for (const k of (shard ? this.shard : this.channels).keys()) {
      const b = Buffer.from(k, 'latin1');
      if (pattern === null || stringMatch(pattern, b, false)) out.push(b);
    }
    return out;
  }

  numsub(channel: Buffer, shard: boolean): number {
    return (shard ? this.shard : this.channels).get(key(channel))?.size ?? 0;
  }

  /** Distinct patterns (Redis 7.0's PUBSUB NUMPAT and INFO pubsub_patterns). */
  get patternCount(): number {
    return this.patterns.size;
  }

  get channelCount(): number {
    return this.channels.size;
  }

  get shardChannelCount(): number {
    return this.shard.size;
  }
}

function add(index: Map<string, Set<ClientSubs>>, mine: Map<string, Buffer>, c: ClientSubs, name: Buffer): boolean {
  const k = key(name);
  if (mine.has(k)) return false;
  mine.set(k, Buffer.from(name)); // argv may be a view into the connection's input
  let s = index.get(k);
  if (s === undefined) index.set(k, (s = new Set()));
  s.add(c);
  return true;
}

function remove(index: Map<string, Set<ClientSubs>>, mine: Map<string, Buffer>, c: ClientSubs, k: string): boolean {
  if (!mine.delete(k)) return false;
  const s = index.get(k)!;
  s.delete(c);
  if (s.size === 0) index.delete(k);
  return true;
}
