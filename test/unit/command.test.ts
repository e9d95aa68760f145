/**
 * COMMAND against a real redis-server 7.0.15: the same request goes to Redis and to our
 * handlers (run on a small table), and for the commands we share with Redis the reply
 * bytes must be equal in RESP2 and RESP3. Where Redis's order is its hash table's (random
 * per process: subcommand lists, COMMAND LIST), both replies are compared after sorting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSpecAgainstMeta, commandCommands, deriveAclCategories } from '../../src/commands/command';
import { REDIS_META } from '../../src/commands/redis-meta.generated';
import { CommandTable } from '../../src/commands/table';
import { NO_KEYS, type CommandContext, type CommandSpec } from '../../src/commands/types';
import { ReplyWriter } from '../../src/resp/writer';
import { RawClient } from '../support/raw-client';
import { decodeFrame, escapeBytes, type Frame } from '../support/resp-frames';
import { startRedis, type ServerProcess } from '../support/servers';

// ---------------------------------------------------------------------------------------
// Tables.
// ---------------------------------------------------------------------------------------
const noop = (): void => undefined;

/** A spec that says what Redis says about `fullName` (the subcommand's own name last). */
function specFromMeta(fullName: string): CommandSpec {
  const m = REDIS_META[fullName];
  const subs = m.subcommands?.map(specFromMeta);
  return {
    name: fullName.split('|').pop() as string,
    arity: m.arity,
    flags: m.flags.filter((f) => f === 'write' || f === 'readonly' || f === 'fast') as CommandSpec['flags'],
    keys: { first: m.firstKey, last: m.lastKey, step: m.keyStep },
    group: m.docs.group,
    summary: m.docs.summary ?? '',
    since: m.docs.since ?? '',
    ...(subs !== undefined ? { subcommands: subs } : { handler: noop }),
  };
}

/** Every top-level command Redis metadata was generated for, with all Redis's subcommands. */
const TOP_LEVEL = Object.keys(REDIS_META).filter((n) => !n.includes('|') && n !== 'command');
const fullTable = new CommandTable([...TOP_LEVEL.map(specFromMeta), ...commandCommands]);

/** A few fake specs: shared commands, a container with a subset of Redis's subcommands, and ours. */
const smallSpecs: CommandSpec[] = [
  { name: 'get', arity: 2, flags: ['readonly', 'fast'], keys: { first: 1, last: 1, step: 1 }, group: 'string', summary: 'x', since: '1.0.0', handler: noop },
  { name: 'mset', arity: -3, flags: ['write', 'denyoom'], keys: { first: 1, last: -1, step: 2 }, group: 'string', summary: 'x', since: '1.0.1', handler: noop },
  { name: 'copy', arity: -3, flags: ['write', 'denyoom'], keys: { first: 1, last: 2, step: 1 }, group: 'generic', summary: 'x', since: '6.2.0', handler: noop },
  { name: 'ping', arity: -1, flags: ['fast'], keys: NO_KEYS, group: 'connection', summary: 'x', since: '1.0.0', handler: noop },
  {
    name: 'client', arity: -2, flags: [], keys: NO_KEYS, group: 'connection', summary: 'x', since: '2.4.0',
    subcommands: [
      { name: 'setname', arity: 3, flags: ['noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'connection', summary: 'x', since: '2.6.9', handler: noop },
      { name: 'getname', arity: 2, flags: ['noscript', 'loading', 'stale'], keys: NO_KEYS, group: 'connection', summary: 'x', since: '2.6.9', handler: noop },
    ],
  },
  {
    name: 'consistency', arity: -3, flags: ['readonly'], keys: { first: 2, last: -1, step: 1 }, group: 'generic',
    summary: 'Read keys at a given consistency level.', since: '0.1.0', complexity: 'O(N)', handler: noop,
  },
  {
    name: 'ring', arity: -2, flags: [], keys: NO_KEYS, group: 'cluster', summary: 'Ring container.', since: '0.1.0',
    subcommands: [
      { name: 'show', arity: 2, flags: ['admin', 'loading', 'stale'], keys: NO_KEYS, group: 'cluster', summary: 'Show the ring.', since: '0.1.0', handler: noop },
    ],
  },
  ...commandCommands,
];
const smallTable = new CommandTable(smallSpecs);

/** Run one command through our handlers the way dispatch would (lookup, subcommand). */
function ours(table: CommandTable, proto: 2 | 3, ...args: string[]): Buffer {
  const argv = args.map((a) => Buffer.from(a));
  let entry = table.lookup(argv[0]);
  if (entry === undefined) throw new Error(`no ${args[0]}`);
  if (entry.subcommands !== null && argv.length >= 2) {
    const sub = entry.subcommands.get(args[1].toLowerCase());
    if (sub === undefined) throw new Error(`no ${args[0]} ${args[1]}`);
    entry = sub;
  }
  const arity = entry.spec.arity;
  if ((arity > 0 && argv.length !== arity) || argv.length < -arity) throw new Error(`arity ${args.join(' ')}`);
  const reply = new ReplyWriter();
  reply.proto = proto;
  const ctx: CommandContext = { reply, db: undefined as never, client: {} as never, server: { table } as never, nowMs: 0 };
  const r = entry.spec.handler?.(ctx, argv);
  if (r instanceof Promise) throw new Error('COMMAND handlers are synchronous');
  return reply.take();
}

// ---------------------------------------------------------------------------------------
// The reference server.
// ---------------------------------------------------------------------------------------
let redis: ServerProcess;
const clients: Record<2 | 3, RawClient> = {} as Record<2 | 3, RawClient>;

beforeAll(async () => {
  redis = await startRedis();
  clients[2] = await RawClient.connect(redis.port);
  clients[3] = await RawClient.connect(redis.port);
  await clients[3].send('HELLO', '3');
});

afterAll(async () => {
  clients[2]?.close();
  clients[3]?.close();
  if (redis) await redis.stop();
});

function theirs(proto: 2 | 3, ...args: string[]): Promise<Buffer> {
  return clients[proto].send(...args);
}

async function expectSameBytes(table: CommandTable, proto: 2 | 3, ...args: string[]): Promise<void> {
  const want = await theirs(proto, ...args);
  const got = ours(table, proto, ...args);
  if (!got.equals(want)) {
    throw new Error(`${args.join(' ')} (RESP${proto})\n ours:   ${escapeBytes(got, 2000)}\n redis:  ${escapeBytes(want, 2000)}`);
  }
}

/** A frame as plain data, with the aggregates at the paths `sortWhere` picks sorted. */
type Plain = string | Plain[];
function plain(f: Frame, sortWhere: (path: string) => boolean, at = ''): Plain {
  if (f.items.length === 0) return f.type + (f.value === null ? '' : f.value.toString('latin1'));
  let items = f.items.map((x, i) => plain(x, sortWhere, `${at}/${i}`));
  if (sortWhere(at)) items = [...items].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  return [f.type, ...items];
}

const PROTOS = [2, 3] as const;

// ---------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------
describe.each(PROTOS)('COMMAND in RESP%i', (proto) => {
  it('COUNT is the number of top-level commands', () => {
    expect(ours(smallTable, proto, 'COMMAND', 'COUNT').toString()).toBe(`:${smallTable.size}\r\n`);
  });

  it('INFO of shared commands and unknown names equals Redis byte for byte', async () => {
    await expectSameBytes(smallTable, proto, 'COMMAND', 'INFO', 'get', 'nosuch', 'GET', 'client|setname', 'CLIENT|GETNAME', 'client|nosuch', 'get|x', 'client|setname|x', 'mset', 'copy');
    await expectSameBytes(smallTable, proto, 'COMMAND', 'INFO', 'nosuch');
  });

  it('INFO of every generated command equals Redis byte for byte', async () => {
    const plainCommands = TOP_LEVEL.filter((n) => REDIS_META[n].subcommands === undefined);
    await expectSameBytes(fullTable, proto, 'COMMAND', 'INFO', ...plainCommands);
    const subcommands = Object.keys(REDIS_META).filter((n) => n.includes('|'));
    await expectSameBytes(fullTable, proto, 'COMMAND', 'INFO', ...subcommands);
  });

  it('INFO of a container equals Redis up to subcommand order', async () => {
    for (const name of ['client', 'config', 'command']) {
      const want = decodeFrame(await theirs(proto, 'COMMAND', 'INFO', name));
      const got = decodeFrame(ours(fullTable, proto, 'COMMAND', 'INFO', name));
      const subList = (p: string) => p === '/0/9';
      expect(plain(got, subList)).toEqual(plain(want, subList));
    }
  });

  it('INFO of a container lists only the subcommands we serve', () => {
    const f = decodeFrame(ours(smallTable, proto, 'COMMAND', 'INFO', 'client'));
    const subs = f.items[0].items[9].items.map((s) => s.items[0].value?.toString());
    expect(subs).toEqual(['client|setname', 'client|getname']);
  });

  it('DOCS of shared commands equals Redis byte for byte, unknown names omitted', async () => {
    await expectSameBytes(fullTable, proto, 'COMMAND', 'DOCS', 'set', 'nosuch', 'getset', 'GETEX', 'client|kill', 'mset', 'scan', 'shutdown');
    await expectSameBytes(fullTable, proto, 'COMMAND', 'DOCS', 'nosuch');
    for (const name of Object.keys(REDIS_META)) {
      if (REDIS_META[name].subcommands === undefined) await expectSameBytes(fullTable, proto, 'COMMAND', 'DOCS', name);
    }
  });

  it('DOCS for a command with subcommands equals Redis up to subcommand order', async () => {
    for (const name of ['client', 'config', 'command']) {
      const want = decodeFrame(await theirs(proto, 'COMMAND', 'DOCS', name));
      const got = decodeFrame(ours(fullTable, proto, 'COMMAND', 'DOCS', name));
      // In RESP2 the subcommand map is a flat array: compare its name/docs pairs as a set.
      const pairs = (f: Frame): Frame => {
        const top = f.items[1];
        const at = top.items.findIndex((x) => x.value?.toString() === 'subcommands');
        return top.items[at + 1];
      };
      const asPairs = (f: Frame) => {
        const s = pairs(f);
        const out: string[] = [];
        for (let i = 0; i < s.items.length; i += 2) out.push(s.items[i].raw.toString() + s.items[i + 1].raw.toString());
        return out.sort();
      };
      expect(asPairs(got)).toEqual(asPairs(want));
      expect(pairs(got).type).toBe(pairs(want).type);
      // Everything before the subcommands is byte-identical.
      const cut = (f: Frame) => f.raw.subarray(0, f.raw.length - pairs(f).raw.length);
      expect(escapeBytes(cut(got), 5000)).toBe(escapeBytes(cut(want), 5000));
    }
  });

  it('GETKEYS and GETKEYSANDFLAGS equal Redis, errors included', async () => {
    const cases = [
      ['GETKEYS', 'mset', 'a', '1', 'b', '2'],
      ['GETKEYS', 'mset', 'a', 'b', 'c'],
      ['GETKEYS', 'get', 'k'],
      ['GETKEYS', 'GET', 'k'],
      ['GETKEYS', 'copy', 'a', 'b', 'DB', '1'],
      ['GETKEYS', 'nosuch', 'a'],
      ['GETKEYS', 'ping', 'a'],
      ['GETKEYS', 'get', 'a', 'b'],
      ['GETKEYS', 'mset', 'a'],
      ['GETKEYS', 'client', 'nosuch'],
      ['GETKEYS', 'client', 'setname', 'x'],
      ['GETKEYSANDFLAGS', 'copy', 'a', 'b'],
      ['GETKEYSANDFLAGS', 'mset', 'a', '1', 'b', '2'],
      ['GETKEYSANDFLAGS', 'get', 'a'],
    ];
    for (const c of cases) await expectSameBytes(smallTable, proto, 'COMMAND', ...c);
  });

  it('GETKEYS of our own command uses its key spec', () => {
    expect(ours(smallTable, proto, 'COMMAND', 'GETKEYS', 'consistency', 'QUORUM', 'a', 'b').toString()).toBe(
      '*2\r\n$1\r\na\r\n$1\r\nb\r\n',
    );
  });

  it('LIST with and without FILTERBY PATTERN/ACLCAT/MODULE matches Redis', async () => {
    const names = async (...args: string[]) => {
      const want = decodeFrame(await theirs(proto, 'COMMAND', 'LIST', ...args)).items.map((x) => x.value?.toString());
      const got = decodeFrame(ours(fullTable, proto, 'COMMAND', 'LIST', ...args)).items.map((x) => x.value?.toString());
      return { want, got };
    };
    for (const args of [['FILTERBY', 'PATTERN', 'client*'], ['FILTERBY', 'pattern', 'CONFIG|?ET'], ['FILTERBY', 'MODULE', 'x'], ['FILTERBY', 'aclcat', 'nosuch']]) {
      const { want, got } = await names(...args);
      expect(got.sort()).toEqual(want.sort());
    }
    // ACLCAT over the commands we share: every one Redis lists that we have, we list too.
    const { want, got } = await names('FILTERBY', 'ACLCAT', 'keyspace');
    const ourAll = new Set(decodeFrame(ours(fullTable, proto, 'COMMAND', 'LIST')).items.map((x) => x.value?.toString()));
    expect(got.sort()).toEqual(want.filter((n) => ourAll.has(n)).sort());
    for (const bad of [['FILTERBY', 'PATTERN'], ['FILTERBY', 'nosuch', 'x'], ['foo'], ['FILTERBY', 'PATTERN', 'x', 'FILTERBY', 'PATTERN', 'y']]) {
      await expectSameBytes(fullTable, proto, 'COMMAND', 'LIST', ...bad);
    }
  });

  it('LIST lists containers followed by their subcommands, in table order', () => {
    const list = (...args: string[]) =>
      decodeFrame(ours(smallTable, proto, 'COMMAND', 'LIST', ...args)).items.map((x) => x.value?.toString());
    expect(list('FILTERBY', 'PATTERN', 'c[lo][ip]*')).toEqual(['copy', 'client', 'client|setname', 'client|getname']);
    expect(list('FILTERBY', 'PATTERN', '*NAME')).toEqual(['client|setname', 'client|getname']);
    expect(list('FILTERBY', 'ACLCAT', 'admin')).toEqual(['ring|show']);
    expect(list().slice(0, 7)).toEqual(['get', 'mset', 'copy', 'ping', 'client', 'client|setname', 'client|getname']);
  });

  it('HELP equals Redis', async () => {
    await expectSameBytes(smallTable, proto, 'COMMAND', 'HELP');
  });

  it('COMMAND alone describes every top-level command', () => {
    const f = decodeFrame(ours(smallTable, proto, 'COMMAND'));
    expect(f.items.map((x) => x.items[0].value?.toString())).toEqual([...smallTable.entries()].map((e) => e.fullName));
  });

  it('INFO and DOCS of our own commands are derived from the spec', () => {
    const set = proto === 3 ? '~' : '*';
    const map = (n: number) => (proto === 3 ? `%${n}` : `*${2 * n}`);
    const info = ours(smallTable, proto, 'COMMAND', 'INFO', 'consistency').toString();
    expect(info).toBe(
      [
        '*1', '*10', '$11', 'consistency', ':-3', `${set}1`, '+readonly', ':2', ':-1', ':1',
        `${set}3`, '+@keyspace', '+@read', '+@slow', `${set}0`,
        `${set}1`, map(3), '$5', 'flags', `${set}2`, '+RO', '+access',
        '$12', 'begin_search', map(2), '$4', 'type', '$5', 'index', '$4', 'spec', map(1), '$5', 'index', ':2',
        '$9', 'find_keys', map(2), '$4', 'type', '$5', 'range', '$4', 'spec', map(3),
        '$7', 'lastkey', ':-1', '$7', 'keystep', ':1', '$5', 'limit', ':0',
        `${set}0`, '',
      ].join('\r\n'),
    );
    const ring = decodeFrame(ours(smallTable, proto, 'COMMAND', 'INFO', 'ring'));
    const show = ring.items[0].items[9].items[0];
    expect(show.items[0].value?.toString()).toBe('ring|show');
    expect(show.items[2].items.map((x) => x.value?.toString())).toEqual(['admin', 'loading', 'stale']);
    expect(show.items[6].items.map((x) => x.value?.toString())).toEqual(['@admin', '@slow', '@dangerous']);

    const docs = ours(smallTable, proto, 'COMMAND', 'DOCS', 'ring').toString();
    expect(docs).toBe(
      [
        map(1), '$4', 'ring', map(4), '$7', 'summary', '$15', 'Ring container.', '$5', 'since', '$5', '0.1.0',
        '$5', 'group', '$7', 'cluster', '$11', 'subcommands', map(1), '$9', 'ring|show',
        map(3), '$7', 'summary', '$14', 'Show the ring.', '$5', 'since', '$5', '0.1.0', '$5', 'group', '$7', 'cluster', '',
      ].join('\r\n'),
    );
  });
});

describe('checkSpecAgainstMeta', () => {
  it('finds nothing for specs that say what Redis says, and nothing for our own commands', () => {
    for (const name of Object.keys(REDIS_META)) expect(checkSpecAgainstMeta(specFromMeta(name), name)).toEqual([]);
    for (const spec of commandCommands[0].subcommands ?? []) {
      expect(checkSpecAgainstMeta(spec, `command|${spec.name}`)).toEqual([]);
    }
    expect(checkSpecAgainstMeta(commandCommands[0], 'command')).toEqual([]);
    expect(checkSpecAgainstMeta(smallSpecs[5], 'consistency')).toEqual([]);
  });

  it('lists arity, key range and write/readonly differences', () => {
    const spec: CommandSpec = { name: 'get', arity: -2, flags: ['write'], keys: NO_KEYS, group: 'string', summary: '', since: '', handler: noop };
    expect(checkSpecAgainstMeta(spec, 'get')).toEqual([
      'get: arity -2, Redis 2',
      'get: keys 0/0/0, Redis 1/1/1',
      'get: has flag write, Redis lacks it',
      'get: lacks flag readonly, Redis has it',
    ]);
  });
});

describe('deriveAclCategories', () => {
  it('follows the group and the implicit flag categories in Redis order', () => {
    const base = { name: 'x', arity: 1, keys: NO_KEYS, summary: '', since: '', handler: noop };
    expect(deriveAclCategories({ ...base, group: 'string', flags: ['write', 'denyoom'] })).toEqual(['@write', '@string', '@slow']);
    expect(deriveAclCategories({ ...base, group: 'string', flags: ['readonly', 'fast'] })).toEqual(['@read', '@string', '@fast']);
    expect(deriveAclCategories({ ...base, group: 'server', flags: ['admin', 'noscript'] })).toEqual(['@admin', '@slow', '@dangerous']);
    expect(deriveAclCategories({ ...base, group: 'generic', flags: ['write', 'fast'] })).toEqual(['@keyspace', '@write', '@fast']);
  });
});
