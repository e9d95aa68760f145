/**
 * The permission check (Redis 7.0 ACLCheckAllUserCommandPerm / ACLSelectorCheckCmd): may
 * `user` run this command with these arguments? Pure: the command's key positions and the
 * key spec flags of each (access → read, insert/delete/update → write) come from the
 * caller's `keysOf`; channels are those of PUBLISH, SPUBLISH (first argument) and
 * SUBSCRIBE, SSUBSCRIBE, PSUBSCRIBE (all arguments; patterns compared literally).
 *
 * Each selector is tried in turn; the first that allows everything wins. Otherwise the
 * most relevant denial is reported as Redis does: channel over key over command, and for
 * the same reason the later argument.
 */
import type { CommandEntry } from '../commands/types';
import { stringMatch } from '../util/glob';
import { KEY_READ, KEY_WRITE, type Selector } from './selector';
import type { User } from './user';

export const DENIED_CMD = 1;
export const DENIED_KEY = 2;
export const DENIED_AUTH = 3;
export const DENIED_CHANNEL = 4;

export interface Denial {
  reason: typeof DENIED_CMD | typeof DENIED_KEY | typeof DENIED_CHANNEL;
  /** The argv index of the key or channel refused (0 for a command). */
  pos: number;
}

/** Key positions of an invocation, each with its key spec flags ('access', 'update'...). */
export type KeysOf = (entry: CommandEntry, argv: Buffer[]) => { pos: number; flags: readonly string[] }[];

/** Channel arguments: [first index, all following (true) or just one, pattern]. */
const CHANNEL_ARGS: Readonly<Record<string, readonly [number, boolean, boolean]>> = {
  publish: [1, false, false],
  spublish: [1, false, false],
  subscribe: [1, true, false],
  ssubscribe: [1, true, false],
  psubscribe: [1, true, true],
};

export function checkCommand(user: User, entry: CommandEntry, argv: Buffer[], keysOf: KeysOf): Denial | null {
  if (user.unrestricted) return null;
  let best: Denial | null = null;
  let keys: { pos: number; flags: readonly string[] }[] | null = null;
  const lazyKeys = (): { pos: number; flags: readonly string[] }[] => (keys ??= keysOf(entry, argv));
  for (const s of user.selectors) {
    const d = checkSelector(s, entry, argv, lazyKeys);
    if (d === null) return null;
    if (best === null || d.reason > best.reason || (d.reason === best.reason && d.pos > best.pos)) best = d;
  }
  return best;
}

function checkSelector(s: Selector, entry: CommandEntry, argv: Buffer[], keys: () => { pos: number; flags: readonly string[] }[]): Denial | null {
  if (!s.allCommands && !entry.noAuth && !s.allowed.has(entry)) {
    const firsts = s.firstArgs?.get(entry);
    const idx = entry.parent !== null ? 2 : 1;
    if (firsts === undefined || argv.length < 2 || idx >= argv.length) return { reason: DENIED_CMD, pos: 0 };
    const arg = argv[idx].toString('latin1').toLowerCase();
    if (!firsts.includes(arg)) return { reason: DENIED_CMD, pos: 0 };
  }
  if (!s.allKeys && (entry.spec.keys.first !== 0 || entry.spec.getKeys !== undefined)) {
    for (const k of keys()) {
      let need = 0;
      for (const f of k.flags) {
        if (f === 'access') need |= KEY_READ;
        else if (f === 'insert' || f === 'delete' || f === 'update') need |= KEY_WRITE;
      }
      if (!keyAllowed(s, argv[k.pos], need)) return { reason: DENIED_KEY, pos: k.pos };
    }
  }
  if (!s.allChannels) {
    const ch = CHANNEL_ARGS[entry.fullName];
    if (ch !== undefined) {
      const [first, all, pattern] = ch;
      const last = all ? argv.length - 1 : Math.min(first, argv.length - 1);
      for (let i = first; i <= last; i++) {
        if (!channelAllowed(s.channels, argv[i], pattern)) return { reason: DENIED_CHANNEL, pos: i };
      }
    }
  }
  return null;
}

function keyAllowed(s: Selector, key: Buffer, need: number): boolean {
  for (const p of s.patterns) {
    if ((p.flags & need) !== need) continue;
    if (stringMatch((p.bytes ??= Buffer.from(p.pattern, 'latin1')), key, false)) return true;
  }
  return false;
}

/** ACLCheckChannelAgainstList: a pattern subscription must be listed literally. */
export function channelAllowed(list: readonly string[], channel: Buffer, isPattern: boolean): boolean {
  for (const p of list) {
    if (isPattern ? Buffer.from(p, 'latin1').equals(channel) : stringMatch(Buffer.from(p, 'latin1'), channel, false)) return true;
  }
  return false;
}

/** The -NOPERM reply of a denial (processCommand). */
export function nopermError(d: Denial, entry: CommandEntry): string {
  if (d.reason === DENIED_CMD) return `NOPERM this user has no permissions to run the '${entry.fullName}' command`;
  if (d.reason === DENIED_KEY) return 'NOPERM this user has no permissions to access one of the keys used as arguments';
  return 'NOPERM this user has no permissions to access one of the channels used as arguments';
}

/** What redis.call raises for a denial (scriptVerifyACL). */
export function scriptDenialError(d: Denial): string {
  if (d.reason === DENIED_CMD) return "The user executing the script can't run this command or subcommand";
  if (d.reason === DENIED_KEY) return "The user executing the script can't access at least one of the keys mentioned in the command arguments";
  return "The user executing the script can't publish to the channel mentioned in the command";
}

/** ACL DRYRUN's text (getAclErrorMessage, verbose). */
export function dryrunText(d: Denial, entry: CommandEntry, argv: Buffer[]): string {
  if (d.reason === DENIED_CMD) return `This user has no permissions to run the '${entry.fullName}' command`;
  const what = argv[d.pos].toString('latin1');
  if (d.reason === DENIED_KEY) return `This user has no permissions to access the '${what}' key`;
  return `This user has no permissions to access the '${what}' channel`;
}

/** The EXEC-time denial (permissions changed since the command was queued). */
export function execDenialError(d: Denial): string {
  const reason = d.reason === DENIED_CMD ? 'no permission to execute the command or subcommand' : d.reason === DENIED_KEY ? 'no permission to touch the specified keys' : 'no permission to access one of the channels used as arguments';
  return `NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: ${reason}`;
}
