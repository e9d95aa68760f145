/**
 * Reading the few RESP reply shapes the coordinator gathers from nodes (integers, arrays of
 * bulk strings, SCAN's pair). Anything else returns null and is passed to the client as is
 * (an error, typically).
 */
function line(buf: Buffer, at: number): { text: string; next: number } | null {
  const cr = buf.indexOf(13, at);
  if (cr < 0) return null;
  return { text: buf.toString('latin1', at, cr), next: cr + 2 };
}

export function parseIntegerReply(buf: Buffer): number | null {
  if (buf[0] !== 0x3a) return null;
  const l = line(buf, 1);
  return l === null ? null : Number(l.text);
}

/** An array of bulk strings starting at `at`; returns the items and where it ended. */
function arrayAt(buf: Buffer, at: number): { items: Buffer[]; next: number } | null {
  if (buf[at] !== 0x2a && buf[at] !== 0x7e) return null;
  const head = line(buf, at + 1);
  if (head === null) return null;
  const n = Number(head.text);
  let o = head.next;
  const items: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    if (buf[o] !== 0x24) return null;
    const h = line(buf, o + 1);
    if (h === null) return null;
    const len = Number(h.text);
    items.push(buf.subarray(h.next, h.next + len));
    o = h.next + len + 2;
  }
  return { items, next: o };
}

export function parseArrayReply(buf: Buffer): Buffer[] | null {
  const a = arrayAt(buf, 0);
  return a === null ? null : a.items;
}

export function parseScanReply(buf: Buffer): { next: number; keys: Buffer[] } | null {
  if (buf[0] !== 0x2a) return null;
  const head = line(buf, 1);
  if (head === null || head.text !== '2' || buf[head.next] !== 0x24) return null;
  const h = line(buf, head.next + 1);
  if (h === null) return null;
  const len = Number(h.text);
  const cursor = Number(buf.toString('latin1', h.next, h.next + len));
  const keys = arrayAt(buf, h.next + len + 2);
  return keys === null ? null : { next: cursor, keys: keys.items };
}
