/**
 * How a stream is laid out in cells (commands/streams.ts uses it). A stream is a collection
 * like a hash: a metadata entry (type stream, TTL) plus CELL_FIELD cells, each merged on its
 * own, so replication, hints, key sync, anti-entropy, range transfers, RENAME, COPY and the
 * sweep carry a stream with no stream-specific code. The first byte of a cell's field says
 * what the cell is:
 *
 *   'E' | id (16 bytes: u64 ms | u64 seq, big-endian)      an entry; value = its fields
 *   'G' | group name                                       a consumer group
 *   'P' | u32 name length | group name | id (16 bytes)    one pending entry of a group (PEL)
 *   'C' | u32 name length | group name | consumer name     one consumer of a group
 *   'S'                                                    the stream's own state
 *
 * Entry ids are big-endian, so the engine's order of 'E' cells is ID order and XRANGE is a
 * range scan from the start ID. A stream exists while its state cell lives (Redis keeps an
 * emptied stream), so XDEL or XTRIM of every entry leaves an existing, empty stream.
 *
 * Values (integers big-endian):
 *   entry:    u32 pairs | per field and value: u32 length | bytes
 *   state:    last id (16) | u64 entries added | max deleted id (16) | first id (16)
 *                                                                              (56 bytes)
 *   group:    last delivered id (16) | i64 entries read (-1: unknown)          (24 bytes)
 *   PEL:      f64 delivery time ms | u64 delivery count | consumer name
 *   consumer: f64 seen time ms | f64 active time ms
 *
 * The length is not stored: it is the key's live cell count (StoredMeta.count, exact on
 * every replica whatever order cells arrived in) minus its live cells that are not
 * entries, which each replica counts for itself (`StreamCounts`, a CellObserver on the
 * cached key, built by one scan of the non-entry cells when missing). So XLEN and XADD
 * never scan the entries, and the length stays exact after any merge. The state cell holds
 * the last and first IDs; every write of the stream runs at its primary (coordinator), so
 * it is written with the entries it describes. Two primaries writing one stream during a
 * partition converge cell by cell, but the surviving state cell is one side's view of the
 * last ID and of entries added (docs/commands.md, "Streams").
 */
import type { CellObserver } from './meta';
import { CELL_FIELD } from './layout';

export interface StreamId {
  ms: bigint;
  seq: bigint;
}

export const U64_MAX = (1n << 64n) - 1n;
export const ZERO_ID: StreamId = { ms: 0n, seq: 0n };
export const MAX_ID: StreamId = { ms: U64_MAX, seq: U64_MAX };

export const P_ENTRY = 0x45; // 'E'
export const P_GROUP = 0x47; // 'G'
export const P_PEL = 0x50; // 'P'
export const P_CONSUMER = 0x43; // 'C'
export const STATE_FIELD = Buffer.from('S', 'latin1');

export function compareIds(a: StreamId, b: StreamId): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}

export function isZeroId(a: StreamId): boolean {
  return a.ms === 0n && a.seq === 0n;
}

export function formatId(id: StreamId): string {
  return `${id.ms}-${id.seq}`;
}

/** The next ID (Redis streamIncrID); null past the last possible one. */
export function incrId(id: StreamId): StreamId | null {
  if (id.seq === U64_MAX) {
    if (id.ms === U64_MAX) return null;
    return { ms: id.ms + 1n, seq: 0n };
  }
  return { ms: id.ms, seq: id.seq + 1n };
}

/** The previous ID (Redis streamDecrID); null before 0-0. */
export function decrId(id: StreamId): StreamId | null {
  if (id.seq === 0n) {
    if (id.ms === 0n) return null;
    return { ms: id.ms - 1n, seq: U64_MAX };
  }
  return { ms: id.ms, seq: id.seq - 1n };
}

function writeId(out: Buffer, at: number, id: StreamId): void {
  out.writeBigUInt64BE(id.ms, at);
  out.writeBigUInt64BE(id.seq, at + 8);
}

function readId(b: Buffer, at: number): StreamId {
  return { ms: b.readBigUInt64BE(at), seq: b.readBigUInt64BE(at + 8) };
}

export function entryField(id: StreamId): Buffer {
  const out = Buffer.allocUnsafe(17);
  out[0] = P_ENTRY;
  writeId(out, 1, id);
  return out;
}

/** The ID of an entry field, or null for any other cell. */
export function entryIdOf(field: Buffer): StreamId | null {
  return field.length === 17 && field[0] === P_ENTRY ? readId(field, 1) : null;
}

export function groupField(name: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + name.length);
  out[0] = P_GROUP;
  name.copy(out, 1);
  return out;
}

/** The prefix shared by a group's PEL ('P') or consumer ('C') cells. */
export function groupScoped(kind: number, group: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + group.length);
  out[0] = kind;
  out.writeUInt32BE(group.length, 1);
  group.copy(out, 5);
  return out;
}

export function pelField(group: Buffer, id: StreamId): Buffer {
  const out = Buffer.allocUnsafe(21 + group.length);
  out[0] = P_PEL;
  out.writeUInt32BE(group.length, 1);
  group.copy(out, 5);
  writeId(out, 5 + group.length, id);
  return out;
}

export function consumerField(group: Buffer, name: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + group.length + name.length);
  out[0] = P_CONSUMER;
  out.writeUInt32BE(group.length, 1);
  group.copy(out, 5);
  name.copy(out, 5 + group.length);
  return out;
}

// ------------------------------------------------------------------------- values

export function encodeEntry(argv: Buffer[], from: number): Buffer {
  let size = 4;
  for (let i = from; i < argv.length; i++) size += 4 + argv[i].length;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32BE((argv.length - from) >> 1, 0);
  let o = 4;
  for (let i = from; i < argv.length; i++) {
    const a = argv[i];
    out.writeUInt32BE(a.length, o);
    o += 4;
    o += a.copy(out, o);
  }
  return out;
}

/** The fields and values of an entry, flat (views into `v`). */
export function decodeEntry(v: Buffer): Buffer[] {
  const pairs = v.readUInt32BE(0);
  const out: Buffer[] = [];
  let o = 4;
  for (let i = 0; i < pairs * 2; i++) {
    const len = v.readUInt32BE(o);
    o += 4;
    out.push(v.subarray(o, o + len));
    o += len;
  }
  return out;
}

export interface StreamState {
  last: StreamId;
  added: bigint;
  maxDeleted: StreamId;
  first: StreamId;
  length: number;
}

export function emptyState(): StreamState {
  return { last: ZERO_ID, added: 0n, maxDeleted: ZERO_ID, first: ZERO_ID, length: 0 };
}

/** The state cell's bytes (`length` is derived, not stored). */
export function encodeState(s: StreamState): Buffer {
  const out = Buffer.allocUnsafe(56);
  writeId(out, 0, s.last);
  out.writeBigUInt64BE(s.added, 16);
  writeId(out, 24, s.maxDeleted);
  writeId(out, 40, s.first);
  return out;
}

/** The state cell, with the length the caller derived. */
export function decodeState(v: Buffer, length: number): StreamState {
  return { last: readId(v, 0), added: v.readBigUInt64BE(16), maxDeleted: readId(v, 24), first: readId(v, 40), length };
}

/**
 * What this replica derives for a cached stream from its own cells: the count of live cells
 * that are not entries (state, groups, PEL, consumers; length = StoredMeta.count -
 * nonEntry), and the greatest entry field it has held live (`maxEntry`; it never goes
 * down: a reader checks that the entry is still live). Keyspace.apply tells it of every cell applied, whatever its
 * origin, and drops it when cells change wholesale; the command rebuilds it by scanning.
 */
export class StreamCounts implements CellObserver {
  constructor(
    public nonEntry: number,
    public maxEntry: Buffer | null,
  ) {}

  cellChanged(kind: number, field: Buffer, wasLive: boolean, isLive: boolean): void {
    if (kind !== CELL_FIELD) return;
    if (field.length > 0 && field[0] === P_ENTRY) {
      if (isLive && (this.maxEntry === null || Buffer.compare(field, this.maxEntry) > 0)) this.maxEntry = Buffer.from(field);
      return;
    }
    if (wasLive !== isLive) this.nonEntry += isLive ? 1 : -1;
  }

  memoryBytes(): number {
    return 80;
  }
}

export interface GroupState {
  lastId: StreamId;
  /** -1n: unknown (Redis SCG_INVALID_ENTRIES_READ). */
  entriesRead: bigint;
}

export function encodeGroup(g: GroupState): Buffer {
  const out = Buffer.allocUnsafe(24);
  writeId(out, 0, g.lastId);
  out.writeBigInt64BE(g.entriesRead, 16);
  return out;
}

export function decodeGroup(v: Buffer): GroupState {
  return { lastId: readId(v, 0), entriesRead: v.readBigInt64BE(16) };
}

export interface Pending {
  deliveryMs: number;
  count: bigint;
  consumer: Buffer;
}

export function encodePending(p: Pending): Buffer {
  const out = Buffer.allocUnsafe(16 + p.consumer.length);
  out.writeDoubleBE(p.deliveryMs, 0);
  out.writeBigUInt64BE(p.count, 8);
  p.consumer.copy(out, 16);
  return out;
}

export function decodePending(v: Buffer): Pending {
  return { deliveryMs: v.readDoubleBE(0), count: v.readBigUInt64BE(8), consumer: v.subarray(16) };
}

export interface ConsumerState {
  seenMs: number;
  activeMs: number;
}

export function encodeConsumer(c: ConsumerState): Buffer {
  const out = Buffer.allocUnsafe(16);
  out.writeDoubleBE(c.seenMs, 0);
  out.writeDoubleBE(c.activeMs, 8);
  return out;
}

export function decodeConsumer(v: Buffer): ConsumerState {
  return { seenMs: v.readDoubleBE(0), activeMs: v.readDoubleBE(8) };
}

/** The ID at the end of a PEL field (its last 16 bytes). */
export function pelIdOf(field: Buffer): StreamId {
  return readId(field, field.length - 16);
}
