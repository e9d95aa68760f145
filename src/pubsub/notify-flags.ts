/**
 * notify-keyspace-events: Redis's class letters as a bit set (notify.c
 * keyspaceEventsStringToFlags / keyspaceEventsFlagsToString), pure functions.
 *
 *   K keyspace channel (__keyspace@<db>__:<key>)   E keyevent channel (__keyevent@<db>__:<event>)
 *   g generic  $ string  l list  s set  h hash  z sorted set  t stream  d module
 *   x expired  e evicted  n new key  m key miss   A = g$lshzxetd
 *
 * An event is published only when its class is on and at least one of K and E is.
 */
import type { NotifyClass } from '../server/server-api';

export const NOTIFY = {
  K: 1 << 0,
  E: 1 << 1,
  g: 1 << 2,
  $: 1 << 3,
  l: 1 << 4,
  s: 1 << 5,
  h: 1 << 6,
  z: 1 << 7,
  x: 1 << 8,
  e: 1 << 9,
  t: 1 << 10,
  m: 1 << 11,
  d: 1 << 12,
  n: 1 << 13,
} as const;

/** 'A': every class but n (new) and m (miss), as in Redis. */
export const NOTIFY_ALL = NOTIFY.g | NOTIFY.$ | NOTIFY.l | NOTIFY.s | NOTIFY.h | NOTIFY.z | NOTIFY.x | NOTIFY.e | NOTIFY.t | NOTIFY.d;

/** The error text of CONFIG SET for a bad letter (Redis's). */
export const NOTIFY_FLAGS_ERROR = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";

/** Parse a flags string; null on an unknown letter. */
export function parseNotifyFlags(s: string): number | null {
  let flags = 0;
  for (const ch of s) {
    if (ch === 'A') flags |= NOTIFY_ALL;
    else if (Object.prototype.hasOwnProperty.call(NOTIFY, ch)) flags |= NOTIFY[ch as keyof typeof NOTIFY];
    else return null;
  }
  return flags;
}

/** The normalised string CONFIG GET prints (Redis's letter order). */
export function formatNotifyFlags(flags: number): string {
  let out = '';
  if ((flags & NOTIFY_ALL) === NOTIFY_ALL) out += 'A';
  else {
    for (const ch of ['g', '$', 'l', 's', 'h', 'z', 'x', 'e', 't', 'd', 'n'] as const) if ((flags & NOTIFY[ch]) !== 0) out += ch;
  }
  if ((flags & NOTIFY.K) !== 0) out += 'K';
  if ((flags & NOTIFY.E) !== 0) out += 'E';
  if ((flags & NOTIFY.m) !== 0) out += 'm';
  return out;
}

/** Whether an event of this class is published under these flags (and on which channels). */
export function notifyWanted(flags: number, type: NotifyClass): { keyspace: boolean; keyevent: boolean } | null {
  if ((flags & NOTIFY[type]) === 0) return null;
  const keyspace = (flags & NOTIFY.K) !== 0;
  const keyevent = (flags & NOTIFY.E) !== 0;
  return keyspace || keyevent ? { keyspace, keyevent } : null;
}
