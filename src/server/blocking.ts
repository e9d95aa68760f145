/**
 * Clients blocked on keys (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX,
 * BZMPOP), as Redis's blocked.c keeps them.
 *
 * A blocked client waits on one or more keys with an `attempt`: run the command again
 * without blocking; true when it wrote a reply (served, or an error such as WRONGTYPE).
 * When a key with waiters changes (the keyspace tells us: `touched`), the key is "ready";
 * after the command that changed it, `serveReady` gives each ready key's waiters, first
 * blocked first served, an attempt each until one finds nothing left. A waiter's timeout
 * writes the command's timeout reply (a null), and a client that goes away is forgotten.
 *
 * On one node attempts are synchronous, so a push and the pops it feeds run back to back,
 * as in Redis. In a cluster the attempt runs at the key's primary through the coordinator,
 * and is asynchronous: one attempt per key is in flight at a time, and a change seen
 * meanwhile makes the key ready again once it completes.
 */
import type { ClientState } from './client-state';
import { cacheKey } from '../storage/keyspace';

/** Run the blocked command again, without blocking, at `nowMs`: true when it replied. */
export type Attempt = (nowMs: number) => boolean | Promise<boolean>;

interface Waiter {
  client: ClientState;
  keys: string[];
  attempt: Attempt;
  onTimeout: () => void;
  onError: (message: string) => void;
  done: () => void;
  timer: NodeJS.Timeout | null;
  /** An asynchronous attempt is running. */
  busy: boolean;
  /** The timeout passed while an attempt was running: time out once it found nothing. */
  expired: boolean;
  finished: boolean;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Bound on blocked clients per key (clients are bounded by maxclients too). */
const MAX_WAITERS_PER_KEY = 100_000;

export class BlockingRegistry {
  private readonly byKey = new Map<string, Waiter[]>();
  private readonly byClient = new Map<ClientState, Waiter>();
  /** Keys with waiters that changed, in the order they changed. */
  private readonly ready = new Set<string>();
  /** Keys whose asynchronous attempt is running, and whether they changed meanwhile. */
  private readonly inFlight = new Map<string, boolean>();
  private serving = false;
  private scheduled = false;
  constructor(private readonly now: () => number) {}

  /** Clients blocked now (INFO blocked_clients). */
  get blockedClients(): number {
    return this.byClient.size;
  }

  /** Keys with blocked clients (the server skips `touched` while there are none). */
  get blockedKeys(): number {
    return this.byKey.size;
  }

  isBlocked(client: ClientState): boolean {
    return this.byClient.has(client);
  }

  /**
   * Block `client` on `keys` of db until an attempt serves it or `timeoutMs` passes (0:
   * forever). Resolves when it has been answered, either way. Returns an error text when
   * it cannot block (too many waiters on a key).
   */
  block(client: ClientState, db: number, keys: readonly Buffer[], timeoutMs: number, attempt: Attempt, onTimeout: () => void, onError: (message: string) => void): Promise<void> | string {
    const cks = [...new Set(keys.map((k) => cacheKey(db, k)))];
    for (const ck of cks) if ((this.byKey.get(ck)?.length ?? 0) >= MAX_WAITERS_PER_KEY) return 'ERR max number of clients blocked on a key reached';
    return new Promise<void>((resolve) => {
      const w: Waiter = { client, keys: cks, attempt, onTimeout, onError, done: resolve, timer: null, busy: false, expired: false, finished: false };
      for (const ck of cks) {
        let list = this.byKey.get(ck);
        if (list === undefined) this.byKey.set(ck, (list = []));
        list.push(w);
      }
      this.byClient.set(client, w);
      if (timeoutMs > 0) this.arm(w, this.now() + timeoutMs);
    });
  }

  /** A key changed: if clients wait on it, it is ready (served after the current command). */
  touched(db: number, key: Buffer): void {
    const ck = cacheKey(db, key);
    if (!this.byKey.has(ck)) return;
    if (this.inFlight.has(ck)) {
      this.inFlight.set(ck, true);
      return;
    }
    this.ready.add(ck);
    // Changes that no client command made (a replica's delta, a cluster wake-up) are served
    // at the end of this turn; a client's command serves them itself, right after it ran.
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.serveReady();
      });
    }
  }

  get hasReady(): boolean {
    return this.ready.size > 0;
  }

  /** Serve the waiters of every ready key (Redis's handleClientsBlockedOnKeys). */
  serveReady(): void {
    if (this.serving) return; // keys made ready by a served client are picked up by the loop
    this.serving = true;
    try {
      while (this.ready.size > 0) {
        const ck = this.ready.values().next().value as string;
        this.ready.delete(ck);
        this.serveKey(ck);
      }
    } finally {
      this.serving = false;
    }
  }

  private serveKey(ck: string): void {
    const list = this.byKey.get(ck);
    if (list === undefined) return;
    for (const w of [...list]) {
      if (w.finished || w.busy) continue;
      const r = w.attempt(this.now());
      if (r === true) {
        this.finish(w);
        continue;
      }
      if (r === false) return; // nothing left for the ones after it
      // Asynchronous (cluster): one attempt per key at a time.
      w.busy = true;
      this.inFlight.set(ck, false);
      r.then(
        (served) => this.attempted(ck, w, served),
        () => this.attempted(ck, w, false),
      );
      return;
    }
  }

  private attempted(ck: string, w: Waiter, served: boolean): void {
    const again = this.inFlight.get(ck) === true;
    this.inFlight.delete(ck);
    w.busy = false;
    if (served) this.finish(w);
    else if (w.expired) this.timeOut(w);
    // Served: the next waiter may find more. Changed meanwhile: try again.
    if ((served || again) && this.byKey.has(ck)) {
      this.ready.add(ck);
      this.serveReady();
    }
  }

  /** Node timers stop at 2^31-1 ms (24.8 days): longer timeouts re-arm. */
  private arm(w: Waiter, deadline: number): void {
    const left = deadline - this.now();
    if (left > MAX_TIMER_MS) w.timer = setTimeout(() => this.arm(w, deadline), MAX_TIMER_MS);
    else w.timer = setTimeout(() => this.expire(w), Math.max(0, left));
  }

  private expire(w: Waiter): void {
    w.timer = null;
    if (w.finished) return;
    if (w.busy) {
      w.expired = true;
      return;
    }
    this.timeOut(w);
  }

  private timeOut(w: Waiter): void {
    this.remove(w);
    w.onTimeout();
    w.done();
  }

  private finish(w: Waiter): void {
    this.remove(w);
    w.done();
  }

  private remove(w: Waiter): void {
    if (w.finished) return;
    w.finished = true;
    if (w.timer !== null) clearTimeout(w.timer);
    w.timer = null;
    this.byClient.delete(w.client);
    for (const ck of w.keys) {
      const list = this.byKey.get(ck);
      if (list === undefined) continue;
      const i = list.indexOf(w);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) {
        this.byKey.delete(ck);
        this.ready.delete(ck);
      }
    }
  }

  /** The client went away: forget it without answering. */
  forget(client: ClientState): void {
    const w = this.byClient.get(client);
    if (w === undefined) return;
    this.remove(w);
    w.done();
  }

  /**
   * CLIENT UNBLOCK: answer a blocked client now, with its timeout reply or the given
   * error. Returns whether it was blocked.
   */
  unblock(client: ClientState, error: string | null): boolean {
    const w = this.byClient.get(client);
    if (w === undefined || w.busy) return false;
    this.remove(w);
    if (error === null) w.onTimeout();
    else w.onError(error);
    w.done();
    return true;
  }
}
