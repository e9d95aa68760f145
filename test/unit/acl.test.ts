/**
 * The ACL model (src/acl/) without a server: rules and their description, the permission
 * check (selectors, key flags, channels, first arguments), the log's grouping, the ACL
 * file parser, and last-writer-wins between nodes.
 */
import { describe, expect, it } from 'vitest';
import { ALL_COMMANDS } from '../../src/commands';
import { CommandTable } from '../../src/commands/table';
import { metaOf } from '../../src/commands/command';
import { AclStore } from '../../src/acl/store';
import { aclCheck } from '../../src/acl';
import { AclLog } from '../../src/acl/log';
import type { ClientState } from '../../src/server/client-state';

const table = new CommandTable(ALL_COMMANDS);

function store(clients: ClientState[] = [], now = () => 1000): AclStore {
  return new AclStore(table, (e) => metaOf(e).aclCategories, { clients: () => clients }, now);
}

const args = (...a: string[]): Buffer[] => a.map((x) => Buffer.from(x));

function check(s: AclStore, user: string, ...argv: string[]): string {
  const u = s.get(user)!;
  const b = args(...argv);
  const entry = table.lookup(b[0])!;
  const e = entry.subcommands !== null && b.length > 1 ? entry.subcommands.get(argv[1].toLowerCase())! : entry;
  const d = aclCheck(u, e, b);
  return d === null ? 'ok' : `${['', 'command', 'key', 'auth', 'channel'][d.reason]}@${d.pos}`;
}

describe('rules and descriptions', () => {
  it('describes users as Redis 7.0.15 does', () => {
    const s = store();
    expect(s.lines()).toEqual(['user default on nopass ~* &* +@all']);
    expect(s.setUser('a', ['on', '>p1', '~app:*', '+get', '&ch*'])).toBeNull();
    expect(s.get('a')!.describe()).toBe('on #f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a ~app:* resetchannels &ch* -@all +get');
    expect(s.setUser('b', ['+@all', '-get'])).toBeNull();
    expect(s.get('b')!.describe()).toBe('off resetchannels +@all -get');
    expect(s.setUser('c', ['~a', '%R~a', '%W~b', '%RW~c', '%R~*', '+@hash', '-@string', '+get', '+select|0', '+client|list'])).toBeNull();
    // Single commands in table order (Redis: its command dictionary's hash order).
    expect(s.get('c')!.describe()).toBe('off ~a %W~b ~c %R~* resetchannels -@all +@hash +select|0 +client|list +get');
    expect(s.setUser('d', ['reset', '(~x* +get)'])).toBeNull();
    expect(s.get('d')!.describe()).toBe('off sanitize-payload resetchannels -@all (~x* resetchannels -@all +get)');
  });

  it('gives Redis errors and changes nothing on one', () => {
    const s = store();
    s.setUser('a', ['on', '+get']);
    expect(s.setUser('a', ['+set', 'foo'])).toBe("Error in ACL SETUSER modifier 'foo': Syntax error");
    expect(s.get('a')!.describe()).toBe('on resetchannels -@all +get');
    expect(s.setUser('a', ['allkeys', '~x'])).toMatch(/Adding a pattern after the \* pattern \(or the 'allkeys' flag\)/);
    expect(s.setUser('a', ['+client|list|x'])).toBe("Error in ACL SETUSER modifier '+client|list|x': Allowing first-arg of a subcommand is not supported");
    expect(s.setUser('a', ['(~x', '+get'])).toBe("Unmatched parenthesis in acl selector starting at '(~x'.");
    expect(s.setUser('a b', [])).toBe("Usernames can't contain spaces or null characters");
  });
});

describe('the permission check', () => {
  const s = store();
  s.setUser('u', ['on', '%R~r:*', '%W~w:*', '~rw:*', '&news', '+@all', '-flushall', '+select|0', '-select', '+select|0']);
  s.setUser('sel', ['on', '+get', '~a*', '(+set ~b*)']);
  it('checks commands, first arguments, key flags and channels', () => {
    expect(check(s, 'u', 'get', 'r:1')).toBe('ok');
    expect(check(s, 'u', 'set', 'r:1', 'v')).toBe('key@1');
    expect(check(s, 'u', 'set', 'w:1', 'v', 'GET')).toBe('key@1');
    expect(check(s, 'u', 'set', 'w:1', 'v')).toBe('ok');
    expect(check(s, 'u', 'get', 'w:1')).toBe('key@1');
    expect(check(s, 'u', 'lmove', 'rw:1', 'w:2', 'left', 'right')).toBe('ok');
    expect(check(s, 'u', 'lmove', 'r:1', 'w:2', 'left', 'right')).toBe('key@1');
    expect(check(s, 'u', 'copy', 'r:1', 'w:2')).toBe('ok');
    expect(check(s, 'u', 'flushall')).toBe('command@0');
    expect(check(s, 'u', 'select', '0')).toBe('ok');
    expect(check(s, 'u', 'select', '1')).toBe('command@0');
    expect(check(s, 'u', 'publish', 'news', 'm')).toBe('ok');
    expect(check(s, 'u', 'publish', 'other', 'm')).toBe('channel@1');
    expect(check(s, 'u', 'subscribe', 'news', 'x')).toBe('channel@2');
    expect(check(s, 'u', 'auth', 'x')).toBe('ok');
  });

  it('allows what one selector allows whole, and reports the most relevant denial', () => {
    expect(check(s, 'sel', 'get', 'a1')).toBe('ok');
    expect(check(s, 'sel', 'set', 'b1', 'v')).toBe('ok');
    expect(check(s, 'sel', 'set', 'a1', 'v')).toBe('key@1');
    expect(check(s, 'sel', 'get', 'b1')).toBe('key@1');
    expect(check(s, 'sel', 'del', 'a1')).toBe('command@0');
    expect(s.defaultUser.unrestricted).toBe(true);
    expect(s.get('sel')!.unrestricted).toBe(false);
  });
});

describe('the log', () => {
  it('groups like events within 60 s among the 10 newest, newest first, bounded', () => {
    const log = new AclLog();
    const e = (object: string, t: number) => ({ reason: 'command' as const, context: 'toplevel' as const, object: Buffer.from(object), username: Buffer.from('u'), ctimeMs: t, clientInfo: 'c' });
    log.add(e('get', 0), 3);
    log.add(e('get', 1000), 3);
    log.add(e('get', 70_000), 3);
    log.add(e('set', 70_000), 3);
    log.add(e('del', 70_000), 3);
    log.add(e('incr', 70_000), 3);
    const w = { items: [] as unknown[], array(n: number) { this.items.push(['array', n]); }, map() {}, bulkString(s: string) { this.items.push(s); }, integer(n: number) { this.items.push(n); }, bulk(b: Buffer) { this.items.push(b.toString()); }, double() {} };
    log.write(w as never, 10, 80_000);
    expect(w.items[0]).toEqual(['array', 3]);
    const objects = w.items.filter((_, i, a) => a[i - 1] === 'object');
    expect(objects).toEqual(['incr', 'del', 'set']);
  });
});

describe('files and the cluster', () => {
  it('parses ACL files with Redis errors and applies users of another node when their stamps are newer', () => {
    const s = store();
    const bad = s.parseLines('user a on >x\nfoo\nuser a off\nuser b +nosuch\n', 'f.acl');
    expect(bad).toBe("f.acl:2 should start with user keyword followed by the username. WARNING: Duplicate user 'a' found on line 3. f.acl:4: Unknown command or category name in ACL. WARNING: ACL errors detected, no change to the previously active ACL rules was performed");
    const killed: number[] = [];
    const client = { id: 7, aclUser: undefined as unknown, kill: () => killed.push(7), closeAfterReply: () => undefined, authenticated: true } as unknown as ClientState;
    const s2 = store([client]);
    s2.selfId = 'n2';
    s2.setUser('keep', ['on', 'nopass']);
    s2.setUser('drop', ['on', 'nopass']);
    client.aclUser = s2.get('drop');
    const keep = s2.get('keep')!;
    const v = s2.stamps.get('keep')!.version;
    expect(s2.applyRemote([{ name: 'keep', version: v - 1, origin: 'n1', line: 'user keep off' }])).toBeNull();
    expect(keep.enabled).toBe(true); // older: ignored
    expect(s2.applyRemote([{ name: 'keep', version: v + 5, origin: 'n1', line: 'user keep off +get' }, { name: 'drop', version: v + 5, origin: 'n1', line: null }])).toBeNull();
    expect(s2.get('keep')).toBe(keep); // the same object, updated
    expect(keep.describe()).toBe('off resetchannels -@all +get');
    expect(s2.get('drop')).toBeUndefined();
    expect(killed).toEqual([7]);
    // An older definition of a deleted user does not bring it back.
    expect(s2.applyRemote([{ name: 'drop', version: v + 1, origin: 'n3', line: 'user drop on nopass' }])).toBeNull();
    expect(s2.get('drop')).toBeUndefined();
    // The next local change is stamped after everything seen.
    s2.setUser('keep', ['on']);
    expect(s2.stamps.get('keep')!.version).toBeGreaterThan(v + 5);
  });

  it('keeps concurrent changes to different users made on two nodes (a partition), in any order of delivery', () => {
    const n1 = store();
    n1.selfId = 'n1';
    const n2 = store();
    n2.selfId = 'n2';
    // Both sides change the ACL without hearing of each other.
    n1.setUser('alice', ['on', '>a', '~a:*', '+@all']);
    n2.setUser('bob', ['on', '>b', '~b:*', '+@read']);
    n2.setUser('carol', ['on', 'nopass']);
    n1.setUser('carol', ['off']);
    n1.delUsers(['carol'], null);
    // Healing: each resends what it has.
    const from1 = n1.entries();
    const from2 = n2.entries();
    expect(n2.applyRemote(from1)).toBeNull();
    expect(n1.applyRemote(from2)).toBeNull();
    expect(n1.lines()).toEqual(n2.lines());
    expect(n1.sortedNames()).toEqual(['alice', 'bob', 'default']);
    // The deletion on n1 was later than carol's creation on n2: it wins on both.
    expect(n2.get('carol')).toBeUndefined();
    // Applying the same entries again changes nothing.
    expect(n2.applyRemote(from1)).toBeNull();
    expect(n1.lines()).toEqual(n2.lines());
  });
});
