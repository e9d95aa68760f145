/**
 * Server-assisted client-side caching (CLIENT TRACKING), as Redis 7.0's tracking.c:
 *
 * - default mode: the keys a tracking client reads (commands flagged readonly, including
 *   those run by its scripts and transactions) are remembered in a table keyed by key name
 *   (all databases share it, as in Redis); the first change to such a key sends one
 *   invalidation to each client that read it, and forgets them. OPTIN remembers only after
 *   CLIENT CACHING YES, OPTOUT skips after CLIENT CACHING NO (for the next command or
 *   transaction). NOLOOP: no invalidation for a change the client made itself.
 * - BCAST: no table; every change to a key under one of the client's prefixes ("" for all)
 *   is collected and sent once per event-loop turn as one array of keys.
 * - Where it goes: RESP3 gets a push `>2 invalidate [keys]`; with REDIRECT id the message
 *   goes to that client instead: a RESP3 push, or for a RESP2 subscriber a message on
 *   `__redis__:invalidate`. RESP2 without redirection gets nothing (as Redis).
 *   FLUSHALL / FLUSHDB invalidate everything: a null instead of the key array.
 *
 * Changes are the keyspace's (server.ts keyListener.touched): writes on this node, expiry,
 * and in a cluster the deltas this node applies as a replica too. A key this node holds no
 * copy of is never invalidated here (docs/commands.md, CLIENT TRACKING). Invalidations for the
 * client that ran the write wait until its command has answered (Redis 7.0's pending
 * invalidations), so they never cut into a reply.
 */
import type { CommandEntry } from '../commands/types';
import type { ClientState } from './client-state';
import { keyPositionsOf } from '../commands/types';

export const TRACK_ON = 1;
export const TRACK_BCAST = 2;
export const TRACK_OPTIN = 4;
export const TRACK_OPTOUT = 8;
export const TRACK_NOLOOP = 16;
export const TRACK_CACHING = 32;
export const TRACK_BROKEN_REDIR = 64;

/** A tracking client's state (on ClientState.tracking). */
export interface TrackingState {
  flags: number;
  /** Client id invalidations go to; 0: this client. */
  redirect: number;
  prefixes: Buffer[];
}

/** What tracking needs of a client: its id, protocol, subscriptions, and a way to push. */
export interface TrackedClient extends ClientState {
  push(frame: Buffer): void;
}

const INVALIDATE_CHANNEL = Buffer.from('__redis__:invalidate');

function bulk(b: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')]);
}

export class Tracking {
  /** key (latin1) → ids of clients that read it. */
  private readonly table = new Map<string, Set<number>>();
  private readonly bcast = new Set<TrackedClient>();
  /** BCAST: prefix (latin1) → its clients and the keys changed under it this turn (with who changed them first). */
  private readonly prefixTable = new Map<string, { clients: Set<TrackedClient>; keys: Map<string, TrackedClient | null> }>();
  /** Clients with tracking on. */
  readonly clients = new Set<TrackedClient>();
  /** The client whose command is running (NOLOOP, and pending self-invalidations). */
  current: TrackedClient | null = null;
  private pendingSelf: Buffer[] = [];
  private bcastScheduled = false;
  totalItems = 0;

  constructor(
    private readonly byId: (id: number) => TrackedClient | undefined,
    /** tracking-table-max-keys: most keys in the table (0: no limit). */
    private readonly maxKeys: () => number = () => 0,
  ) {}

  get active(): boolean {
    return this.clients.size !== 0;
  }

  get totalKeys(): number {
    return this.table.size;
  }

  get totalPrefixes(): number {
    return this.prefixTable.size;
  }

  enable(c: TrackedClient, redirect: number, options: number, prefixes: Buffer[]): void {
    const old = c.tracking;
    const keep = old != null ? old.flags & (TRACK_CACHING) : 0;
    const st: TrackingState = { flags: TRACK_ON | options | keep, redirect, prefixes: old?.prefixes ?? [] };
    if ((options & TRACK_BCAST) !== 0) {
      for (const p of prefixes.length === 0 && st.prefixes.length === 0 ? [Buffer.alloc(0)] : prefixes) {
        if (st.prefixes.some((q) => q.equals(p))) continue;
        st.prefixes.push(Buffer.from(p));
        const name = p.toString('latin1');
        let e = this.prefixTable.get(name);
        if (e === undefined) this.prefixTable.set(name, (e = { clients: new Set(), keys: new Map() }));
        e.clients.add(c);
      }
      this.bcast.add(c);
    }
    c.tracking = st;
    this.clients.add(c);
  }

  disable(c: TrackedClient): void {
    const t = c.tracking;
    if (t == null) return;
    c.tracking = null;
    this.clients.delete(c);
    if (this.bcast.delete(c)) {
      for (const p of t.prefixes) {
        const name = p.toString('latin1');
        const e = this.prefixTable.get(name);
        if (e === undefined) continue;
        e.clients.delete(c);
        if (e.clients.size === 0) this.prefixTable.delete(name);
      }
    }
  }

  /** A readonly command of (or run for) `c` read its keys (Redis's trackingRememberKeys). */
  remember(c: ClientState, entry: CommandEntry, argv: Buffer[]): void {
    const t = c.tracking;
    if (t == null || (t.flags & TRACK_BCAST) !== 0) return;
    const optin = (t.flags & TRACK_OPTIN) !== 0;
    const optout = (t.flags & TRACK_OPTOUT) !== 0;
    const caching = (t.flags & TRACK_CACHING) !== 0;
    if ((optin && !caching) || (optout && caching)) return;
    for (const pos of keyPositionsOf(entry.spec, argv)) {
      const k = argv[pos].toString('latin1');
      let ids = this.table.get(k);
      if (ids === undefined) this.table.set(k, (ids = new Set()));
      if (!ids.has(c.id)) {
        ids.add(c.id);
        this.totalItems++;
      }
    }
    const max = this.maxKeys();
    if (max > 0 && this.table.size > max) this.evict(this.table.size - max);
  }

  /**
   * tracking-table-max-keys (Redis's trackingLimitUsedSlots): past the limit, keys leave
   * the table as if they had changed: their clients get an invalidation and re-read them.
   * The oldest remembered go first (Redis picks at random).
   */
  private evict(n: number): void {
    const keys: string[] = [];
    for (const k of this.table.keys()) {
      if (keys.length >= n) break;
      keys.push(k);
    }
    for (const k of keys) this.invalidateTracked(k, Buffer.from(k, 'latin1'));
  }

  /** A key changed (Redis's trackingInvalidateKey). */
  touched(key: Buffer): void {
    if (this.bcast.size !== 0) this.toBroadcast(key);
    this.invalidateTracked(key.toString('latin1'), key);
  }

  /** Forget `k` and tell the clients that read it (default mode). */
  private invalidateTracked(k: string, key: Buffer): void {
    const ids = this.table.get(k);
    if (ids === undefined) return;
    this.table.delete(k);
    this.totalItems -= ids.size;
    for (const id of ids) {
      const target = this.byId(id);
      const t = target?.tracking;
      if (target === undefined || t == null || (t.flags & TRACK_BCAST) !== 0) continue;
      if ((t.flags & TRACK_NOLOOP) !== 0 && target === this.current) continue;
      this.send(target, [key]);
    }
  }

  /** FLUSHALL / FLUSHDB: every tracking client is told everything is gone. */
  flushed(): void {
    this.table.clear();
    this.totalItems = 0;
    for (const c of this.clients) this.send(c, null);
  }

  /** Send the invalidation of `keys` (null: everything) meant for `c`. */
  private send(c: TrackedClient, keys: Buffer[] | null): void {
    const t = c.tracking!;
    let target: TrackedClient = c;
    let redirected = false;
    if (t.redirect !== 0) {
      const r = this.byId(t.redirect);
      if (r === undefined) {
        t.flags |= TRACK_BROKEN_REDIR;
        if (c.resp === 3) this.deliver(c, Buffer.from(`>2\r\n$21\r\ntracking-redir-broken\r\n:${t.redirect}\r\n`));
        return;
      }
      target = r;
      redirected = true;
    }
    let value: Buffer;
    if (keys === null) value = Buffer.from(c.resp === 3 ? '_\r\n' : '$-1\r\n');
    else value = Buffer.concat([Buffer.from(`*${keys.length}\r\n`), ...keys.map(bulk)]);
    let frame: Buffer;
    if (target.resp === 3) frame = Buffer.concat([Buffer.from('>2\r\n$10\r\ninvalidate\r\n'), value]);
    else if (redirected && (target.pubsub?.total ?? 0) > 0) frame = Buffer.concat([Buffer.from('*3\r\n$7\r\nmessage\r\n'), bulk(INVALIDATE_CHANNEL), value]);
    else return;
    this.deliver(target, frame);
  }

  private deliver(target: TrackedClient, frame: Buffer): void {
    if (target === this.current) this.pendingSelf.push(frame);
    else target.push(frame);
  }

  /** The running command of `current` answered: its own invalidations follow its reply. */
  commandDone(): void {
    const c = this.current;
    this.current = null;
    if (c === null) return;
    if (this.pendingSelf.length !== 0) {
      const frames = this.pendingSelf;
      this.pendingSelf = [];
      for (const f of frames) c.push(f);
    }
    // CLIENT CACHING applies to the next command (or transaction) only.
    const t = c.tracking;
    if (t != null && (t.flags & TRACK_CACHING) !== 0 && c.tx?.queue == null && c.lastCommand !== 'client|caching') t.flags &= ~TRACK_CACHING;
  }

  /** Redis's trackingRememberKeyToBroadcast: the key under every prefix it starts with. */
  private toBroadcast(key: Buffer): void {
    const k = key.toString('latin1');
    let any = false;
    for (const [name, e] of this.prefixTable) {
      if (!k.startsWith(name)) continue;
      if (!e.keys.has(k)) e.keys.set(k, this.current);
      any = true;
    }
    if (any && !this.bcastScheduled) {
      this.bcastScheduled = true;
      setImmediate(() => this.broadcast());
    }
  }

  /** Redis's trackingBroadcastInvalidationMessages: per prefix (in byte order), its keys (sorted) to each of its clients. */
  private broadcast(): void {
    this.bcastScheduled = false;
    const names = [...this.prefixTable.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      const e = this.prefixTable.get(name)!;
      if (e.keys.size === 0) continue;
      const keys = [...e.keys.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      e.keys.clear();
      for (const c of e.clients) {
        const t = c.tracking;
        if (t == null) continue;
        const noloop = (t.flags & TRACK_NOLOOP) !== 0;
        const mine = noloop ? keys.filter(([, by]) => by !== c) : keys;
        if (mine.length === 0) continue;
        this.send(c, mine.map(([k]) => Buffer.from(k, 'latin1')));
      }
    }
  }

  forget(c: TrackedClient): void {
    this.disable(c);
  }
}

/** Redis's checkPrefixCollisionsOrReply: null, or the error text. */
export function prefixCollision(existing: Buffer[], added: Buffer[]): string | null {
  for (let i = 0; i < added.length; i++) {
    const p = added[i];
    for (const q of existing) {
      if (p.subarray(0, q.length).equals(q) || q.subarray(0, p.length).equals(p)) {
        if (p.equals(q)) continue;
        return `ERR Prefix '${p.toString('latin1')}' overlaps with an existing prefix '${q.toString('latin1')}'. Prefixes for a single client must not overlap.`;
      }
    }
    for (let j = i + 1; j < added.length; j++) {
      const q = added[j];
      if (p.subarray(0, q.length).equals(q) || q.subarray(0, p.length).equals(p)) {
        return `ERR Prefix '${p.toString('latin1')}' overlaps with another provided prefix '${q.toString('latin1')}'. Prefixes for a single client must not overlap.`;
      }
    }
  }
  return null;
}
