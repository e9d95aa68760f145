/**
 * Pure parts of the scripting engine: C's %g formatting (exact ties round half to even, as
 * glibc does), Lua 5.1's wording of type errors, EVAL shebang parsing, the rand48 generator.
 */
import { describe, expect, it } from 'vitest';
import { formatG } from '../../src/scripting/lua-util';
import { lua51Error } from '../../src/scripting/lua-state';
import { parseEvalShebang } from '../../src/scripting/engine';
import { Lrand48 } from '../../src/scripting/rand48';

describe('formatG (printf %.Ng)', () => {
  it.each([
    [5, 14, '5'],
    [0.1, 14, '0.1'],
    [1 / 3, 14, '0.33333333333333'],
    [123456789012345, 14, '1.2345678901234e+14'], // exact tie: half to even
    [123456789012355, 14, '1.2345678901236e+14'],
    [2 ** 53, 14, '9.007199254741e+15'],
    [1e100, 14, '1e+100'],
    [0.0001, 14, '0.0001'],
    [0.00001, 14, '1e-05'],
    [-2.5, 1, '-2'],
    [3.5, 1, '4'],
    [99999999999999.5, 14, '1e+14'],
    [0.1, 17, '0.10000000000000001'],
    [1.5, 17, '1.5'],
    [-0, 14, '-0'],
    [Infinity, 14, 'inf'],
    [-Infinity, 14, '-inf'],
    [NaN, 14, 'nan'],
  ])('%p at %p digits is %p', (x, p, out) => {
    expect(formatG(x, p)).toBe(out);
  });
});

describe('lua51Error', () => {
  it('rewrites 5.3 variable info into 5.1 wording', () => {
    expect(lua51Error("user_script:1: attempt to index a nil value (local 't')")).toBe("user_script:1: attempt to index local 't' (a nil value)");
    expect(lua51Error("x:2: attempt to call a nil value (field 'call')")).toBe("x:2: attempt to call field 'call' (a nil value)");
    expect(lua51Error("x:1: attempt to perform arithmetic on a nil value (upvalue 'a')")).toBe("x:1: attempt to perform arithmetic on upvalue 'a' (a nil value)");
    expect(lua51Error('x:1: attempt to concatenate a table value')).toBe('x:1: attempt to concatenate a table value');
  });
});

describe('parseEvalShebang', () => {
  it('reads flags and where the code starts', () => {
    expect(parseEvalShebang(Buffer.from('return 1'))).toEqual({ flags: null, codeStart: 0 });
    expect(parseEvalShebang(Buffer.from('#!lua\nreturn 1'))).toEqual({ flags: [], codeStart: 5 });
    expect(parseEvalShebang(Buffer.from('#!lua flags=no-writes,allow-oom\nreturn 1'))).toEqual({ flags: ['no-writes', 'allow-oom'], codeStart: 31 });
    expect(parseEvalShebang(Buffer.from('#!lua flags=bogus\n'))).toBe('ERR Unexpected flag in script shebang: bogus');
    expect(parseEvalShebang(Buffer.from('#!js\n'))).toBe('ERR Unexpected engine in script shebang: #!js');
  });
});

describe('Lrand48', () => {
  it('is the 48-bit LCG of rand.c: the same sequence for the same seed', () => {
    const a = new Lrand48();
    const b = new Lrand48();
    a.seed(0);
    b.seed(0);
    const xs = [a.next(), a.next(), a.next()];
    expect([b.next(), b.next(), b.next()]).toEqual(xs);
    expect(xs[0]).toBe(366850414);
    for (const x of xs) expect(x).toBeLessThan(2 ** 31);
  });
});
