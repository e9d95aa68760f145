/**
 * ACL (Redis 7.0): users and selectors (user.ts, selector.ts), the permission check
 * (check.ts), the log (log.ts), the users of a node and its file (store.ts), the cluster
 * (cluster.ts), scripts (script.ts). This module
 * joins them to the command table: the keys of a command with their key spec flags, and
 * `aclDenied`, the one call the connection (processCommand) and the script layer make.
 */
import { keyFlagsAt, metaOf } from '../commands/command';
import { keyPositionsOf, type CommandEntry } from '../commands/types';
import type { ClientState } from '../server/client-state';
import { checkCommand, DENIED_CMD, DENIED_KEY, execDenialError, nopermError, type Denial } from './check';
import type { LogContext } from './log';
import type { AclStore } from './store';
import type { User } from './user';

export { AclStore, aclOf, attachAcl } from './store';
export type { User } from './user';

/** Key positions of an invocation with the flags of their key specs. */
export function aclKeysOf(entry: CommandEntry, argv: Buffer[]): { pos: number; flags: readonly string[] }[] {
  const positions = keyPositionsOf(entry.spec, argv);
  if (positions.length === 0) return [];
  const meta = metaOf(entry);
  return positions.map((pos) => ({ pos, flags: entry.spec.keyFlags?.(argv, pos) ?? keyFlagsAt(meta, pos, argv.length, argv) }));
}

/** May `user` run it? The denial, or null. */
export function aclCheck(user: User, entry: CommandEntry, argv: Buffer[]): Denial | null {
  return checkCommand(user, entry, argv, aclKeysOf);
}

/** Log a denial (addACLLogEntry). */
export function aclLogDenial(store: AclStore, d: Denial, user: User, entry: CommandEntry, argv: Buffer[], context: LogContext, clientInfo: string, nowMs: number): void {
  const reason = d.reason === DENIED_CMD ? 'command' : d.reason === DENIED_KEY ? 'key' : 'channel';
  const object = d.reason === DENIED_CMD ? Buffer.from(entry.fullName, 'latin1') : argv[d.pos];
  store.log.add({ reason, context, object, username: Buffer.from(user.name, 'latin1'), ctimeMs: nowMs, clientInfo }, store.logMaxLen);
}

/**
 * Redis's processCommand ACL step: null when `client`'s user may run the command, else the
 * -NOPERM error (logged). The caller skips it for an unrestricted user (a flag check).
 */
export function aclDenied(store: AclStore, client: ClientState, entry: CommandEntry, argv: Buffer[], context: LogContext, describe: (c: ClientState) => string, nowMs: number): string | null {
  const user = client.aclUser ?? store.defaultUser;
  const d = aclCheck(user, entry, argv);
  if (d === null) return null;
  aclLogDenial(store, d, user, entry, argv, context, describe(client), nowMs);
  return nopermError(d, entry);
}

/**
 * EXEC's check of each queued command (Redis's execCommand): permissions may have changed
 * since it was queued. Null, or the error that takes the command's place in EXEC's reply.
 */
export function aclExecDenied(store: AclStore | undefined, client: ClientState, entry: CommandEntry, argv: Buffer[], describe: (c: ClientState) => string, nowMs: number): string | null {
  const user = client.aclUser;
  if (user === undefined || user.unrestricted || store === undefined) return null;
  const d = aclCheck(user, entry, argv);
  if (d === null) return null;
  aclLogDenial(store, d, user, entry, argv, 'multi', client.id === 0 ? '' : describe(client), nowMs);
  return execDenialError(d);
}
