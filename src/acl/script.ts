/**
 * ACL inside scripts (Redis 7.0 scriptVerifyACL): each redis.call / redis.pcall is checked
 * with the user of the client that runs the script; a denial is logged with context lua
 * and the script gets Redis's error text.
 */
import type { CommandEntry } from '../commands/types';
import type { ClientState } from '../server/client-state';
import type { ServerApi } from '../server/server-api';
import { scriptDenialError } from './check';
import { aclCheck, aclLogDenial } from './index';
import { aclOf } from './store';
import type { User } from './user';

export function scriptAclDenied(server: ServerApi, client: ClientState, user: User, entry: CommandEntry, argv: Buffer[], nowMs: number): string | null {
  const d = aclCheck(user, entry, argv);
  if (d === null) return null;
  const store = aclOf(server);
  if (store !== undefined) aclLogDenial(store, d, user, entry, argv, 'lua', client.id === 0 ? '' : server.describeClient(client), nowMs);
  return scriptDenialError(d);
}
