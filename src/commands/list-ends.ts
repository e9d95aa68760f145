/**
 * A list's end windows: a local, non-replicated, non-persisted index of the element ids
 * nearest to each end, hung on the key's cached metadata entry (meta.ts CellObserver), so
 * that pushes, pops and reads near an end cost O(1) engine reads however many elements
 * were popped before.
 *
 * Why: the ends of a list are the first live cells of a forward and a reverse scan of its
 * cells, and a scan from the start of the key walks over every popped element's deletion
 * (RocksDB tombstones alone, our field tombstones for tombstone-grace with replicas): each
 * pop would cost O(elements ever popped). A window remembers where the dead part ends.
 *
 * Invariant, per end: every live id at or before `bound` (seen from that end) is in `ids`,
 * and `ids` holds nothing else, nearest first. `bound` null with `toEnd` false: the window
 * covers nothing yet; `toEnd`: it covers the whole list (a scan reached the far end).
 * Keyspace.apply tells the window of every applied cell of the key (a local write, a
 * replica's delta, a hint, a repair), so a live write inside the covered range is inserted
 * and a tombstone removed; what changes many cells at once drops the window (meta.ts). A
 * walk from an end (lists.ts) visits `ids` and then scans the engine from `bound`,
 * exclusive, extending the window as it goes: dead entries before the bound are never
 * walked again. The window is capped (`WINDOW_MAX`, trimmed by moving the bound nearer),
 * so its memory is bounded (at most 2 x 2 x WINDOW_MAX ids per cached list, charged to the
 * record cache with the key's metadata entry).
 *
 * Values of window ids are read from the record cache only (Keyspace.cachedCellValue):
 * cells pushed or read lately are there. When one is not (evicted, or after a restart
 * with the window rebuilt by a scan), the walk goes on with one engine scan from that id,
 * which costs far less than a point read per element.
 */
import type { CellObserver } from '../storage/meta';
import { CELL_FIELD } from '../storage/layout';

/**
 * Most ids a walk puts into a window (pushes may grow it to twice this before it is
 * trimmed). A walk covers every id it reads on the way (1024: LRANGE 0 .. 599 near an end
 * then reads its values from the record cache, ~0.5 µs each, not from an engine scan,
 * ~1.5-2.5 µs a row here, the binding's cost); the window's ~120 bytes an id are small
 * next to the cached cells they point at (~500 bytes each).
 */
export const WINDOW_MAX = 1024;
/** Once its visitor is done, a walk reads on only until the window holds this many ids: a pop refills 64 at a time. */
export const WINDOW_FILL = 64;

export class EndWindow {
  /** Live ids from the end inwards. */
  ids: Buffer[] = [];
  /** The covered range ends here (inclusive); null: nothing covered (unless toEnd). */
  bound: Buffer | null = null;
  /** Covers every live id of the list. */
  toEnd = false;

  /** `head`: ids ascend from the head; otherwise they descend from the tail. */
  constructor(readonly head: boolean) {}

  /** Byte order seen from this end: negative when `a` is nearer the end than `b`. */
  order(a: Buffer, b: Buffer): number {
    const c = Buffer.compare(a, b);
    return this.head ? c : -c;
  }

  covers(field: Buffer): boolean {
    if (this.toEnd) return true;
    return this.bound !== null && this.order(field, this.bound) <= 0;
  }

  /** Index of `field` in `ids`, or -(insertion point) - 1. */
  private find(field: Buffer): number {
    let lo = 0;
    let hi = this.ids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.order(this.ids[mid], field);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -lo - 1;
  }

  insert(field: Buffer): void {
    const i = this.find(field);
    if (i >= 0) return;
    this.ids.splice(-i - 1, 0, Buffer.from(field));
    if (this.ids.length > 2 * WINDOW_MAX) {
      // Trim the far side: the bound moves nearer, the ids beyond it are uncovered again.
      this.ids.length = WINDOW_MAX;
      this.bound = this.ids[WINDOW_MAX - 1];
      this.toEnd = false;
    }
  }

  remove(field: Buffer): void {
    const i = this.find(field);
    if (i >= 0) this.ids.splice(i, 1);
  }

  /** A walk found `field` live just past the bound: cover it, if there is room. Returns whether it did. */
  extend(field: Buffer): boolean {
    if (this.ids.length >= WINDOW_MAX) return false;
    const id = Buffer.from(field);
    this.ids.push(id);
    this.bound = id;
    return true;
  }
}

/** Both end windows of one cached list. */
export class ListEnds implements CellObserver {
  readonly head = new EndWindow(true);
  readonly tail = new EndWindow(false);

  cellChanged(kind: number, field: Buffer, wasLive: boolean, isLive: boolean): void {
    if (kind !== CELL_FIELD || wasLive === isLive) return;
    for (const w of [this.head, this.tail]) {
      if (!w.covers(field)) continue;
      if (isLive) w.insert(field);
      else w.remove(field);
    }
  }

  memoryBytes(): number {
    return (this.head.ids.length + this.tail.ids.length) * 120;
  }

  side(fromHead: boolean): EndWindow {
    return fromHead ? this.head : this.tail;
  }
}
