/**
 * Counters that never lose an increment (INCR, INCRBY, DECR, DECRBY, INCRBYFLOAT, and for
 * collection fields HINCRBY, HINCRBYFLOAT, ZINCRBY: commands/counter-field.ts), as
 * per-node contributions merged by sum, the way Redis Enterprise's Active-Active counters
 * and Riak's PN-counters work.
 *
 * A string key keeps its *base* in its value cell: what SET (or APPEND, SETRANGE, SETBIT,
 * ...) wrote, or nothing when the key was created by an increment. An increment does not
 * rewrite the base: the node that executes it writes its own *contribution cell*, a cell
 * of kind CELL_FIELD of the string key (strings have no other cells):
 *
 *   field = u32 node tag | f64 birth t | u32 birth n      (16 bytes)
 *   value = u32 length of R | R | O
 *
 * R is the value this node's latest increment produced and O the value the key had
 * without this node's contribution when it computed R (both as the decimal text Redis
 * stores), so the contribution is R - O. Only the node whose tag the field carries writes
 * it, each time with a newer stamp, so the per-cell merge (newest stamp wins) keeps its
 * latest total, and contributions of different nodes are different cells: both sides of a
 * partition keep theirs. The birth stamp makes a fresh cell whenever the node holds no live
 * contribution of its own (a first increment, one after a SET, or a copy it had dropped),
 * so a node never overwrites a contribution it cannot see.
 *
 * The value a reader sees (`materialize`) is the base plus the sum of the live
 * contributions. With a single contribution made on exactly this base (always the case on
 * one node) it is R itself, so a node alone computes exactly what Redis computes (the
 * 80-bit long double arithmetic of INCRBYFLOAT included). With several, integers add
 * exactly; if any part is not an integer they add in the same long double arithmetic and
 * the result is formatted as INCRBYFLOAT formats.
 *
 * A SET writes a key tombstone: every contribution stamped before it dies with the old
 * base; a contribution stamped after it (an increment on the other side of a partition,
 * by a node that had not seen the SET) survives and adds to the new base. The other writes
 * that replace a value (APPEND, SETRANGE, SETBIT, ...) do the same (DbView.updateString).
 */
import {
  addInt64, formatInt64, formatLongDouble, parseInt64, parseLongDouble, addLongDouble, type Int64, type LongDouble,
} from '../util/numbers';

export const CONTRIBUTION_FIELD_BYTES = 16;

const ZERO = Buffer.from('0');
const ZERO_SCORE = Buffer.alloc(8);

/**
 * How a counter's values are spelled: decimal text (strings, hash fields: integers or
 * INCRBYFLOAT's long doubles) or a sorted set score (an 8-byte big-endian double).
 */
export type CounterEncoding = 'text' | 'score';

/** The counter encoding of a collection type's field values. */
export function counterEncoding(type: string | null): CounterEncoding {
  return type === 'zset' ? 'score' : 'text';
}

/** The base a field created by an increment gets ("0", or the score 0). */
export function counterZero(encoding: CounterEncoding): Buffer {
  return encoding === 'text' ? ZERO : ZERO_SCORE;
}

export function contributionField(tag: number, t: number, n: number): Buffer {
  const f = Buffer.allocUnsafe(CONTRIBUTION_FIELD_BYTES);
  f.writeUInt32BE(tag >>> 0, 0);
  f.writeDoubleBE(t, 4);
  f.writeUInt32BE(n >>> 0, 12);
  return f;
}

export function contributionTag(field: Buffer): number {
  return field.length === CONTRIBUTION_FIELD_BYTES ? field.readUInt32BE(0) : -1;
}

/** The birth stamp's t of a contribution field (newer incarnations sort later). */
export function contributionBirth(field: Buffer): number {
  return field.readDoubleBE(4);
}

/**
 * Split a key's (or a field's) live contributions into this node's own, the one with the
 * newest birth among those carrying `tag` (null: none, the next increment starts a new
 * cell), and the values of all the others. `field` is the cell's whole field; its last
 * CONTRIBUTION_FIELD_BYTES are the contribution id (a hash field's cells prefix the field).
 */
export function ownContribution(cells: Iterable<{ field: Buffer; value: Buffer }>, tag: number): { own: Buffer | null; others: Buffer[] } {
  let own: { id: Buffer; field: Buffer; value: Buffer } | null = null;
  const others: Buffer[] = [];
  for (const c of cells) {
    const id = c.field.subarray(c.field.length - CONTRIBUTION_FIELD_BYTES);
    if (contributionTag(id) === tag && (own === null || contributionBirth(id) > contributionBirth(own.id))) {
      if (own !== null) others.push(own.value);
      own = { id, field: c.field, value: c.value };
    } else others.push(c.value);
  }
  return { own: own === null ? null : own.field, others };
}

export function encodeContribution(r: Buffer, o: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + r.length + o.length);
  out.writeUInt32BE(r.length, 0);
  r.copy(out, 4);
  o.copy(out, 4 + r.length);
  return out;
}

export function decodeContribution(v: Buffer): { r: Buffer; o: Buffer } | null {
  if (v.length < 4) return null;
  const len = v.readUInt32BE(0);
  if (4 + len > v.length) return null;
  return { r: v.subarray(4, 4 + len), o: v.subarray(4 + len) };
}

/**
 * The value a string with base `base` (null: created by increments, counts as 0) and
 * these live contributions shows ("0" for no base and no contribution). A base that is not a number cannot have been
 * incremented; contributions that raced with its SET are not shown (the SET wins).
 */
export function materialize(base: Buffer | null, contributions: Iterable<Buffer>, encoding: CounterEncoding = 'text'): Buffer {
  const parts: { r: Buffer; o: Buffer }[] = [];
  for (const v of contributions) {
    const p = decodeContribution(v);
    if (p !== null) parts.push(p);
  }
  const zero = encoding === 'text' ? ZERO : ZERO_SCORE;
  if (parts.length === 0) return base ?? zero;
  const b = base ?? zero;
  if (parts.length === 1 && parts[0].o.equals(b)) return parts[0].r;
  if (encoding === 'score') return sumScores(b, parts);
  // Integers add exactly.
  let sum: Int64 | null = parseInt64(b);
  for (const p of parts) {
    if (sum === null) break;
    const r = parseInt64(p.r);
    const o = parseInt64(p.o);
    if (r === null || o === null) {
      sum = null;
      break;
    }
    sum = addBig(sum, BigInt(r) - BigInt(o));
  }
  if (sum !== null) return Buffer.from(formatInt64(sum), 'latin1');
  let ld: LongDouble | null = parseLongDouble(b);
  if (ld === null) return b;
  for (const p of parts) {
    const r = parseLongDouble(p.r);
    const o = parseLongDouble(p.o);
    if (r === null || o === null) continue;
    ld = addLongDouble(addLongDouble(ld, r), negate(o));
  }
  return Buffer.from(formatLongDouble(ld), 'latin1');
}

/**
 * A sorted set member's score (8-byte big-endian double, zsets.ts): base + Σ(R − O) in
 * double arithmetic. A sum that is not a number (infinities of both signs contributed on
 * two sides) shows the base.
 */
function sumScores(base: Buffer, parts: { r: Buffer; o: Buffer }[]): Buffer {
  if (base.length !== 8) return base;
  let x = base.readDoubleBE(0);
  for (const p of parts) if (p.r.length === 8 && p.o.length === 8) x += p.r.readDoubleBE(0) - p.o.readDoubleBE(0);
  if (Number.isNaN(x)) return base;
  const out = Buffer.allocUnsafe(8);
  out.writeDoubleBE(x === 0 ? 0 : x, 0);
  return out;
}

/** a + b, as an Int64 when it fits, else the exact bigint (shown as digits; INCR then refuses it as Redis would). */
function addBig(a: Int64, b: bigint): Int64 {
  const s = addInt64(a, b);
  return s !== null ? s : BigInt(a) + b;
}

function negate(x: LongDouble): LongDouble {
  if (x.kind === 'nan') return x;
  return { ...x, neg: !x.neg };
}
