/**
 * The hint store: writes a fallback node accepted on behalf of an owner that was down
 * (sloppy quorum), kept in the storage engine until the owner is back and acknowledges them.
 *
 * Layout, under the node-local system prefix so hints never mix with record keys:
 *
 *   key   = systemKey('hint/') | u16 targetIdLength | targetId (utf8) | u64 seq (big-endian)
 *   value = u64 storedAtMs | u8 db | u32 keyLength | key | delta (an encoded record)
 *
 * so one target's hints are one contiguous engine range, in arrival order. `seq` is
 * monotonic per store and never reused: on open it resumes after the highest hint found and
 * after a persisted high-water mark (systemKey('hint-seq'), raised in blocks in the same
 * atomic batch as the hint that crosses it), so even a store emptied by acks does not hand
 * out a key an old, in-flight ack could delete.
 *
 * Invariants:
 *   - within the store, storedAtMs never decreases with seq (the clock reading is clamped to
 *     the last one used), so a target's first hint is its oldest, the expired hints of a
 *     target are a prefix of its range, and "oldest age" needs no scan;
 *   - the in-memory stats (count, bytes, oldest) equal a recount of the engine. They are
 *     rebuilt by one scan in open() and changed only after the engine write that justifies
 *     them; mutations (add, ack, expire) run one at a time, so a check and its write cannot
 *     interleave with another mutation;
 *   - bounded: `maxBytesPerTarget` (engine key + value bytes) and `maxHintsTotal`; a hint
 *     that would exceed either is refused and counted in `dropped`, as are hints older than
 *     `hintWindowMs`, which are never replayed and are deleted by expire() a bounded number at
 *     a time. Anti-entropy repairs whatever was dropped.
 *
 * Replay is the caller's loop: batch() (oldest first), send, ack() exactly what the owner
 * acknowledged, at a rate a ReplayThrottle allows.
 */
import type { Clock } from '../runtime/clock';
import { scanEngine, writeOps, type Engine, type WriteOp } from '../storage/engine';
import { systemKey } from '../storage/layout';

export interface Hint {
  /** Node id of the intended owner. */
  target: string;
  /** Position in the store; with the target it names the engine key. */
  seq: number;
  db: number;
  key: Buffer;
  /** The encoded record (delta) to apply on the owner. */
  delta: Buffer;
  storedAtMs: number;
  /** Engine bytes this hint takes (key + value), as counted against the bounds. */
  bytes: number;
}

export interface HintStats {
  count: number;
  bytes: number;
  /** Age of the oldest pending hint at nowMs; 0 when there is none. */
  oldestAgeMs: number;
}

export interface HintTotals extends HintStats {
  /** Targets with at least one pending hint. */
  targets: number;
  /** Since open: hints stored, acknowledged by their owner, and dropped (refused + expired). */
  stored: number;
  replayed: number;
  dropped: number;
  droppedFull: number;
  droppedExpired: number;
}

export interface HintStoreOptions {
  /** Hints older than this are never replayed (directive `hint-window`). */
  hintWindowMs: number;
  /** Engine bytes (key + value) of pending hints per target. */
  maxBytesPerTarget: number;
  /** Pending hints over all targets. */
  maxHintsTotal: number;
  /** Default `max` of expire(). */
  expireBatchMax?: number;
  /** Sync every hint write (as appendfsync always does for records). */
  syncWrites?: boolean;
}

export const HINT_PREFIX = systemKey('hint/');
/** Outside the hint range: 'hint-' sorts before 'hint/'. */
export const HINT_SEQ_KEY = systemKey('hint-seq');

const VALUE_HEADER = 13;
const SEQ_BYTES = 8;
const MAX_TARGET_ID_BYTES = 0xffff;
const SEQ_BLOCK = 1024;
const SCAN_PAGE = 1024;

/** Engine key prefix of one target's hints. */
export function hintTargetPrefix(target: string): Buffer {
  const id = Buffer.from(target, 'utf8');
  if (id.length === 0 || id.length > MAX_TARGET_ID_BYTES) throw new Error(`hint target id of ${id.length} bytes`);
  const out = Buffer.allocUnsafe(HINT_PREFIX.length + 2 + id.length);
  HINT_PREFIX.copy(out, 0);
  out.writeUInt16BE(id.length, HINT_PREFIX.length);
  id.copy(out, HINT_PREFIX.length + 2);
  return out;
}

export function hintKey(target: string, seq: number): Buffer {
  const prefix = hintTargetPrefix(target);
  const out = Buffer.allocUnsafe(prefix.length + SEQ_BYTES);
  prefix.copy(out, 0);
  out.writeBigUInt64BE(BigInt(seq), prefix.length);
  return out;
}

/** Parse a hint key; throws on a key in the hint range that is not one (corruption). */
export function parseHintKey(k: Buffer): { target: string; seq: number } {
  const p = HINT_PREFIX.length;
  if (k.length < p + 2 + SEQ_BYTES || !k.subarray(0, p).equals(HINT_PREFIX)) throw new Error(`not a hint key: ${k.toString('hex')}`);
  const idLen = k.readUInt16BE(p);
  if (k.length !== p + 2 + idLen + SEQ_BYTES) throw new Error(`malformed hint key: ${k.toString('hex')}`);
  const seq = Number(k.readBigUInt64BE(p + 2 + idLen));
  return { target: k.toString('utf8', p + 2, p + 2 + idLen), seq };
}

export function encodeHintValue(storedAtMs: number, db: number, key: Buffer, delta: Buffer): Buffer {
  const out = Buffer.allocUnsafe(VALUE_HEADER + key.length + delta.length);
  out.writeBigUInt64BE(BigInt(storedAtMs), 0);
  out[8] = db;
  out.writeUInt32BE(key.length, 9);
  key.copy(out, VALUE_HEADER);
  delta.copy(out, VALUE_HEADER + key.length);
  return out;
}

export function decodeHintValue(v: Buffer): { storedAtMs: number; db: number; key: Buffer; delta: Buffer } {
  if (v.length < VALUE_HEADER) throw new Error(`malformed hint value of ${v.length} bytes`);
  const keyLen = v.readUInt32BE(9);
  if (v.length < VALUE_HEADER + keyLen) throw new Error('malformed hint value: key overruns');
  return {
    storedAtMs: Number(v.readBigUInt64BE(0)),
    db: v[8],
    key: Buffer.from(v.subarray(VALUE_HEADER, VALUE_HEADER + keyLen)),
    delta: Buffer.from(v.subarray(VALUE_HEADER + keyLen)),
  };
}

/** The smallest key greater than every key that starts with `prefix`. */
function prefixEnd(prefix: Buffer): Buffer {
  let i = prefix.length - 1;
  while (i >= 0 && prefix[i] === 0xff) i--;
  if (i < 0) throw new Error('prefix has no successor');
  const out = Buffer.from(prefix.subarray(0, i + 1));
  out[i]++;
  return out;
}

const HINT_END = prefixEnd(HINT_PREFIX);

interface PendingAdd {
  target: string;
  db: number;
  key: Buffer;
  delta: Buffer;
  resolve: (stored: boolean) => void;
  reject: (err: unknown) => void;
}

interface TargetState {
  count: number;
  bytes: number;
  headSeq: number;
  /** storedAtMs of the first (= oldest) hint. */
  oldestStoredAtMs: number;
}

function checkPositiveInt(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`HintStore: ${name} must be a positive integer, got ${v}`);
}

export class HintStore {
  private readonly targetsState = new Map<string, TargetState>();
  private totalCount = 0;
  private totalBytes = 0;
  private nextSeq = 0;
  /** Persisted: no seq at or above it has been handed out before this store was opened. */
  private seqCeiling = 0;
  private lastStoredAtMs = 0;
  private opened = false;
  private tail: Promise<unknown> = Promise.resolve();
  private addQueue: PendingAdd[] = [];
  private addScheduled = false;
  private readonly counters = { stored: 0, replayed: 0, droppedFull: 0, droppedExpired: 0 };
  private readonly expireBatchMax: number;
  private readonly syncWrites: boolean;

  constructor(
    private readonly engine: Engine,
    private readonly clock: Clock,
    private readonly opts: HintStoreOptions,
  ) {
    checkPositiveInt('hintWindowMs', opts.hintWindowMs);
    checkPositiveInt('maxBytesPerTarget', opts.maxBytesPerTarget);
    checkPositiveInt('maxHintsTotal', opts.maxHintsTotal);
    this.expireBatchMax = opts.expireBatchMax ?? 1000;
    checkPositiveInt('expireBatchMax', this.expireBatchMax);
    this.syncWrites = opts.syncWrites ?? false;
  }

  /** Rebuild stats and the sequence by one scan of the hint range. */
  open(): Promise<void> {
    return this.exclusive(async () => {
      this.targetsState.clear();
      this.totalCount = 0;
      this.totalBytes = 0;
      let maxSeq = -1;
      let gte = HINT_PREFIX;
      for (;;) {
        let n = 0;
        let last: Buffer | null = null;
        for await (const [k, v] of scanEngine(this.engine, { gte, lt: HINT_END, limit: SCAN_PAGE })) {
          n++;
          last = k;
          const { target, seq } = parseHintKey(k);
          const { storedAtMs } = decodeHintValue(v);
          const bytes = k.length + v.length;
          const st = this.targetsState.get(target);
          if (st === undefined) {
            this.targetsState.set(target, { count: 1, bytes, headSeq: seq, oldestStoredAtMs: storedAtMs });
          } else {
            st.count++;
            st.bytes += bytes;
          }
          this.totalCount++;
          this.totalBytes += bytes;
          if (seq > maxSeq) maxSeq = seq;
          if (storedAtMs > this.lastStoredAtMs) this.lastStoredAtMs = storedAtMs;
        }
        if (n < SCAN_PAGE || last === null) break;
        gte = Buffer.concat([last, Buffer.from([0])]);
      }
      const ceiling = await this.engine.get(HINT_SEQ_KEY);
      this.seqCeiling = ceiling === undefined ? 0 : Number(ceiling.readBigUInt64BE(0));
      this.nextSeq = Math.max(maxSeq + 1, this.seqCeiling);
      this.opened = true;
    });
  }

  /**
   * Store a hint for `target`. Returns false (and counts it dropped) when it would exceed the
   * target's byte bound or the total count bound. Hints added while a store write is in
   * flight go out together in the next one (group commit), in the order they were added.
   */
  add(target: string, db: number, key: Buffer, delta: Buffer): Promise<boolean> {
    if (!Number.isInteger(db) || db < 0 || db > 255) throw new Error(`hint db out of range: ${db}`);
    return new Promise<boolean>((resolve, reject) => {
      this.addQueue.push({ target, db, key, delta, resolve, reject });
      if (this.addQueue.length === 1 && !this.addScheduled) {
        this.addScheduled = true;
        this.exclusive(() => this.writeAdds()).catch(() => undefined);
      }
    });
  }

  /** One engine write for every queued add that fits the bounds. */
  private async writeAdds(): Promise<void> {
    this.addScheduled = false;
    const items = this.addQueue;
    this.addQueue = [];
    try {
      this.assertOpen();
      const storedAtMs = Math.max(this.clock.nowMs(), this.lastStoredAtMs);
      const ops: WriteOp[] = [];
      const accepted: { item: PendingAdd; seq: number; bytes: number }[] = [];
      const extraBytes = new Map<string, number>();
      for (const item of items) {
        const seq = this.nextSeq;
        const k = hintKey(item.target, seq);
        const v = encodeHintValue(storedAtMs, item.db, item.key, item.delta);
        const bytes = k.length + v.length;
        const held = (this.targetsState.get(item.target)?.bytes ?? 0) + (extraBytes.get(item.target) ?? 0);
        if (held + bytes > this.opts.maxBytesPerTarget || this.totalCount + accepted.length + 1 > this.opts.maxHintsTotal) {
          this.counters.droppedFull++;
          item.resolve(false);
          continue;
        }
        this.nextSeq = seq + 1; // consumed even if the write fails: never reuse a key
        ops.push({ type: 'put', key: k, value: v });
        accepted.push({ item, seq, bytes });
        extraBytes.set(item.target, (extraBytes.get(item.target) ?? 0) + bytes);
      }
      if (ops.length === 0) return;
      const lastSeq = accepted[accepted.length - 1].seq;
      const newCeiling = lastSeq >= this.seqCeiling ? lastSeq + SEQ_BLOCK : this.seqCeiling;
      if (newCeiling !== this.seqCeiling) {
        const c = Buffer.allocUnsafe(8);
        c.writeBigUInt64BE(BigInt(newCeiling), 0);
        ops.push({ type: 'put', key: HINT_SEQ_KEY, value: c });
      }
      writeOps(this.engine, ops, this.syncWrites);
      this.seqCeiling = newCeiling;
      this.lastStoredAtMs = storedAtMs;
      for (const { item, seq, bytes } of accepted) {
        const st = this.targetsState.get(item.target);
        if (st === undefined) this.targetsState.set(item.target, { count: 1, bytes, headSeq: seq, oldestStoredAtMs: storedAtMs });
        else {
          st.count++;
          st.bytes += bytes;
        }
        this.totalCount++;
        this.totalBytes += bytes;
        this.counters.stored++;
        item.resolve(true);
      }
    } catch (err) {
      for (const item of items) item.reject(err);
      throw err;
    }
  }

  /** Up to `max` of target's hints, oldest first, skipping expired ones (never replayed). */
  async batch(target: string, max: number, nowMs = this.clock.nowMs()): Promise<Hint[]> {
    this.assertOpen();
    checkPositiveInt('max', max);
    const out: Hint[] = [];
    if (!this.targetsState.has(target)) return out;
    const prefix = hintTargetPrefix(target);
    const lt = prefixEnd(prefix);
    let gte = prefix;
    for (;;) {
      let n = 0;
      let last: Buffer | null = null;
      for await (const [k, v] of scanEngine(this.engine, { gte, lt, limit: Math.min(SCAN_PAGE, max) })) {
        n++;
        last = k;
        const h = decodeHintValue(v);
        if (this.isExpired(h.storedAtMs, nowMs)) continue;
        out.push({ target, seq: parseHintKey(k).seq, ...h, bytes: k.length + v.length });
        if (out.length >= max) return out;
      }
      if (n < Math.min(SCAN_PAGE, max) || last === null) return out;
      gte = Buffer.concat([last, Buffer.from([0])]);
    }
  }

  /**
   * Delete exactly these hints of `target` (the ones its owner acknowledged), in one atomic
   * write. Hints already gone (acked twice, expired meanwhile) are ignored. Returns how many
   * were deleted.
   */
  ack(target: string, hints: readonly Hint[]): Promise<number> {
    return this.exclusive(async () => {
      this.assertOpen();
      const st = this.targetsState.get(target);
      if (st === undefined || hints.length === 0) return 0;
      const seen = new Set<number>();
      const unique: Hint[] = [];
      for (const h of hints) {
        if (h.target !== target) throw new Error(`ack for ${target} given a hint for ${h.target}`);
        if (seen.has(h.seq)) continue;
        seen.add(h.seq);
        unique.push(h);
      }
      // Which of them are still there (acked twice, expired meanwhile): one scan over their
      // seq range, not a lookup each (a batch is a run of neighbouring seqs).
      let lo = Infinity;
      let hi = -1;
      for (const h of unique) {
        if (h.seq < lo) lo = h.seq;
        if (h.seq > hi) hi = h.seq;
      }
      const present = new Map<number, number>();
      if (hi >= 0) {
        for await (const [k, v] of scanEngine(this.engine, { gte: hintKey(target, lo), lt: hintKey(target, hi + 1) })) {
          present.set(parseHintKey(k).seq, k.length + v.length);
        }
      }
      const ops: WriteOp[] = [];
      let bytes = 0;
      let removedHead = false;
      for (const h of unique) {
        const size = present.get(h.seq);
        if (size === undefined) continue;
        ops.push({ type: 'del', key: hintKey(target, h.seq) });
        bytes += size;
        if (h.seq === st.headSeq) removedHead = true;
      }
      if (ops.length === 0) return 0;
      writeOps(this.engine, ops, this.syncWrites);
      this.counters.replayed += ops.length;
      await this.removed(target, st, ops.length, bytes, removedHead);
      return ops.length;
    });
  }

  /**
   * Delete up to `max` hints older than the hint window, oldest first per target, in one
   * atomic write; they count as dropped. Returns how many were deleted.
   */
  expire(nowMs = this.clock.nowMs(), max = this.expireBatchMax): Promise<number> {
    checkPositiveInt('max', max);
    return this.exclusive(async () => {
      this.assertOpen();
      const ops: WriteOp[] = [];
      const perTarget: { target: string; st: TargetState; n: number; bytes: number }[] = [];
      for (const [target, st] of this.targetsState) {
        if (ops.length >= max) break;
        if (!this.isExpired(st.oldestStoredAtMs, nowMs)) continue;
        const prefix = hintTargetPrefix(target);
        let n = 0;
        let bytes = 0;
        for await (const [k, v] of scanEngine(this.engine, { gte: prefix, lt: prefixEnd(prefix), limit: max - ops.length })) {
          // Stored times never decrease with seq, so the expired hints are a prefix.
          if (!this.isExpired(decodeHintValue(v).storedAtMs, nowMs)) break;
          ops.push({ type: 'del', key: k });
          n++;
          bytes += k.length + v.length;
        }
        if (n > 0) perTarget.push({ target, st, n, bytes });
      }
      if (ops.length === 0) return 0;
      writeOps(this.engine, ops, this.syncWrites);
      this.counters.droppedExpired += ops.length;
      for (const p of perTarget) await this.removed(p.target, p.st, p.n, p.bytes, true);
      return ops.length;
    });
  }

  /** Targets with pending hints. */
  targets(): string[] {
    return [...this.targetsState.keys()];
  }

  stats(target: string, nowMs = this.clock.nowMs()): HintStats {
    const st = this.targetsState.get(target);
    if (st === undefined) return { count: 0, bytes: 0, oldestAgeMs: 0 };
    return { count: st.count, bytes: st.bytes, oldestAgeMs: Math.max(0, nowMs - st.oldestStoredAtMs) };
  }

  /** For INFO. */
  totals(nowMs = this.clock.nowMs()): HintTotals {
    let oldest = Infinity;
    for (const st of this.targetsState.values()) oldest = Math.min(oldest, st.oldestStoredAtMs);
    const c = this.counters;
    return {
      targets: this.targetsState.size,
      count: this.totalCount,
      bytes: this.totalBytes,
      oldestAgeMs: oldest === Infinity ? 0 : Math.max(0, nowMs - oldest),
      stored: c.stored,
      replayed: c.replayed,
      dropped: c.droppedFull + c.droppedExpired,
      droppedFull: c.droppedFull,
      droppedExpired: c.droppedExpired,
    };
  }

  private isExpired(storedAtMs: number, nowMs: number): boolean {
    return nowMs - storedAtMs > this.opts.hintWindowMs;
  }

  /** Account for deleted hints; find the new head when the old one went. */
  private async removed(target: string, st: TargetState, n: number, bytes: number, removedHead: boolean): Promise<void> {
    st.count -= n;
    st.bytes -= bytes;
    this.totalCount -= n;
    this.totalBytes -= bytes;
    if (st.count < 0 || st.bytes < 0) throw new Error(`hint stats for ${target} went negative`);
    if (st.count === 0) {
      this.targetsState.delete(target);
      return;
    }
    if (!removedHead) return;
    const prefix = hintTargetPrefix(target);
    for await (const [k, v] of scanEngine(this.engine, { gte: prefix, lt: prefixEnd(prefix), limit: 1 })) {
      st.headSeq = parseHintKey(k).seq;
      st.oldestStoredAtMs = decodeHintValue(v).storedAtMs;
      return;
    }
    throw new Error(`hint stats for ${target} count ${st.count} but the range is empty`);
  }

  private assertOpen(): void {
    if (!this.opened) throw new Error('HintStore used before open()');
  }

  /** Run mutations one at a time. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

/**
 * A token bucket for throttled replay: `ratePerSec` tokens a second, holding at most
 * `burst`. Pure: time comes in as nowMs, and a step back in time adds nothing. Tokens are
 * kept in thousandths (tokens × 1000 = ms × rate), so integer rates stay exact.
 */
export class ReplayThrottle {
  private milliTokens: number;
  private lastMs: number | null = null;

  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
  ) {
    checkPositiveInt('ratePerSec', ratePerSec);
    checkPositiveInt('burst', burst);
    this.milliTokens = burst * 1000;
  }

  private refill(nowMs: number): void {
    if (this.lastMs !== null && nowMs > this.lastMs) {
      this.milliTokens = Math.min(this.burst * 1000, this.milliTokens + (nowMs - this.lastMs) * this.ratePerSec);
    }
    if (this.lastMs === null || nowMs > this.lastMs) this.lastMs = nowMs;
  }

  /** Take up to n tokens at nowMs; returns how many were granted (0..n). */
  take(nowMs: number, n: number): number {
    this.refill(nowMs);
    const granted = Math.max(0, Math.min(n, Math.floor(this.milliTokens / 1000)));
    this.milliTokens -= granted * 1000;
    return granted;
  }

  /** Milliseconds from nowMs until n tokens (capped at burst) are available; 0 if now. */
  msUntil(nowMs: number, n: number): number {
    this.refill(nowMs);
    const need = Math.min(n, this.burst) * 1000 - this.milliTokens;
    return need <= 0 ? 0 : Math.ceil(need / this.ratePerSec);
  }
}
