import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RequestDecoder } from '../../src/resp/decoder';
import { splitInlineArgs } from '../../src/resp/inline';

const MB = 1024 * 1024;

function decodeAll(chunks: Buffer[], maxBulkLen = 512 * MB): { cmds: string[][]; error: string | null } {
  const d = new RequestDecoder({ maxBulkLen });
  const cmds: string[][] = [];
  for (const c of chunks) {
    d.feed(c);
    for (let argv = d.next(); argv !== null; argv = d.next()) cmds.push(argv.map((a) => a.toString('latin1')));
  }
  return { cmds, error: d.error };
}

function bytewise(s: string | Buffer): Buffer[] {
  const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i++) out.push(b.subarray(i, i + 1));
  return out;
}

function encode(args: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) parts.push(Buffer.from(`$${a.length}\r\n`), a, Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

const CASES: { name: string; input: string; cmds: string[][]; error?: string }[] = [
  { name: 'one multibulk', input: '*1\r\n$4\r\nPING\r\n', cmds: [['PING']] },
  { name: 'pipeline', input: '*2\r\n$3\r\nGET\r\n$1\r\na\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n', cmds: [['GET', 'a'], ['SET', 'k', '']] },
  { name: 'inline', input: 'PING\r\n', cmds: [['PING']] },
  { name: 'inline with LF only', input: 'SET a b\n', cmds: [['SET', 'a', 'b']] },
  { name: 'inline quotes', input: 'SET "a b" \'c d\' "\\x41\\n"\r\n', cmds: [['SET', 'a b', 'c d', 'A\n']] },
  { name: 'empty inline lines are skipped', input: '\r\n\r\nPING\r\n', cmds: [['PING']] },
  { name: 'empty multibulk is skipped', input: '*0\r\n*-1\r\nPING\r\n', cmds: [['PING']] },
  { name: 'inline then multibulk', input: 'PING\r\n*1\r\n$4\r\nECHO\r\n', cmds: [['PING'], ['ECHO']] },
  { name: 'unbalanced quotes', input: 'SET "a b\r\n', cmds: [], error: 'Protocol error: unbalanced quotes in request' },
  { name: 'quote followed by text', input: 'SET "a"b c\r\n', cmds: [], error: 'Protocol error: unbalanced quotes in request' },
  { name: 'bad multibulk length', input: '*abc\r\n', cmds: [], error: 'Protocol error: invalid multibulk length' },
  { name: 'multibulk length with plus', input: '*+1\r\n', cmds: [], error: 'Protocol error: invalid multibulk length' },
  { name: 'multibulk length too big', input: '*2147483648\r\n', cmds: [], error: 'Protocol error: invalid multibulk length' },
  { name: 'expected $', input: '*1\r\n+PING\r\n', cmds: [], error: "Protocol error: expected '$', got '+'" },
  { name: 'bad bulk length', input: '*1\r\n$abc\r\n', cmds: [], error: 'Protocol error: invalid bulk length' },
  { name: 'negative bulk length', input: '*1\r\n$-1\r\n', cmds: [], error: 'Protocol error: invalid bulk length' },
  { name: 'payload CRLF is skipped, not checked', input: '*1\r\n$4\r\nPINGxx', cmds: [['PING']] },
  { name: 'commands before an error still run', input: 'PING\r\n*x\r\n', cmds: [['PING']], error: 'Protocol error: invalid multibulk length' },
  // Redis finds the CR of a count line with strchr, which stops at a NUL: a NUL before the
  // CR means "no line yet" (fuzz seed 1, case 273183267 and 1237683837).
  { name: 'NUL in a multibulk count line: wait for more', input: 'PING\r\n*1\x00\r\n*1\r\n$4\r\nPING\r\n', cmds: [['PING']] },
  { name: 'NUL in a bulk length line: wait for more', input: '*1\r\n$4\x00\r\nPING\r\n', cmds: [] },
  { name: 'NUL at the start of a bulk length line', input: '*2\r\n$4\r\nECHO\r\n$\x00\r\n', cmds: [] },
  // So does its search for an inline line's LF: a NUL before the LF means no line yet.
  { name: 'inline line with a NUL: wait for more', input: 'ECHO a\x00b c\r\nPING\r\n', cmds: [] },
  { name: 'inline line of a NUL only: wait for more', input: '\x00\r\nPING\r\n', cmds: [] },
  { name: 'inline line before a NUL runs', input: 'PING\r\nECHO "a\x00b"\r\n', cmds: [['PING']] },
];

describe('RequestDecoder', () => {
  for (const c of CASES) {
    it(`${c.name} (whole)`, () => {
      const r = decodeAll([Buffer.from(c.input, 'latin1')]);
      expect(r.cmds).toEqual(c.cmds);
      expect(r.error).toBe(c.error ?? null);
    });
    it(`${c.name} (byte by byte)`, () => {
      const r = decodeAll(bytewise(c.input));
      expect(r.cmds).toEqual(c.cmds);
      expect(r.error).toBe(c.error ?? null);
    });
  }

  it('rejects a bulk longer than proto-max-bulk-len', () => {
    const r = decodeAll([Buffer.from(`*1\r\n$${MB + 1}\r\n`)], MB);
    expect(r.error).toBe('Protocol error: invalid bulk length');
  });

  it('accepts a bulk of exactly proto-max-bulk-len, arriving in pieces', () => {
    const value = Buffer.alloc(MB, 0x61);
    const wire = encode([Buffer.from('SET'), Buffer.from('k'), value]);
    const chunks: Buffer[] = [];
    for (let i = 0; i < wire.length; i += 7919) chunks.push(wire.subarray(i, i + 7919));
    const d = new RequestDecoder({ maxBulkLen: MB });
    const got: Buffer[][] = [];
    for (const ch of chunks) {
      d.feed(ch);
      for (let a = d.next(); a !== null; a = d.next()) got.push(a);
    }
    expect(d.error).toBeNull();
    expect(got.length).toBe(1);
    expect(got[0][2].equals(value)).toBe(true);
  });

  it('refuses an inline request over 64 KB without a newline', () => {
    const r = decodeAll([Buffer.alloc(64 * 1024 + 1, 0x61)]);
    expect(r.error).toBe('Protocol error: too big inline request');
  });

  it('refuses a count line with a NUL once 64 KB follow it, as Redis does', () => {
    const input = Buffer.concat([Buffer.from('*1\x00\r\n', 'latin1'), Buffer.alloc(64 * 1024, 0x31)]);
    expect(decodeAll([input]).error).toBe('Protocol error: too big mbulk count string');
    const bulk = Buffer.concat([Buffer.from('*1\r\n$\x00\r\n', 'latin1'), Buffer.alloc(64 * 1024, 0x31)]);
    expect(decodeAll([bulk]).error).toBe('Protocol error: too big bulk count string');
    const inline = Buffer.concat([Buffer.from('PING\x00\r\n', 'latin1'), Buffer.alloc(64 * 1024, 0x31)]);
    expect(decodeAll([inline]).error).toBe('Protocol error: too big inline request');
  });

  it('refuses a multibulk count line over 64 KB', () => {
    const r = decodeAll([Buffer.concat([Buffer.from('*'), Buffer.alloc(64 * 1024 + 1, 0x31)])]);
    expect(r.error).toBe('Protocol error: too big mbulk count string');
  });

  it('applies the unauthenticated limits only while authentication is required', () => {
    const d = new RequestDecoder({ maxBulkLen: MB });
    d.authRequired = true;
    d.feed(Buffer.from('*11\r\n'));
    expect(d.next()).toBeNull();
    expect(d.error).toBe('Protocol error: unauthenticated multibulk length');
    const d2 = new RequestDecoder({ maxBulkLen: MB });
    d2.authRequired = true;
    d2.feed(Buffer.from('*1\r\n$16385\r\n'));
    expect(d2.next()).toBeNull();
    expect(d2.error).toBe('Protocol error: unauthenticated bulk length');
  });

  it('decodes any pipeline of binary commands the same whole, byte by byte and in random chunks', () => {
    const arg = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
    const cmd = fc.array(arg, { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(fc.array(cmd, { minLength: 1, maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1 }), (cmds, cuts) => {
        const wire = Buffer.concat(cmds.map(encode));
        const expected = cmds.map((c) => c.map((a) => a.toString('latin1')));
        expect(decodeAll([wire]).cmds).toEqual(expected);
        expect(decodeAll(bytewise(wire)).cmds).toEqual(expected);
        const chunks: Buffer[] = [];
        let pos = 0;
        for (let i = 0; pos < wire.length; i++) {
          const n = cuts[i % cuts.length];
          chunks.push(wire.subarray(pos, pos + n));
          pos += n;
        }
        expect(decodeAll(chunks).cmds).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});

describe('splitInlineArgs', () => {
  const table: [string, string[] | null][] = [
    ['a b  c', ['a', 'b', 'c']],
    ['  ', []],
    ['"a\\tb"', ['a\tb']],
    ["'it\\'s'", ["it's"]],
    ['"\\x4g"', ['x4g']],
    ['"unterminated', null],
    ["'x'y", null],
    ['""', ['']],
  ];
  for (const [input, want] of table) {
    it(JSON.stringify(input), () => {
      const got = splitInlineArgs(Buffer.from(input, 'latin1'));
      expect(got === null ? null : got.map((b) => b.toString('latin1'))).toEqual(want);
    });
  }
});
