/**
 * RESP2's subscribed context (server.c processCommand): a RESP2 client with any
 * subscription may only run these; RESP3 clients may run anything.
 */
import type { ClientSubs } from './registry';

const ALLOWED = new Set(['ping', 'subscribe', 'ssubscribe', 'unsubscribe', 'sunsubscribe', 'psubscribe', 'punsubscribe', 'quit', 'reset']);

/** The error for a command refused in the subscribed context, or null. */
export function subscribedContextError(subs: ClientSubs | undefined, resp: 2 | 3, fullName: string): string | null {
  if (resp !== 2 || subs === undefined || subs.total === 0 || ALLOWED.has(fullName)) return null;
  return `ERR Can't execute '${fullName}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`;
}
