/**
 * HSCAN and SSCAN over a collection's cells, and their cursors.
 *
 * A collection of at most 128 cells is answered whole in one call (as Redis does for a
 * listpack-encoded hash). For bigger ones a cursor names the next cell (byte order): its
 * first 4 bytes and an entry in a bounded table of the exact cells where recent scans
 * stopped (the way Kvrocks keeps cursors). A call returns COUNT cells and resumes exactly;
 * a cursor whose table entry is gone (the table keeps the newest 10000, per process)
 * resumes at its 4-byte prefix and then finishes the run of cells sharing it, so the scan
 * still progresses and still returns every cell present throughout (some twice, which
 * SCAN allows).
 */
import type { StoredMeta } from '../storage/meta';
import type { CellEntry } from '../storage/keyspace';
import { stringMatch } from '../util/glob';
import type { KeyType } from '../storage/delta';
import { E } from './errors';
import { lookupOfType } from './lookup';
import { parseScanCursor, parseScanOptions } from './scan-args';
import type { CommandContext } from './types';

/** A collection of at most this many cells is answered in one call (Redis's listpack limit). */
const SCAN_ALL_MAX = 128;

/** Bytes of the next cell a cursor carries. */
const CURSOR_BYTES = 4;

/**
 * Where recent scans of big collections stopped, exactly: cursor id -> (db, key, next
 * cell). Bounded: the oldest entries go first. Per process; a cursor outlives its entry only
 * as the prefix it carries.
 */
const SCAN_POSITIONS_MAX = 10_000;
const scanPositions = new Map<number, { db: number; key: Buffer; field: Buffer }>();
let nextScanId = 1;
/** Cursor ids are 26 bits (with 4 prefix bytes and a 3-bit length they fit in 64 bits). */
const SCAN_ID_BITS = 26n;
const SCAN_ID_MASK = (1n << SCAN_ID_BITS) - 1n;

/** A cursor for resuming at `next`: its first bytes, how many, and a table entry. */
function cursorFor(db: number, key: Buffer, next: Buffer): bigint {
  const id = nextScanId;
  nextScanId = nextScanId >= Number(SCAN_ID_MASK) ? 1 : nextScanId + 1;
  scanPositions.delete(id);
  scanPositions.set(id, { db, key: Buffer.from(key), field: Buffer.from(next) });
  if (scanPositions.size > SCAN_POSITIONS_MAX) scanPositions.delete(scanPositions.keys().next().value as number);
  const k = Math.min(CURSOR_BYTES, next.length);
  let v = 0n;
  for (let i = 0; i < CURSOR_BYTES; i++) v = (v << 8n) | BigInt(i < k ? next[i] : 0);
  return (((v << 3n) | BigInt(k)) << SCAN_ID_BITS) | BigInt(id);
}

/** Where a cursor resumes: the exact cell (from the table) or only its prefix. */
function cursorPosition(db: number, key: Buffer, cursor: bigint): { from: Buffer | null; exact: boolean } {
  if (cursor === 0n) return { from: null, exact: true };
  const id = Number(cursor & SCAN_ID_MASK);
  const rest = cursor >> SCAN_ID_BITS;
  const k = Math.min(CURSOR_BYTES, Number(rest & 7n));
  let v = rest >> 3n;
  const bytes = Buffer.alloc(CURSOR_BYTES);
  for (let i = CURSOR_BYTES - 1; i >= 0; i--) {
    bytes[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  const prefix = bytes.subarray(0, k);
  const saved = scanPositions.get(id);
  if (saved !== undefined && saved.db === db && saved.key.equals(key) && saved.field.subarray(0, k).equals(prefix)) return { from: saved.field, exact: true };
  return { from: prefix, exact: false };
}

function samePrefix(a: Buffer, b: Buffer): boolean {
  if (a.length < CURSOR_BYTES || b.length < CURSOR_BYTES) return false;
  return a.compare(b, 0, CURSOR_BYTES, 0, CURSOR_BYTES) === 0;
}

/**
 * One scan call over the live cells of kind `kind` of the collection `m` at `key`: the
 * cells returned (those matching `pattern`, null: all) and the next cursor (0: done).
 */
export function scanCollection(
  ctx: CommandContext,
  key: Buffer,
  m: StoredMeta,
  kind: number,
  cursor: bigint,
  count: number,
  pattern: Buffer | null,
): { next: bigint; found: CellEntry[] } {
  const found: CellEntry[] = [];
  let next = 0n;
  const keep = (c: CellEntry): void => {
    if (pattern === null || stringMatch(pattern, c.field, false)) found.push(c);
  };
  if (m.count <= SCAN_ALL_MAX) {
    ctx.db.scanCells(key, m, kind, (c) => {
      keep(c);
      return true;
    });
    return { next, found };
  }
  let seen = 0;
  let last: Buffer | null = null;
  const at = cursorPosition(ctx.db.index, key, cursor);
  ctx.db.scanCells(
    key,
    m,
    kind,
    (c) => {
      // Resuming from a prefix only: finish its run first, so the scan always advances.
      if (seen >= count && last !== null && (at.exact || !samePrefix(last, c.field) || !samePrefix(at.from!, c.field))) {
        next = cursorFor(ctx.db.index, key, c.field);
        return false;
      }
      seen++;
      last = c.field;
      keep(c);
      return true;
    },
    at.from,
  );
  return { next, found };
}

const EMPTY_SCAN = Buffer.from('*2\r\n$1\r\n0\r\n*0\r\n');

/**
 * HSCAN / SSCAN key cursor [MATCH p] [COUNT n], as Redis's scanGenericCommand: the cursor
 * is parsed first, a missing key is an empty scan (before the options are looked at), a
 * key of another type is WRONGTYPE. `items` is how many reply elements a cell gives, and
 * `write` writes them.
 */
export function scanCommand(ctx: CommandContext, argv: Buffer[], type: KeyType, kind: number, items: number, write: (c: CellEntry) => void): void {
  const cursor = parseScanCursor(argv[2]);
  if (cursor === null) {
    ctx.reply.error(E.invalidCursor);
    return;
  }
  const key = argv[1];
  const m = lookupOfType(ctx, key, type);
  if (m === undefined) return;
  if (m === null) {
    ctx.reply.raw(EMPTY_SCAN);
    return;
  }
  const opts = parseScanOptions(ctx, argv, 3, false);
  if (opts === null) return;
  const { next, found } = scanCollection(ctx, key, m, kind, cursor, opts.count, opts.pattern);
  const r = ctx.reply;
  r.array(2);
  r.bulkString(next.toString());
  r.array(found.length * items);
  for (const c of found) write(c);
}
