/**
 * The commit log: where a write batch becomes safe from a crash of the process without
 * waiting for the storage thread pool.
 *
 * With appendfsync everysec or no, the keyspace appends each turn's batch here with one
 * write(2) on the main thread (into the OS page cache, as Redis writes its AOF before it
 * replies) and may then acknowledge it; the same batch goes to RocksDB asynchronously.
 * Once RocksDB has it, the log's copy is redundant, so whenever every appended batch is in
 * RocksDB and the file has grown past `maxBytes`, it is truncated to nothing. On start-up,
 * whatever the log still holds is written to the engine again (records are whole states, so
 * replaying a batch RocksDB already has changes nothing) and the log is emptied.
 *
 * FLUSHDB/FLUSHALL are logged too, in order, so a replay never brings back what they
 * deleted.
 *
 * Frame: u32 payloadLength | u32 crc32(payload) | payload. A batch's payload is u32 opCount,
 * then per op: u8 kind (1 put, 2 del) | u32 keyLength | key | [u32 valueLength | value]; a
 * flush's payload is u32 0xffffffff | u8 db (255: all). A torn or corrupt frame ends the
 * replay: it was never acknowledged (the write did not complete).
 */
import * as fs from 'node:fs';
import { crc32 } from 'node:zlib';
import type { WriteOp } from './engine';

export type LogEntry = { kind: 'batch'; ops: WriteOp[] } | { kind: 'flush'; db: number | null };

const FLUSH_MARK = 0xffffffff;

export class CommitLog {
  private fd = -1;
  private size = 0;

  constructor(
    readonly path: string,
    private readonly maxBytes = 16 * 1024 * 1024,
  ) {}

  /** Open (creating if missing) and return the batches a previous run left behind. */
  open(): LogEntry[] {
    const batches = fs.existsSync(this.path) ? decodeFrames(fs.readFileSync(this.path)) : [];
    this.fd = fs.openSync(this.path, 'a+');
    this.size = fs.fstatSync(this.fd).size;
    return batches;
  }

  /** Append one batch; returns when the bytes are in the OS (not necessarily on disk). */
  append(entry: LogEntry): void {
    const frame = encodeFrame(entry);
    let off = 0;
    while (off < frame.length) off += fs.writeSync(this.fd, frame, off, frame.length - off);
    this.size += frame.length;
  }

  /** Every appended batch is in the engine: drop them if the file has grown large. */
  allApplied(): void {
    if (this.size < this.maxBytes) return;
    fs.ftruncateSync(this.fd, 0);
    this.size = 0;
  }

  /** Empty the log (after a replay has been written to the engine and synced). */
  reset(): void {
    fs.ftruncateSync(this.fd, 0);
    this.size = 0;
  }

  get bytes(): number {
    return this.size;
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

export function encodeFrame(entry: LogEntry): Buffer {
  if (entry.kind === 'flush') {
    const buf = Buffer.allocUnsafe(13);
    buf.writeUInt32BE(5, 0);
    buf.writeUInt32BE(FLUSH_MARK, 8);
    buf[12] = entry.db === null ? 255 : entry.db;
    buf.writeUInt32BE(crc32(buf.subarray(8)), 4);
    return buf;
  }
  const ops = entry.ops;
  let len = 4;
  for (const op of ops) len += 5 + op.key.length + (op.type === 'put' ? 4 + op.value.length : 0);
  const buf = Buffer.allocUnsafe(8 + len);
  let o = 8;
  o = buf.writeUInt32BE(ops.length, o);
  for (const op of ops) {
    buf[o++] = op.type === 'put' ? 1 : 2;
    o = buf.writeUInt32BE(op.key.length, o);
    o += op.key.copy(buf, o);
    if (op.type === 'put') {
      o = buf.writeUInt32BE(op.value.length, o);
      o += op.value.copy(buf, o);
    }
  }
  buf.writeUInt32BE(len, 0);
  buf.writeUInt32BE(crc32(buf.subarray(8)), 4);
  return buf;
}

export function decodeFrames(data: Buffer): LogEntry[] {
  const out: LogEntry[] = [];
  let o = 0;
  while (o + 8 <= data.length) {
    const len = data.readUInt32BE(o);
    if (o + 8 + len > data.length) break; // torn tail
    const payload = data.subarray(o + 8, o + 8 + len);
    if (crc32(payload) !== data.readUInt32BE(o + 4)) break;
    const entry = decodePayload(payload);
    if (entry === null) break;
    out.push(entry);
    o += 8 + len;
  }
  return out;
}

function decodePayload(p: Buffer): LogEntry | null {
  if (p.length < 4) return null;
  const n = p.readUInt32BE(0);
  if (n === FLUSH_MARK) return p.length === 5 ? { kind: 'flush', db: p[4] === 255 ? null : p[4] } : null;
  const ops: WriteOp[] = [];
  let o = 4;
  for (let i = 0; i < n; i++) {
    if (o + 5 > p.length) return null;
    const kind = p[o];
    const kl = p.readUInt32BE(o + 1);
    o += 5;
    const key = Buffer.from(p.subarray(o, o + kl));
    o += kl;
    if (kind === 1) {
      const vl = p.readUInt32BE(o);
      o += 4;
      ops.push({ type: 'put', key, value: Buffer.from(p.subarray(o, o + vl)) });
      o += vl;
    } else if (kind === 2) {
      ops.push({ type: 'del', key });
    } else {
      return null;
    }
  }
  return o === p.length ? { kind: 'batch', ops } : null;
}
