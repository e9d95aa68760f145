/**
 * The users of this node (Redis 7.0 acl.c's Users rax and DefaultUser), the ACL log, the
 * ACL file, and what ties them to clients and to the other nodes.
 *
 * - The `default` user object is never replaced: ACL LOAD and a change from another node
 *   copy the new definition into it, so clients authenticated as it keep it.
 * - Deleting a user disconnects the clients authenticated as it (the client deleting its
 *   own user gets its reply first); ACL LOAD does so for every user but default, as Redis.
 * - `requirepass` is the default user's password (ACLUpdateDefaultUserPassword).
 * - Cluster (cluster.ts): every change made here (ACL SETUSER, DELUSER, LOAD) bumps `version` (a hybrid
 *   timestamp: ms × 1024 + counter, never going backwards) and calls `onChange` with the
 *   whole ACL as ACL LIST lines; node.ts sends it to every node (bus verb `acl`), which
 *   applies it when its (version, origin) is newer than the one it has: last writer wins.
 *   Every 10 s a node resends the ACL it holds from a change, so a node that was down or
 *   restarted catches up.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { CommandEntry } from '../commands/types';
import type { CommandTable } from '../commands/table';
import type { ClientState } from '../server/client-state';
import type { ServerApi } from '../server/server-api';
import { channelAllowed } from './check';
import { AclLog } from './log';
import { CommandIndex, RULE_ERRORS } from './selector';
import { mergeSelectorArgs, User } from './user';

export interface AclClients {
  clients(): Iterable<ClientState>;
}

export class AclStore {
  private indexCache: CommandIndex | null = null;
  readonly users = new Map<string, User>();
  readonly log = new AclLog();
  readonly defaultUser: User;
  /** Whether clients must authenticate (the default user has a password or is off). */
  authRequired = false;
  aclfile = '';
  logMaxLen = 128;
  /**
   * Cluster: the newest version this node has made or seen (a Lamport clock over ms × 1024),
   * and each user's stamp: the version and node of the change that made its definition, or
   * (in `deleted`) removed it. Users from the config file or an aclfile loaded at start-up
   * have no stamp until a change names them.
   */
  version = 0;
  readonly stamps = new Map<string, AclStamp>();
  readonly deleted = new Map<string, AclStamp>();
  selfId = '';
  /**
   * Called after every local change with the stamped entries (cluster.ts sends them to every
   * node); settles when the reachable nodes have applied them.
   */
  onChange: ((entries: AclEntry[]) => Promise<void>) | null = null;
  /** The delivery of the last local change, for the command that made it to wait on. */
  private delivery: Promise<void> | null = null;

  constructor(
    private readonly table: CommandTable,
    private readonly categoriesOf: (e: CommandEntry) => readonly string[],
    private readonly clients: AclClients,
    private readonly nowMs: () => number,
  ) {
    this.defaultUser = this.newDefaultUser();
    this.users.set('default', this.defaultUser);
    this.refresh();
  }

  get index(): CommandIndex {
    return (this.indexCache ??= new CommandIndex(this.table, this.categoriesOf));
  }

  private newDefaultUser(): User {
    const u = new User('default', this.index);
    for (const op of ['+@all', '~*', '&*', 'on', 'nopass']) u.apply(op);
    return u;
  }

  private refresh(): void {
    const d = this.defaultUser;
    this.authRequired = !d.nopass || !d.enabled;
  }

  /** The user a new connection starts as, and whether it is authenticated already. */
  initialAuth(): boolean {
    return this.defaultUser.nopass && this.defaultUser.enabled;
  }

  /** A user allowed nothing, for a name another node sent that this node does not know. */
  unknownUser(): User {
    return new User('', this.index);
  }

  get(name: string): User | undefined {
    return this.users.get(name);
  }

  /** ACL USERS / LIST order: Redis's rax order (bytes). */
  sortedNames(): string[] {
    return [...this.users.keys()].sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')));
  }

  lines(): string[] {
    return this.sortedNames().map((n) => `user ${n} ${this.users.get(n)!.describe()}`);
  }

  /**
   * ACL SETUSER: apply the rules to a copy and keep it only if all of them apply. Returns
   * null or the error text (without ERR).
   */
  setUser(name: string, rules: readonly string[], local = true, current: ClientState | null = null): string | null {
    if (/[\s\0]/.test(name)) return "Usernames can't contain spaces or null characters";
    const merged = mergeSelectorArgs(rules);
    if (!Array.isArray(merged)) return `Unmatched parenthesis in acl selector starting at '${merged.unmatched}'.`;
    const old = this.users.get(name);
    const u = old !== undefined ? old.clone() : new User(name, this.index);
    for (const op of merged) {
      const err = u.apply(op);
      if (err !== null) return `Error in ACL SETUSER modifier '${op}': ${RULE_ERRORS[err]}`;
    }
    if (old !== undefined) {
      old.copyFrom(u);
      this.killPubsubIfNeeded(old, current);
    } else this.users.set(name, u);
    this.refresh();
    if (local) this.changed([name]);
    return null;
  }

  /**
   * ACLKillPubsubClientsIfNeeded: a user's clients subscribed to a channel (or a pattern,
   * compared literally) its channel rules no longer allow are disconnected.
   */
  private killPubsubIfNeeded(u: User, current: ClientState | null): void {
    if (u.selectors.some((s) => s.allChannels)) return;
    const allowed = u.selectors.flatMap((s) => s.channels);
    for (const c of [...this.clients.clients()]) {
      const subs = c.pubsub;
      if (c.aclUser !== u || subs === undefined || subs.total === 0) continue;
      let kill = false;
      for (const p of subs.patterns.values()) if (!channelAllowed(allowed, p, true)) kill = true;
      for (const ch of subs.channels.values()) if (!channelAllowed(allowed, ch, false)) kill = true;
      for (const ch of subs.shard.values()) if (!channelAllowed(allowed, ch, false)) kill = true;
      if (!kill) continue;
      if (c === current) c.closeAfterReply();
      else c.kill();
    }
  }

  /** ACL DELUSER: how many were deleted, or the error text. */
  delUsers(names: readonly string[], current: ClientState | null): number | string {
    if (names.includes('default')) return "The 'default' user cannot be removed";
    const gone = new Set<User>();
    for (const n of names) {
      const u = this.users.get(n);
      if (u === undefined) continue;
      this.users.delete(n);
      gone.add(u);
    }
    if (gone.size > 0) {
      this.disconnect(gone, current);
      this.changed([...gone].map((u) => u.name));
    }
    return gone.size;
  }

  /** ACLFreeUserAndKillClients: the clients of these users go (the current one after its reply). */
  private disconnect(users: ReadonlySet<User>, current: ClientState | null): void {
    for (const c of [...this.clients.clients()]) {
      if (c.aclUser === undefined || !users.has(c.aclUser)) continue;
      c.aclUser = this.defaultUser;
      c.authenticated = false;
      if (c === current) c.closeAfterReply();
      else c.kill();
    }
  }

  /** CONFIG SET requirepass / the requirepass directive. */
  setRequirepass(pass: string): void {
    this.defaultUser.apply('resetpass');
    this.defaultUser.apply(pass === '' ? 'nopass' : '>' + pass);
    this.refresh();
  }

  /** AUTH / HELLO AUTH: the user, or null (WRONGPASS). */
  authenticate(name: Buffer, pass: Buffer): User | null {
    const u = this.users.get(name.toString('latin1'));
    if (u === undefined || !u.checkPassword(pass)) return null;
    return u;
  }

  // ------------------------------------------------------------------ files

  /**
   * Parse ACL file lines into a new set of users (ACLLoadFromFile). Returns the users or
   * the error text Redis gives.
   */
  parseLines(text: string, source: string): Map<string, User> | string {
    const users = new Map<string, User>();
    let errors = '';
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
      const lineNo = i + 1;
      if (line === '') continue;
      const argv = line.split(' ');
      if (argv[0] !== 'user' || argv.length < 2) {
        errors += `${source}:${lineNo} should start with user keyword followed by the username. `;
        continue;
      }
      const name = argv[1];
      if (users.has(name)) {
        errors += `WARNING: Duplicate user '${name}' found on line ${lineNo}. `;
        continue;
      }
      const u = new User(name, this.index);
      users.set(name, u);
      const merged = mergeSelectorArgs(argv.slice(2));
      if (!Array.isArray(merged)) {
        errors += `${source}:${lineNo}: Unmatched parenthesis in selector definition.`;
        continue;
      }
      for (const op of merged) {
        const err = u.apply(op.replace(/^[\t\r\n]+|[\t\r\n]+$/g, ''));
        if (err !== null) {
          errors += `${source}:${lineNo}: ${RULE_ERRORS[err]}. `;
          break;
        }
      }
    }
    if (errors !== '') return errors + 'WARNING: ACL errors detected, no change to the previously active ACL rules was performed';
    return users;
  }

  /**
   * Replace every user with `users` (ACL LOAD, a change from another node). `killAll`:
   * as ACL LOAD, disconnect the clients of every old user but default; otherwise only
   * those of users that are gone, the others keep their (updated) user.
   */
  replaceAll(users: Map<string, User>, killAll: boolean, current: ClientState | null): void {
    const gone = new Set<User>();
    const next = new Map<string, User>();
    for (const [name, u] of users) {
      if (name === 'default') continue;
      const old = this.users.get(name);
      if (old !== undefined && !killAll) {
        old.copyFrom(u);
        this.killPubsubIfNeeded(old, current);
        next.set(name, old);
      } else next.set(name, u);
    }
    for (const [name, old] of this.users) {
      if (name === 'default') continue;
      if (killAll || !next.has(name) || next.get(name) !== old) gone.add(old);
    }
    this.defaultUser.copyFrom(users.get('default') ?? this.newDefaultUser());
    this.users.clear();
    this.users.set('default', this.defaultUser);
    for (const [name, u] of next) this.users.set(name, u);
    this.refresh();
    if (gone.size > 0) this.disconnect(gone, current);
  }

  /** ACL LOAD: null or the error text. */
  load(current: ClientState | null, local = true): string | null {
    if (this.aclfile === '') return NO_ACLFILE;
    let text: string;
    try {
      text = readFileSync(this.aclfile, 'latin1');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return `Error loading ACLs, opening file '${this.aclfile}': ${e.code === 'ENOENT' ? 'No such file or directory' : e.message}`;
    }
    const users = this.parseLines(text, this.aclfile);
    if (typeof users === 'string') return users;
    // Every user of the file, and every user it no longer has, is a change of its own.
    const names = new Set([...this.users.keys(), ...users.keys(), 'default']);
    this.replaceAll(users, true, current);
    if (local) this.changed([...names]);
    return null;
  }

  /** ACL SAVE: null or the error text. */
  save(): string | null {
    if (this.aclfile === '') return NO_ACLFILE;
    const tmp = `${this.aclfile}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, this.lines().map((l) => l + '\n').join(''), 'latin1');
      renameSync(tmp, this.aclfile);
    } catch {
      return 'There was an error trying to save the ACLs. Please check the server logs for more information';
    }
    return null;
  }

  /**
   * Start-up: the `user` directives (applied over a fresh default user) or the aclfile,
   * never both (Redis refuses that too). Returns an error text or null.
   */
  configure(aclfile: string, userLines: readonly string[][], requirepass: string): string | null {
    this.aclfile = aclfile;
    if (requirepass !== '') this.setRequirepass(requirepass);
    if (aclfile !== '' && userLines.length > 0) {
      return 'Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.';
    }
    if (aclfile !== '') return this.load(null, false);
    const seen = new Set<string>();
    for (const argv of userLines) {
      const name = argv[0];
      if (name === undefined) return 'user directive needs a username';
      if (seen.has(name)) return `Error in user declaration '${name}': ${RULE_ERRORS.EALREADY}`;
      seen.add(name);
      if (name === 'default') this.defaultUser.apply('reset');
      const err = this.setUser(name, argv.slice(1), false);
      if (err !== null) return `Error in user declaration '${name}': ${err}`;
    }
    this.refresh();
    return null;
  }

  // ------------------------------------------------------------------ cluster

  /** A local change to these users: each gets a new stamp, and the change goes to every node. */
  private changed(names: readonly string[]): void {
    const entries: AclEntry[] = [];
    for (const name of names) {
      this.version = Math.max(this.nowMs() * 1024, this.version + 1);
      const stamp = { version: this.version, origin: this.selfId };
      entries.push(this.stampUser(name, stamp));
    }
    if (this.onChange !== null) this.delivery = this.onChange(entries);
  }

  /** Record `stamp` for `name` as it is now (defined or deleted); the entry to send. */
  private stampUser(name: string, stamp: AclStamp): AclEntry {
    const u = this.users.get(name);
    if (u !== undefined) {
      this.stamps.set(name, stamp);
      this.deleted.delete(name);
      return { name, ...stamp, line: `user ${name} ${u.describe()}` };
    }
    this.deleted.set(name, stamp);
    this.stamps.delete(name);
    return { name, ...stamp, line: null };
  }

  /** Every stamped user and deletion (what a node resends so that others catch up). */
  entries(): AclEntry[] {
    const out: AclEntry[] = [];
    for (const [name, st] of this.stamps) {
      const u = this.users.get(name);
      if (u !== undefined) out.push({ name, ...st, line: `user ${name} ${u.describe()}` });
    }
    for (const [name, st] of this.deleted) out.push({ name, ...st, line: null });
    return out;
  }

  /**
   * The delivery of the change the current command made (null standalone): ACL SETUSER,
   * DELUSER and LOAD answer once the other nodes have it, so a client that authenticates
   * as a new user right after is not refused by a node that has not heard of it.
   */
  takeDelivery(): Promise<void> | null {
    const d = this.delivery;
    this.delivery = null;
    return d;
  }

  /**
   * Users from another node, each applied when its stamp is newer than ours for that user
   * (last writer wins per user, so changes to different users made on different nodes, even
   * on both sides of a partition, all survive). Returns the first error, or null.
   */
  applyRemote(entries: readonly AclEntry[]): string | null {
    let error: string | null = null;
    for (const e of entries) {
      if (e.version > this.version) this.version = e.version;
      const mine = this.stamps.get(e.name) ?? this.deleted.get(e.name);
      if (mine !== undefined && (e.version < mine.version || (e.version === mine.version && e.origin <= mine.origin))) continue;
      const stamp = { version: e.version, origin: e.origin };
      if (e.line === null) {
        const old = this.users.get(e.name);
        if (old !== undefined && e.name !== 'default') {
          this.users.delete(e.name);
          this.disconnect(new Set([old]), null);
        }
        this.stampUser(e.name, stamp);
        continue;
      }
      const parsed = this.parseLines(e.line, 'cluster');
      const u = typeof parsed === 'string' ? undefined : parsed.get(e.name);
      if (u === undefined) {
        error ??= typeof parsed === 'string' ? parsed : `no user ${e.name} in its line`;
        continue;
      }
      const old = this.users.get(e.name);
      if (old !== undefined) {
        old.copyFrom(u);
        this.killPubsubIfNeeded(old, null);
      } else this.users.set(e.name, u);
      this.stampUser(e.name, stamp);
    }
    this.refresh();
    return error;
  }
}

/** When and where a user's definition (or its deletion) was made. */
export interface AclStamp {
  version: number;
  origin: string;
}

/** One user as the cluster sends it: its ACL LIST line, or null when it was deleted. */
export interface AclEntry extends AclStamp {
  name: string;
  line: string | null;
}

const NO_ACLFILE =
  'This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.';

const stores = new WeakMap<ServerApi, AclStore>();

/** Attach the store to a server's api (node/server wiring); commands find it with aclOf. */
export function attachAcl(api: ServerApi, store: AclStore): void {
  stores.set(api, store);
}

export function aclOf(api: ServerApi): AclStore | undefined {
  return stores.get(api);
}
