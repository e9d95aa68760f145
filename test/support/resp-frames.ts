/**
 * RESP2/RESP3 reply framing for the test harness, with no socket in it.
 *
 * The compatibility suite compares raw reply bytes, so it must cut a byte stream into
 * whole replies without re-encoding anything. `scanFrame` finds where one frame ends;
 * `decodeFrame` turns a frame into a small tree for the comparison modes that look inside
 * a reply (multiset, shape, TTL tolerance). Both are deliberately independent of the
 * server's own decoder (src/resp) and of redis-parser, so a bug there cannot hide here.
 *
 * Invariants: `scanFrame` never reads past `buf.length`; it returns -1 for "need more
 * bytes" and throws `FrameError` for bytes that can never become a valid frame.
 */

export class FrameError extends Error {}

/** Type bytes whose payload is one CRLF-terminated line. */
const LINE_TYPES = new Set(['+', '-', ':', '_', ',', '#', '(']);
/** Type bytes whose payload is `<len>\r\n<len bytes>\r\n` (`-1` = null for `$`). */
const BLOB_TYPES = new Set(['$', '!', '=']);
/** Aggregates of `<n>` frames. */
const ARRAY_TYPES = new Set(['*', '~', '>']);
/** Aggregates of `<n>` key/value pairs. */
const MAP_TYPES = new Set(['%', '|']);

const CR = 0x0d;
const LF = 0x0a;

/** Index of the CR of the next CRLF at or after `from`, or -1 if not yet in `buf`. */
function findCrlf(buf: Buffer, from: number): number {
  let i = buf.indexOf(CR, from);
  while (i !== -1) {
    if (i + 1 >= buf.length) return -1;
    if (buf[i + 1] === LF) return i;
    i = buf.indexOf(CR, i + 1);
  }
  return -1;
}

function parseLength(buf: Buffer, start: number, end: number): number {
  const text = buf.toString('latin1', start, end);
  if (!/^-?\d+$/.test(text)) throw new FrameError(`bad length ${JSON.stringify(text)}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < -1) throw new FrameError(`bad length ${text}`);
  return n;
}

/**
 * End offset (exclusive) of the frame that starts at `offset`, or -1 if `buf` does not yet
 * hold all of it. An attribute frame (`|`) is scanned together with the frame it annotates,
 * since RESP3 defines the pair as one reply.
 */
export function scanFrame(buf: Buffer, offset = 0): number {
  if (offset >= buf.length) return -1;
  const type = String.fromCharCode(buf[offset]);
  const lineEnd = findCrlf(buf, offset + 1);
  if (lineEnd === -1) return -1;
  const afterLine = lineEnd + 2;

  if (LINE_TYPES.has(type)) return afterLine;

  const n = parseLength(buf, offset + 1, lineEnd);
  if (BLOB_TYPES.has(type)) {
    if (n === -1) {
      if (type !== '$') throw new FrameError(`null length for ${type}`);
      return afterLine;
    }
    const end = afterLine + n + 2;
    if (end > buf.length) return -1;
    if (buf[end - 2] !== CR || buf[end - 1] !== LF) throw new FrameError('blob not followed by CRLF');
    return end;
  }
  if (ARRAY_TYPES.has(type) || MAP_TYPES.has(type)) {
    if (n === -1) {
      if (type !== '*') throw new FrameError(`null length for ${type}`);
      return afterLine;
    }
    const count = MAP_TYPES.has(type) ? n * 2 : n;
    let pos = afterLine;
    for (let i = 0; i < count; i++) {
      pos = scanFrame(buf, pos);
      if (pos === -1) return -1;
    }
    if (type === '|') return scanFrame(buf, pos);
    return pos;
  }
  throw new FrameError(`unknown type byte 0x${buf[offset].toString(16)}`);
}

/** True if the frame at `offset` is an out-of-band push (`>`). */
export function isPush(buf: Buffer, offset = 0): boolean {
  return buf[offset] === 0x3e;
}

/** A decoded frame: leaves keep their payload bytes, aggregates keep their children. */
export interface Frame {
  /** The RESP type byte as a character, e.g. '$', '*', '%'. */
  type: string;
  /** Payload of a leaf (line text or blob bytes); null for null bulk/array and `_`. */
  value: Buffer | null;
  /** Children of an aggregate (maps: k1, v1, k2, v2 ...); empty for leaves. */
  items: Frame[];
  /** The attribute annotating this frame, if an `|` frame preceded it. */
  attribute?: Frame;
  /** The exact bytes of this frame (including any attribute). */
  raw: Buffer;
}

/** Decode exactly one complete frame; throws if `buf` is not one whole frame. */
export function decodeFrame(buf: Buffer): Frame {
  const [frame, end] = decodeAt(buf, 0);
  if (end !== buf.length) throw new FrameError(`trailing bytes after frame (${buf.length - end})`);
  return frame;
}

function decodeAt(buf: Buffer, offset: number): [Frame, number] {
  const end = scanFrame(buf, offset);
  if (end === -1) throw new FrameError('incomplete frame');
  const type = String.fromCharCode(buf[offset]);
  const lineEnd = findCrlf(buf, offset + 1);
  const raw = buf.subarray(offset, end);
  if (LINE_TYPES.has(type)) {
    const value = type === '_' ? null : buf.subarray(offset + 1, lineEnd);
    return [{ type, value, items: [], raw }, end];
  }
  const n = parseLength(buf, offset + 1, lineEnd);
  if (BLOB_TYPES.has(type)) {
    const value = n === -1 ? null : buf.subarray(lineEnd + 2, lineEnd + 2 + n);
    return [{ type, value, items: [], raw }, end];
  }
  if (n === -1) return [{ type, value: null, items: [], raw }, end];
  const count = MAP_TYPES.has(type) ? n * 2 : n;
  const items: Frame[] = [];
  let pos = lineEnd + 2;
  for (let i = 0; i < count; i++) {
    const [child, next] = decodeAt(buf, pos);
    items.push(child);
    pos = next;
  }
  if (type === '|') {
    const [annotated] = decodeAt(buf, pos);
    const attribute: Frame = { type, value: null, items, raw: buf.subarray(offset, pos) };
    return [{ ...annotated, attribute, raw }, end];
  }
  return [{ type, value: null, items, raw }, end];
}

/** Printable form of raw bytes for failure messages: CRLF shown as \r\n, others as \xNN. */
export function escapeBytes(buf: Buffer, maxLen = 400): string {
  let out = '';
  const shown = Math.min(buf.length, maxLen);
  for (let i = 0; i < shown; i++) {
    const b = buf[i];
    if (b === 0x0d) out += '\\r';
    else if (b === 0x0a) out += '\\n';
    else if (b === 0x5c) out += '\\\\';
    else if (b === 0x22) out += '\\"';
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  if (buf.length > shown) out += `...(${buf.length} bytes)`;
  return `"${out}"`;
}

/** Encode a command as a RESP multibulk request. */
export function encodeCommand(args: ReadonlyArray<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}
