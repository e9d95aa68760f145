/**
 * Pub/sub on a node and across the cluster: the registry (registry.ts) plus what reaches
 * other nodes over the bus (the `pubsub` verb, bus/verbs.ts), and keyspace notifications.
 *
 * Cluster contract (docs/cluster.md):
 * - PUBLISH delivers here at once and is sent, fire-and-forget, to every other live node,
 *   which delivers to its own subscribers. One node's messages to a peer travel on one bus
 *   connection in the order sent, so a publisher's messages arrive in order everywhere.
 *   The reply counts the receivers on this node only, as Redis Cluster's does.
 * - SPUBLISH goes to the owners of the channel's token (hashed as a key). A client may
 *   SSUBSCRIBE on any node: a node that is not an owner registers its interest with the
 *   owners (refreshed every INTEREST_REFRESH_MS, forgotten after INTEREST_TTL_MS without a
 *   refresh), and the first live owner relays each shard message to the interested nodes.
 *   The reply counts the receivers on this node when it is an owner, else 0.
 * - Keyspace notifications are published on the node that executes the write (and
 *   `expired` on each replica as the key expires there), to that node's subscribers only.
 */
import type { NotifyClass } from '../server/server-api';
import { notifyWanted } from './notify-flags';
import { ClientSubs, PubSubRegistry, type PushTarget } from './registry';

/** How often a node re-sends its shard-channel interest to the owners. */
export const INTEREST_REFRESH_MS = 5000;
/** An owner forgets a node's interest not refreshed for this long. */
export const INTEREST_TTL_MS = 3 * INTEREST_REFRESH_MS;

/** The cluster as pub/sub needs it (node.ts provides it; null standalone). */
export interface PubSubCluster {
  readonly selfId: string;
  /** Other live nodes. */
  peers(): string[];
  /** The channel's owners (its preference list), as for a key. */
  owners(channel: Buffer): readonly string[];
  isUp(id: string): boolean;
  /** Send a pubsub bus message, fire-and-forget (failures are dropped). */
  send(to: string, args: Buffer[]): void;
}

const OP_PUBLISH = Buffer.from('p');
const OP_SPUBLISH = Buffer.from('s');
const OP_INTEREST = Buffer.from('w');
const OP_UNINTEREST = Buffer.from('u');
const ONE = Buffer.from('1');
const ZERO = Buffer.from('0');

export class PubSubService {
  readonly registry = new PubSubRegistry();
  cluster: PubSubCluster | null = null;
  /** Owner side: shard channel → node id → last refresh (ms). */
  private readonly interest = new Map<string, Map<string, number>>();
  private lastRefreshMs = 0;

  constructor(
    private readonly flags: () => number,
    private readonly nowMs: () => number,
  ) {}

  newClient(target: PushTarget): ClientSubs {
    return new ClientSubs(target);
  }

  /** PUBLISH: here, and to every other live node. Returns this node's receivers. */
  publish(channel: Buffer, message: Buffer): number {
    const n = this.registry.publish(channel, message);
    const c = this.cluster;
    if (c !== null) {
      const peers = c.peers();
      if (peers.length > 0) {
        // Copies: argv may be a view into the input, and the bus sends at the end of the turn.
        const args = [OP_PUBLISH, Buffer.from(channel), Buffer.from(message)];
        for (const p of peers) c.send(p, args);
      }
    }
    return n;
  }

  /** SPUBLISH: to the owners of the channel (and, through the first live one, to interested nodes). */
  spublish(channel: Buffer, message: Buffer): number {
    const c = this.cluster;
    if (c === null) return this.registry.spublish(channel, message);
    const owners = c.owners(channel);
    const relay = owners.find((o) => o === c.selfId || c.isUp(o));
    const ch = Buffer.from(channel);
    const msg = Buffer.from(message);
    let n = 0;
    for (const o of owners) {
      if (o === c.selfId) n = this.deliverShard(ch, msg, relay === o);
      else if (c.isUp(o)) c.send(o, [OP_SPUBLISH, ch, msg, o === relay ? ONE : ZERO]);
    }
    return n;
  }

  /** A shard message reaching an owner (or, relayed, an interested node). */
  private deliverShard(channel: Buffer, message: Buffer, relay: boolean): number {
    const n = this.registry.spublish(channel, message);
    const c = this.cluster;
    if (relay && c !== null) {
      const nodes = this.interest.get(channel.toString('latin1'));
      if (nodes !== undefined) {
        const now = this.nowMs();
        const args = [OP_SPUBLISH, Buffer.from(channel), Buffer.from(message), ZERO];
        for (const [id, at] of nodes) {
          if (now - at > INTEREST_TTL_MS) nodes.delete(id);
          else if (id !== c.selfId) c.send(id, args);
        }
        if (nodes.size === 0) this.interest.delete(channel.toString('latin1'));
      }
    }
    return n;
  }

  /** A shard subscription was added here: a non-owner tells the owners at once. */
  shardSubscribed(channel: Buffer): void {
    const c = this.cluster;
    if (c === null) return;
    const owners = c.owners(channel);
    if (owners.includes(c.selfId)) return;
    for (const o of owners) c.send(o, [OP_INTEREST, Buffer.from(channel)]);
  }

  /** The last shard subscriber of a channel here left: tell the owners. */
  shardUnsubscribed(channel: Buffer): void {
    const c = this.cluster;
    if (c === null || this.registry.hasShardSubscribers(channel)) return;
    const owners = c.owners(channel);
    if (owners.includes(c.selfId)) return;
    for (const o of owners) c.send(o, [OP_UNINTEREST, Buffer.from(channel)]);
  }

  /** RESET (and a disconnect): drop every subscription of the client, telling owners as needed. */
  leaveAll(c: ClientSubs): void {
    const shard = [...c.shard.values()];
    this.registry.removeClient(c);
    for (const ch of shard) this.shardUnsubscribed(ch);
  }

  /** Periodic (server tick): re-send this node's shard interest to the owners. */
  tick(nowMs: number): void {
    const c = this.cluster;
    if (c === null || nowMs - this.lastRefreshMs < INTEREST_REFRESH_MS) return;
    this.lastRefreshMs = nowMs;
    const perOwner = new Map<string, Buffer[]>();
    for (const ch of this.registry.channelNames(null, true)) {
      const owners = c.owners(ch);
      if (owners.includes(c.selfId)) continue;
      for (const o of owners) {
        let l = perOwner.get(o);
        if (l === undefined) perOwner.set(o, (l = [OP_INTEREST]));
        l.push(ch);
      }
    }
    for (const [o, args] of perOwner) if (c.isUp(o)) c.send(o, args);
  }

  /** The `pubsub` bus verb, serving side. */
  onBus(from: string, args: Buffer[]): void {
    if (args.length === 0) return;
    const op = args[0].toString('latin1');
    if (op === 'p' && args.length === 3) this.registry.publish(args[1], args[2]);
    else if (op === 's' && args.length === 4) this.deliverShard(args[1], args[2], args[3].equals(ONE));
    else if (op === 'w') {
      const now = this.nowMs();
      for (let i = 1; i < args.length; i++) {
        const k = args[i].toString('latin1');
        let m = this.interest.get(k);
        if (m === undefined) this.interest.set(k, (m = new Map()));
        m.set(from, now);
      }
    } else if (op === 'u') {
      for (let i = 1; i < args.length; i++) {
        const k = args[i].toString('latin1');
        const m = this.interest.get(k);
        m?.delete(from);
        if (m !== undefined && m.size === 0) this.interest.delete(k);
      }
    }
  }

  /** Set while an event raised by a key lookup is delivered (it may come mid-reply: connection.ts). */
  fromLookup = false;

  /** `expired` and `keymiss`: raised inside a key lookup, possibly while a reply is half written. */
  notifyFromLookup(type: NotifyClass, event: string, key: Buffer, db: number): void {
    this.fromLookup = true;
    try {
      this.notify(type, event, key, db);
    } finally {
      this.fromLookup = false;
    }
  }

  /**
   * A keyspace event (notify.c notifyKeyspaceEvent): `__keyspace@<db>__:<key>` carries the
   * event, `__keyevent@<db>__:<event>` the key, as the flags ask. Local only.
   */
  notify(type: NotifyClass, event: string, key: Buffer, db: number): void {
    const flags = this.flags();
    if (flags === 0 || this.registry.idle) return;
    const want = notifyWanted(flags, type);
    if (want === null) return;
    const ev = Buffer.from(event, 'latin1');
    if (want.keyspace) this.registry.publish(Buffer.concat([Buffer.from(`__keyspace@${db}__:`, 'latin1'), key]), ev);
    if (want.keyevent) this.registry.publish(Buffer.from(`__keyevent@${db}__:${event}`, 'latin1'), key);
  }
}

export { OP_PUBLISH, OP_SPUBLISH, OP_INTEREST, OP_UNINTEREST };
