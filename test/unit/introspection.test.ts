/**
 * The pieces behind SLOWLOG, MONITOR, LATENCY and INFO that the differential tests see only
 * through masked or timing-dependent replies: slowlog truncation at its exact bounds,
 * MONITOR's quoting, latency samples per second, the hot-path gate, the instantaneous
 * ops meter, the EXEC reply walker, and the script error accounting of CallStats.
 */
import { describe, expect, it } from 'vitest';
import { catRepr, Introspection, redactArgs } from '../../src/server/introspection';
import { arrayElementErrors, CallStats } from '../../src/server/call-stats';
import { OpsMeter } from '../../src/server/info';
import { prefixCollision } from '../../src/server/tracking';
import type { CommandEntry } from '../../src/commands/types';

function entry(name: string, flags: string[] = []): CommandEntry {
  return { spec: { name, arity: -1, flags, keys: { first: 0, last: 0, step: 0 }, group: 'server', summary: '', since: '' }, fullName: name, parent: null, subcommands: null, isWrite: false, noAuth: false } as unknown as CommandEntry;
}

const b = (s: string): Buffer => Buffer.from(s);

describe('slowlog', () => {
  it('keeps 32 arguments (the last one says how many more) and 128 bytes of each', () => {
    let now = 1_700_000_000_000_000;
    const intro = new Introspection(() => now++);
    intro.configure(0, 128, 0);
    const argv = [b('rpush'), ...Array.from({ length: 40 }, (_, i) => b(`e${i}`))];
    intro.afterCall({ addr: '1.2.3.4:5', name: 'n' }, 0, entry('rpush'), argv, 3);
    const e = intro.slowlog[0];
    expect(e.argv.length).toBe(32);
    expect(e.argv[31].toString()).toBe('... (10 more arguments)');
    expect(e.argv[30].toString()).toBe('e29');
    intro.afterCall(null, 0, entry('set'), [b('set'), b('k'), b('x'.repeat(128)), b('y'.repeat(129))], 1);
    const f = intro.slowlog[0];
    expect(f.argv[2].toString()).toBe('x'.repeat(128));
    expect(f.argv[3].toString()).toBe(`${'y'.repeat(128)}... (1 more bytes)`);
    expect(f.addr).toBe('?:0');
    expect(f.id).toBe(1);
    // Exactly 32 arguments are kept whole.
    intro.afterCall(null, 0, entry('del'), Array.from({ length: 32 }, (_, i) => b(`a${i}`)), 1);
    expect(intro.slowlog[0].argv[31].toString()).toBe('a31');
    intro.configure(0, 2, 0);
    expect(intro.slowlog.length).toBe(2);
  });

  it('skips skip_slowlog commands and redacts AUTH, HELLO AUTH and CONFIG SET requirepass', () => {
    const intro = new Introspection(() => 1e15);
    intro.configure(0, 128, 0);
    intro.afterCall(null, 0, entry('exec', ['skip_slowlog']), [b('exec')], 5);
    expect(intro.slowlog.length).toBe(0);
    expect(redactArgs(entry('auth'), [b('auth'), b('u'), b('p')]).map(String)).toEqual(['auth', '(redacted)', '(redacted)']);
    expect(redactArgs(entry('hello'), [b('HELLO'), b('3'), b('AUTH'), b('u'), b('p'), b('SETNAME'), b('auth')]).map(String)).toEqual(['HELLO', '3', 'AUTH', '(redacted)', '(redacted)', 'SETNAME', 'auth']);
    expect(redactArgs(entry('config|set'), [b('config'), b('set'), b('hz'), b('1'), b('requirepass'), b('pw')]).map(String)).toEqual(['config', 'set', 'hz', '1', 'requirepass', '(redacted)']);
  });

  it('the gate: nothing to do below both thresholds without monitors', () => {
    const intro = new Introspection(() => 0);
    intro.configure(-1, 128, 0);
    expect(intro.wanted(1e12)).toBe(false);
    intro.configure(10000, 128, 0);
    expect(intro.wanted(9999)).toBe(false);
    expect(intro.wanted(10000)).toBe(true);
    intro.configure(-1, 128, 5);
    expect(intro.wanted(4999)).toBe(false);
    expect(intro.wanted(5000)).toBe(true);
    intro.configure(-1, 128, 0);
    intro.monitors.add({ monitorLine: () => undefined });
    expect(intro.wanted(0)).toBe(true);
  });
});

describe('MONITOR lines', () => {
  it('quotes as sdscatrepr and stamps seconds.microseconds', () => {
    expect(catRepr(Buffer.from([0x61, 0x22, 0x5c, 0x0a, 0x0d, 0x09, 0x07, 0x08, 0x00, 0xff, 0x7e]))).toBe('"a\\"\\\\\\n\\r\\t\\a\\b\\x00\\xff~"');
    const lines: string[] = [];
    const intro = new Introspection(() => 1_700_000_000_000_042);
    intro.monitors.add({ monitorLine: (l) => lines.push(l.toString('latin1')) });
    intro.afterCall({ addr: '127.0.0.1:9', name: '' }, 2, entry('get'), [b('GET'), b('k')], 1);
    intro.afterCall(null, 0, entry('config|get', ['admin']), [b('config')], 1);
    intro.afterCall(null, 0, entry('eval', ['skip_monitor']), [b('eval')], 1);
    intro.afterCall(null, 0, entry('set'), [b('set'), b('a'), b('b')], 1);
    expect(lines).toEqual(['+1700000000.000042 [2 127.0.0.1:9] "GET" "k"\r\n', '+1700000000.000042 [0 lua] "set" "a" "b"\r\n']);
  });
});

describe('latency events', () => {
  it('one sample per second (its maximum), the all-time maximum, fast-command for fast commands', () => {
    let us = 1_000_000_000;
    const intro = new Introspection(() => us);
    intro.configure(-1, 128, 10);
    intro.afterCall(null, 0, entry('sort'), [b('sort')], 12_000);
    intro.afterCall(null, 0, entry('sort'), [b('sort')], 30_000);
    intro.afterCall(null, 0, entry('sort'), [b('sort')], 9_999);
    intro.afterCall(null, 0, entry('get', ['fast']), [b('get')], 10_000);
    us += 1_000_000;
    intro.afterCall(null, 0, entry('sort'), [b('sort')], 11_000);
    expect(intro.latency.get('command')).toEqual({ samples: [{ time: 1000, latency: 30 }, { time: 1001, latency: 11 }], max: 30 });
    expect(intro.latency.get('fast-command')?.max).toBe(10);
    expect(intro.latencyReset(['command', 'nosuch'])).toBe(1);
  });
});

describe('INFO helpers', () => {
  it('instantaneous ops: the mean of the last 16 samples', () => {
    const m = new OpsMeter();
    m.sample(1000, 0, 0, 0);
    for (let i = 1; i <= 16; i++) m.sample(1000 + i * 100, i * 100, i * 1024, 0);
    expect(m.opsPerSec).toBe(1000);
    expect(m.inputKbps).toBeCloseTo(10, 5);
  });

  it('walks EXEC\'s reply: the errors of its elements, RESP2 and RESP3', () => {
    const r = Buffer.from('*4\r\n+OK\r\n-WRONGTYPE no\r\n*2\r\n$1\r\na\r\n%1\r\n+k\r\n:1\r\n!5\r\nERR x\r\n');
    expect(arrayElementErrors(r, 0, r.length)).toEqual([null, 'WRONGTYPE no', null, 'ERR x']);
    const r3 = Buffer.from('*3\r\n%1\r\n+k\r\n-ERR in map\r\n!5\r\nERR x\r\n_\r\n');
    expect(arrayElementErrors(r3, 0, r3.length)).toEqual([null, 'ERR x', null]);
    expect(arrayElementErrors(Buffer.from('*-1\r\n'), 0, 5)).toEqual(null);
    expect(arrayElementErrors(Buffer.from('-EXECABORT x\r\n'), 0, 14)).toBeNull();
  });

  it('an error already counted by a script\'s command fails the script without a second errorstat', () => {
    const c = new CallStats();
    const e = entry('incr');
    const ev = entry('eval');
    c.called(e, 1, 'ERR not an integer');
    c.errorAlreadyCounted = true;
    c.called(ev, 1, 'ERR not an integer script: ...');
    c.called(ev, 1, 'ERR other');
    expect(c.errors.get('ERR')).toBe(2);
    expect(c.totalErrorReplies).toBe(2);
    expect(c.stat(ev).failed).toBe(2);
    c.calledUntimed(e, null);
    expect(c.stat(e).calls).toBe(2);
    expect(c.stat(e).latency.total).toBe(1);
    expect(c.totalCalls).toBe(4);
  });
});

describe('tracking prefixes', () => {
  it('refuses overlapping prefixes as Redis', () => {
    expect(prefixCollision([], [b('a'), b('b')])).toBeNull();
    expect(prefixCollision([b('ab')], [b('abc')])).toBe("ERR Prefix 'abc' overlaps with an existing prefix 'ab'. Prefixes for a single client must not overlap.");
    expect(prefixCollision([], [b('ab'), b('a')])).toBe("ERR Prefix 'ab' overlaps with another provided prefix 'a'. Prefixes for a single client must not overlap.");
    expect(prefixCollision([b('ab')], [b('ab')])).toBeNull();
  });
});
