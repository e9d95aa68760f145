import { describe, expect, it } from 'vitest';
import { ALL_COMMANDS } from '../../src/commands';
import { CommandTable } from '../../src/commands/table';
import { checkSpecAgainstMeta } from '../../src/commands/command';
import { REDIS_META } from '../../src/commands/redis-meta.generated';

describe('command table', () => {
  const table = new CommandTable(ALL_COMMANDS);

  it('agrees with Redis 7.0 on arity, key positions and write/readonly flags', () => {
    const diffs: string[] = [];
    for (const e of table.entries()) {
      diffs.push(...checkSpecAgainstMeta(e.spec, e.fullName).map((d) => `${e.fullName}: ${d}`));
      if (e.subcommands !== null) {
        for (const s of e.subcommands.values()) diffs.push(...checkSpecAgainstMeta(s.spec, s.fullName).map((d) => `${s.fullName}: ${d}`));
      }
    }
    expect(diffs).toEqual([]);
  });

  it('has every command the issue lists', () => {
    const required =
      'ping echo quit reset hello auth select client config info dbsize time flushdb flushall shutdown command get set setnx setex psetex getset getdel getex mget mset msetnx append strlen getrange setrange incr decr incrby decrby incrbyfloat del unlink exists touch type expire pexpire expireat pexpireat ttl pttl expiretime pexpiretime persist keys scan randomkey rename renamenx copy'.split(' ');
    const missing = required.filter((n) => table.lookup(n) === undefined);
    expect(missing).toEqual([]);
    for (const sub of ['id', 'setname', 'getname', 'list', 'info', 'kill', 'setinfo']) expect(table.lookup('client')?.subcommands?.get(sub)).toBeDefined();
    for (const sub of ['count', 'info', 'docs', 'list']) expect(table.lookup('command')?.subcommands?.get(sub)).toBeDefined();
    for (const sub of ['get', 'set', 'resetstat']) expect(table.lookup('config')?.subcommands?.get(sub)).toBeDefined();
  });

  it('has Redis metadata for every command except our own', () => {
    const ours = [...table.entries()].filter((e) => e.spec.group !== 'cluster').map((e) => e.fullName).filter((n) => REDIS_META[n] === undefined);
    expect(ours).toEqual([]);
  });
});
