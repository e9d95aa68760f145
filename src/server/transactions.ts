/**
 * MULTI/EXEC state, as Redis's multi.c keeps it: per client, the queued commands and
 * whether queuing failed (EXEC then answers EXECABORT); the WATCHed keys and whether one of
 * them was touched since (EXEC then answers a null array).
 *
 * On one node "touched" is exact: the keyspace tells the WatchRegistry of every change to a
 * key (a write, FLUSHALL, an expiry retiring it), as Redis's touchWatchedKey does. In a
 * cluster the writes to a key happen at its primary, which may be another node: WATCH then
 * records the key's digest as its primary has it, and EXEC, run at the primary, compares
 * (coordinator.ts `transaction`).
 */
import type { CommandContext, CommandEntry } from '../commands/types';
import type { ClientState } from './client-state';
import { cacheKey, keyOf } from '../storage/keyspace';

export interface Queued {
  entry: CommandEntry;
  argv: Buffer[];
}

/** A WATCHed key. */
export interface Watched {
  db: number;
  key: Buffer;
  /** The key was stored but past its TTL at WATCH time (Redis's watchedKey.expired). */
  expiredAtWatch: boolean;
  /** Cluster: the key's digest at its primary when watched. */
  digest: Buffer | null;
  /** Cluster: whether the key was live at its primary when watched. */
  live: boolean;
}

/** A client's transaction state (created on first use). */
export class ClientTx {
  /** Commands queued since MULTI; null outside MULTI. */
  queue: Queued[] | null = null;
  /** A command failed to queue (unknown, arity, ...): EXEC answers EXECABORT. */
  aborted = false;
  /** Bytes of the queued commands' arguments (bounded by client-query-buffer-limit). */
  queuedBytes = 0;
  readonly watched = new Map<string, Watched>();
  /** A watched key was touched (Redis's CLIENT_DIRTY_CAS). */
  dirty = false;
}

export function txOf(c: ClientState): ClientTx {
  return (c.tx ??= new ClientTx());
}

/**
 * The context a queued command runs in at EXEC: the client's current db (a SELECT earlier in
 * the queue applies), the EXEC's reply and time, and no blocking.
 */
export function queuedContext(ctx: CommandContext): CommandContext {
  const c = ctx.client;
  return { reply: ctx.reply, db: c.dbView(c.dbIndex), client: c, server: ctx.server, nowMs: ctx.nowMs, noBlock: true };
}

/** Which clients watch which keys on this node (Redis's db->watched_keys). */
export class WatchRegistry {
  private readonly byKey = new Map<string, Set<ClientTx>>();

  get size(): number {
    return this.byKey.size;
  }

  add(tx: ClientTx, w: Watched): void {
    const k = cacheKey(w.db, w.key);
    if (tx.watched.has(k)) return;
    tx.watched.set(k, w);
    let set = this.byKey.get(k);
    if (set === undefined) this.byKey.set(k, (set = new Set()));
    set.add(tx);
  }

  /** UNWATCH, EXEC, DISCARD, RESET and a closed connection forget every watched key. */
  unwatchAll(tx: ClientTx): void {
    for (const k of tx.watched.keys()) {
      const set = this.byKey.get(k);
      if (set === undefined) continue;
      set.delete(tx);
      if (set.size === 0) this.byKey.delete(k);
    }
    tx.watched.clear();
    tx.dirty = false;
  }

  /** A key changed: every client watching it is dirty. */
  touched(db: number, key: Buffer): void {
    const set = this.byKey.get(cacheKey(db, key));
    if (set !== undefined) for (const tx of set) tx.dirty = true;
  }

  /**
   * FLUSHDB / FLUSHALL is about to remove every key of `db` (null: of all): a watched key
   * that exists now is touched, as Redis's touchAllWatchedKeysInDb does.
   */
  flushing(db: number | null, exists: (db: number, key: Buffer) => boolean): void {
    for (const [k, set] of this.byKey) {
      const d = k.charCodeAt(0);
      if (db !== null && d !== db) continue;
      if (!exists(d, keyOf(k))) continue;
      for (const tx of set) tx.dirty = true;
    }
  }
}
