/**
 * The fuzzer's own parts, without a server: the generators replay from their seed, and the
 * reply checks reject what they must (a check that cannot fail proves nothing).
 */
import { describe, expect, it } from 'vitest';
import { checkReplies, CommandFuzzer, EXCLUDED, parseCommandTable, protocolCase, ReplyError, Rng, type CommandModel } from './fuzz';
import { sameReplies } from './fuzz-run';

describe('protocolCase', () => {
  it('replays exactly from its seed', () => {
    for (let seed = 0; seed < 50; seed++) {
      const a = protocolCase(new Rng(seed), 'k');
      const b = protocolCase(new Rng(seed), 'k');
      expect(Buffer.concat(a.pieces).equals(Buffer.concat(b.pieces))).toBe(true);
      expect(a.pieces.map((p) => p.length)).toEqual(b.pieces.map((p) => p.length));
    }
  });

  it('cuts a stream into non-empty writes', () => {
    for (let seed = 0; seed < 200; seed++) {
      const c = protocolCase(new Rng(seed), 'k');
      expect(c.pieces.every((p) => p.length > 0)).toBe(true);
      expect(c.kinds.length).toBeGreaterThan(0);
    }
  });
});

describe('checkReplies', () => {
  const ok = (s: string): number => checkReplies(Buffer.from(s, 'latin1')).frames.length;
  const bad = (s: string): void => {
    expect(() => checkReplies(Buffer.from(s, 'latin1')), JSON.stringify(s)).toThrow(ReplyError);
  };

  it('accepts well-formed RESP2 and RESP3 replies', () => {
    expect(ok('+OK\r\n:0\r\n:-12\r\n$4\r\na\r\nb\r\n$-1\r\n*-1\r\n*2\r\n:1\r\n$0\r\n\r\n')).toBe(7);
    expect(ok('%1\r\n+a\r\n,1.5\r\n_\r\n#t\r\n,-inf\r\n(123\r\n=7\r\ntxt:abc\r\n>2\r\n+m\r\n:1\r\n')).toBe(7);
  });

  it('keeps a torn reply apart', () => {
    const r = checkReplies(Buffer.from('+OK\r\n$5\r\nab', 'latin1'));
    expect(r.frames.length).toBe(1);
    expect(r.rest.toString('latin1')).toBe('$5\r\nab');
  });

  it('rejects malformed replies', () => {
    bad(':01\r\n');
    bad(':1.5\r\n');
    bad(':\r\n');
    bad('+a\nb\r\n');
    bad('-\r\n');
    bad('$3\r\nabcd\r\n');
    bad('*1\r\n?\r\n');
    bad('#x\r\n');
    bad(',abc\r\n');
    bad('x\r\n');
  });
});

describe('sameReplies', () => {
  const r = (s: string, reset = false) => ({ bytes: Buffer.from(s), closed: true, reset });
  it('equal, a prefix only past a reset, else different', () => {
    expect(sameReplies(r('+OK\r\n'), r('+OK\r\n'))).toBe('equal');
    expect(sameReplies(r('+OK\r\n', true), r('+OK\r\n+PONG\r\n'))).toBe('prefix');
    expect(sameReplies(r('+OK\r\n'), r('+OK\r\n+PONG\r\n'))).toBe('differ');
    expect(sameReplies(r('+OX\r\n', true), r('+OK\r\n+PONG\r\n'))).toBe('differ');
  });
});

describe('CommandFuzzer', () => {
  const arg = (name: string, type: string, extra: object = {}) => ({ name, type, optional: false, multiple: false, multipleToken: false, args: [], ...extra });
  const table: CommandModel[] = [
    { name: 'set', arity: -3, flags: ['write'], args: [arg('key', 'key'), arg('value', 'string'), arg('nx', 'pure-token', { token: 'NX', optional: true })], subcommands: [] },
    { name: 'blpop', arity: -3, flags: ['write', 'blocking'], args: [arg('key', 'key', { multiple: true }), arg('timeout', 'double')], subcommands: [] },
    { name: 'shutdown', arity: -1, flags: ['admin'], args: null, subcommands: [] },
    {
      name: 'client', arity: -2, flags: [], args: null,
      subcommands: [
        { name: 'client|kill', arity: -3, flags: [], args: null, subcommands: [] },
        { name: 'client|id', arity: 2, flags: [], args: null, subcommands: [] },
      ],
    },
  ];

  it('never generates an excluded command, and blocking timeouts are never 0', () => {
    const f = new CommandFuzzer(table);
    expect(f.excluded.sort()).toEqual(['client|kill', 'shutdown']);
    const rng = new Rng(5);
    for (let i = 0; i < 3000; i++) {
      const c = f.next(rng);
      const name = String(c.argv[0]).toLowerCase();
      const sub = c.argv.length > 1 ? `${name}|${String(c.argv[1]).toLowerCase()}` : '';
      expect(EXCLUDED.has(name) || EXCLUDED.has(sub), c.argv.join(' ')).toBe(false);
      if (name === 'blpop' && c.from === 'blpop' && c.argv.length >= 3) {
        expect(['0', '0.0', '0.000001']).not.toContain(String(c.argv[c.argv.length - 1]));
      }
    }
  });

  it('reads COMMAND and COMMAND DOCS replies', () => {
    const command = '*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*1\r\n+readonly\r\n:1\r\n:1\r\n:1\r\n*0\r\n*0\r\n*0\r\n*0\r\n';
    const docs = '*2\r\n$3\r\nget\r\n*2\r\n$9\r\narguments\r\n*1\r\n*4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n';
    const models = parseCommandTable(Buffer.from(command), Buffer.from(docs));
    expect(models).toEqual([{ name: 'get', group: '', arity: 2, flags: ['readonly'], args: [arg('key', 'key', { token: undefined })], subcommands: [] }]);
  });
});
