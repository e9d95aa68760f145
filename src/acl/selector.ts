/**
 * One ACL selector (Redis 7.0 acl.c aclSelector): which commands, keys and channels it lets
 * through. A user has a root selector plus any number of `(...)` selectors; a command is
 * allowed when one selector allows all of it (user.ts, check.ts).
 *
 * Commands are a set of table entries (Redis keeps a bitmap of command ids). `+cmd` on a
 * container command allows it and every subcommand; `+cmd|sub` allows one subcommand, or
 * for a command without subcommands one first argument (Redis's allowed_firstargs,
 * `+select|0`). `future` is Redis's reserved bit that only +@all / allcommands set: it
 * decides whether a description starts with +@all or -@all.
 *
 * Rule parsing (`apply`) and the description (`describe`, ACL LIST / GETUSER) follow
 * acl.c of Redis 7.0.15, including its best-fit category description: starting from +@all
 * or -@all, the category that matches the most commands and differs on the fewest is
 * emitted, repeatedly, then single commands fix what remains. Redis walks its command
 * dictionary in hash order for those single commands; we walk the table in order.
 */
import type { CommandEntry } from '../commands/types';
import type { CommandTable } from '../commands/table';

/** Key pattern permissions (%R~, %W~, ~ = both). */
export const KEY_READ = 1;
export const KEY_WRITE = 2;
export const KEY_ALL = 3;

/** errno-style failures of one rule, with Redis's texts (ACLSetUserStringError). */
export const RULE_ERRORS = {
  ENOENT: 'Unknown command or category name in ACL',
  EINVAL: 'Syntax error',
  EEXIST: "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
  EISDIR: "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
  ENODEV: 'The password you are trying to remove from the user does not exist',
  EBADMSG: 'The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters',
  EALREADY: 'Duplicate user found. A user can only be defined once in config files',
  ECHILD: 'Allowing first-arg of a subcommand is not supported',
} as const;

export type RuleError = keyof typeof RULE_ERRORS;

/** ACL categories in Redis's order (ACLCommandCategories). */
export const CATEGORIES: readonly string[] = [
  'keyspace', 'read', 'write', 'set', 'sortedset', 'list', 'hash', 'string', 'bitmap',
  'hyperloglog', 'geo', 'stream', 'pubsub', 'admin', 'fast', 'slow', 'blocking', 'dangerous',
  'connection', 'transaction', 'scripting',
];

/**
 * Every command and subcommand of the table with its categories, in table order: what
 * category rules and descriptions iterate over.
 */
export class CommandIndex {
  /** Top-level commands in table order. */
  readonly top: CommandEntry[] = [];
  readonly categories = new Map<CommandEntry, ReadonlySet<string>>();

  constructor(
    readonly table: CommandTable,
    categoriesOf: (e: CommandEntry) => readonly string[],
  ) {
    const visit = (e: CommandEntry): void => {
      this.categories.set(e, new Set(categoriesOf(e).map((c) => c.replace(/^@/, ''))));
      if (e.subcommands !== null) for (const s of e.subcommands.values()) visit(s);
    };
    for (const e of table.entries()) {
      this.top.push(e);
      visit(e);
    }
  }

  /** ACLLookupCommand: 'get', 'client|list' (any case). */
  lookup(name: string): CommandEntry | undefined {
    const bar = name.indexOf('|');
    if (bar < 0) return this.table.lookup(name);
    const parent = this.table.lookup(name.slice(0, bar));
    if (parent === undefined || parent.subcommands === null) return undefined;
    return parent.subcommands.get(name.slice(bar + 1).toLowerCase());
  }

  /** Every entry, depth first (command, then its subcommands). */
  *all(): IterableIterator<CommandEntry> {
    for (const e of this.top) {
      yield e;
      if (e.subcommands !== null) yield* e.subcommands.values();
    }
  }
}

export interface KeyPattern {
  pattern: string;
  flags: number;
  /** The pattern's bytes, made on first use by the check. */
  bytes?: Buffer;
}

export class Selector {
  /** SELECTOR_FLAG_ALLCOMMANDS: every command, present and future (cleared by any removal). */
  allCommands = false;
  /** The reserved "future commands" bit: set by +@all, cleared by -@all. */
  future = false;
  allowed = new Set<CommandEntry>();
  /** Allowed first arguments of commands otherwise denied (lower case). */
  firstArgs: Map<CommandEntry, string[]> | null = null;
  allKeys = false;
  patterns: KeyPattern[] = [];
  allChannels = false;
  channels: string[] = [];

  constructor(readonly index: CommandIndex) {}

  clone(): Selector {
    const s = new Selector(this.index);
    s.allCommands = this.allCommands;
    s.future = this.future;
    s.allowed = new Set(this.allowed);
    s.firstArgs = this.firstArgs === null ? null : new Map([...this.firstArgs].map(([k, v]) => [k, [...v]]));
    s.allKeys = this.allKeys;
    s.patterns = this.patterns.map((p) => ({ pattern: p.pattern, flags: p.flags }));
    s.allChannels = this.allChannels;
    s.channels = [...this.channels];
    return s;
  }

  /** Whether the selector lets through everything: the check's fast path. */
  get unrestricted(): boolean {
    return this.allCommands && this.allKeys && this.allChannels;
  }

  private setAll(value: boolean): void {
    this.allowed = value ? new Set(this.index.all()) : new Set();
    this.future = value;
    this.allCommands = value;
    this.firstArgs = null;
  }

  /** ACLChangeSelectorPerm: a command and all its subcommands. */
  private change(e: CommandEntry, allow: boolean): void {
    this.setBit(e, allow);
    this.firstArgs?.delete(e);
    if (e.subcommands !== null) for (const s of e.subcommands.values()) this.setBit(s, allow);
  }

  private setBit(e: CommandEntry, allow: boolean): void {
    if (allow) this.allowed.add(e);
    else {
      this.allowed.delete(e);
      this.allCommands = false;
    }
  }

  private changeCategory(cat: string, allow: boolean): void {
    for (const e of this.index.all()) if (this.index.categories.get(e)!.has(cat)) this.change(e, allow);
  }

  /** One selector rule (ACLSetSelector); null, or what was wrong. */
  apply(op: string): RuleError | null {
    const lower = op.toLowerCase();
    if (lower === 'allkeys' || op === '~*') {
      this.allKeys = true;
      this.patterns = [];
    } else if (lower === 'resetkeys') {
      this.allKeys = false;
      this.patterns = [];
    } else if (lower === 'allchannels' || op === '&*') {
      this.allChannels = true;
      this.channels = [];
    } else if (lower === 'resetchannels') {
      this.allChannels = false;
      this.channels = [];
    } else if (lower === 'allcommands' || lower === '+@all') {
      this.setAll(true);
    } else if (lower === 'nocommands' || lower === '-@all') {
      this.setAll(false);
    } else if (op[0] === '~' || op[0] === '%') {
      if (this.allKeys) return 'EEXIST';
      let flags = 0;
      let offset = 1;
      if (op[0] === '%') {
        for (; offset < op.length; offset++) {
          const c = op[offset].toUpperCase();
          if (c === 'R' && (flags & KEY_READ) === 0) flags |= KEY_READ;
          else if (c === 'W' && (flags & KEY_WRITE) === 0) flags |= KEY_WRITE;
          else if (op[offset] === '~') {
            offset++;
            break;
          } else return 'EINVAL';
        }
        if (flags === 0) return 'EINVAL';
      } else flags = KEY_ALL;
      // Only `~*` (and allkeys) is "all keys"; `%RW~*` is a pattern like any other (7.0.15).
      const pattern = op.slice(offset);
      const old = this.patterns.find((p) => p.pattern === pattern);
      if (old !== undefined) old.flags |= flags;
      else this.patterns.push({ pattern, flags });
    } else if (op[0] === '&') {
      if (this.allChannels) return 'EISDIR';
      const ch = op.slice(1);
      if (!this.channels.includes(ch)) this.channels.push(ch);
    } else if ((op[0] === '+' || op[0] === '-') && op[1] === '@') {
      const cat = op.slice(2).toLowerCase();
      if (!CATEGORIES.includes(cat)) return 'ENOENT';
      this.changeCategory(cat, op[0] === '+');
    } else if (op[0] === '+') {
      const name = op.slice(1);
      const bar = name.indexOf('|');
      if (bar < 0) {
        const e = this.index.lookup(name);
        if (e === undefined) return 'ENOENT';
        this.change(e, true);
        return null;
      }
      const cmd = this.index.lookup(name.slice(0, bar));
      if (cmd === undefined) return 'ENOENT';
      const sub = name.slice(bar + 1);
      if (sub.includes('|')) return cmd.subcommands !== null ? 'ECHILD' : 'ENOENT';
      if (sub === '') return 'EINVAL';
      if (cmd.subcommands !== null) {
        const s = cmd.subcommands.get(sub.toLowerCase());
        if (s === undefined) return 'ENOENT';
        this.change(s, true);
      } else {
        const list = (this.firstArgs ??= new Map()).get(cmd) ?? [];
        if (!list.includes(sub.toLowerCase())) list.push(sub.toLowerCase());
        this.firstArgs.set(cmd, list);
      }
    } else if (op[0] === '-') {
      const e = this.index.lookup(op.slice(1));
      if (e === undefined) return 'ENOENT';
      this.change(e, false);
    } else return 'EINVAL';
    return null;
  }

  // ------------------------------------------------------------------ description

  /** The key patterns as GETUSER shows them ("~a %R~b", "~*"). */
  describeKeys(): string {
    if (this.allKeys) return '~*';
    return this.patterns.map(patternString).join(' ');
  }

  describeChannels(): string {
    if (this.allChannels) return '&*';
    return this.channels.map((c) => '&' + c).join(' ');
  }

  /** ACLDescribeSelector: keys, channels, command rules. */
  describe(): string {
    let res = '';
    if (this.allKeys) res += '~* ';
    else for (const p of this.patterns) res += patternString(p) + ' ';
    if (this.allChannels) res += '&* ';
    else {
      res += 'resetchannels ';
      for (const c of this.channels) res += '&' + c + ' ';
    }
    return res + this.describeCommands();
  }

  /** ACLDescribeSelectorCommandRules (Redis 7.0.15's best-fit description). */
  describeCommands(): string {
    const rules: string[] = [];
    const fake = new Selector(this.index);
    const additive = !this.future;
    rules.push(additive ? '-@all' : '+@all');
    fake.setAll(!additive);
    const temp = new Selector(this.index);
    temp.allowed = new Set(this.allowed);
    const applied = new Set<string>();
    for (;;) {
      let best: string | null = null;
      let minDiff = Infinity;
      let maxSame = 0;
      for (const cat of CATEGORIES) {
        if (applied.has(cat)) continue;
        let on = 0;
        let off = 0;
        for (const e of this.index.all()) {
          if (!this.index.categories.get(e)!.has(cat)) continue;
          if (temp.allowed.has(e)) on++;
          else off++;
        }
        const diff = additive ? off : on;
        const same = additive ? on : off;
        if (same > diff && (diff < minDiff || (diff === minDiff && same > maxSame))) {
          best = cat;
          minDiff = diff;
          maxSame = same;
        }
      }
      if (best === null) break;
      fake.changeCategory(best, additive);
      temp.changeCategory(best, !additive);
      rules.push((additive ? '+@' : '-@') + best);
      applied.add(best);
    }
    // Single commands: the differences left, then allowed first arguments, then subcommands.
    for (const e of this.index.top) {
      const bit = this.allowed.has(e);
      if (bit !== fake.allowed.has(e)) {
        rules.push((bit ? '+' : '-') + e.fullName);
        fake.change(e, bit);
      }
      const firsts = this.firstArgs?.get(e);
      if (firsts !== undefined) for (const a of firsts) rules.push(`+${e.fullName}|${a}`);
      if (e.subcommands !== null) {
        for (const s of e.subcommands.values()) {
          const sb = this.allowed.has(s);
          if (sb !== fake.allowed.has(s)) {
            rules.push((sb ? '+' : '-') + s.fullName);
            fake.setBit(s, sb);
          }
        }
      }
    }
    return rules.join(' ');
  }
}

function patternString(p: KeyPattern): string {
  const prefix = p.flags === KEY_ALL ? '~' : p.flags === KEY_READ ? '%R~' : '%W~';
  return prefix + p.pattern;
}
