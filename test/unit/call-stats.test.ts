import { describe, expect, it } from 'vitest';
import { CallStats, errorCode, LatencyHistogram } from '../../src/server/call-stats';
import type { CommandEntry } from '../../src/commands/types';

function entry(fullName: string, group = 'string'): CommandEntry {
  return { fullName, spec: { group } } as unknown as CommandEntry;
}

describe('LatencyHistogram', () => {
  it('puts every value in a bucket whose bound is at least the value and at most 12.5% above it', () => {
    let prev = -1;
    for (let v = 0; v < 5_000_000; v = v < 100 ? v + 1 : Math.ceil(v * 1.01)) {
      const i = LatencyHistogram.indexOf(v);
      expect(i).toBeGreaterThanOrEqual(prev);
      prev = i;
      const hi = LatencyHistogram.upperBound(i);
      expect(hi).toBeGreaterThanOrEqual(v);
      expect(hi).toBeLessThanOrEqual(Math.max(v, v * 1.125));
      if (i > 0) expect(LatencyHistogram.upperBound(i - 1)).toBeLessThan(v);
    }
  });

  it('gives percentiles from the recorded values', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) h.record(i);
    expect(h.percentile(50)).toBeGreaterThanOrEqual(500);
    expect(h.percentile(50)).toBeLessThan(500 * 1.125);
    expect(h.percentile(100)).toBeGreaterThanOrEqual(1000);
    expect(h.percentile(0.1)).toBe(1);
    h.reset();
    expect(h.percentile(50)).toBe(0);
  });
});

describe('CallStats', () => {
  it('counts calls, failures, rejections and error codes as Redis does', () => {
    const s = new CallStats();
    const get = entry('get');
    s.called(get, 10, null);
    s.called(get, 30, 'WRONGTYPE Operation against a key holding the wrong kind of value');
    s.rejected(get, 'ERR wrong number of arguments for \'get\' command');
    s.rejected(null, "ERR unknown command 'foo', with args beginning with: ");
    s.errorReply('ERR Protocol error: invalid multibulk length');
    const [st] = [...s.commands()];
    expect(st).toMatchObject({ name: 'get', calls: 2, usec: 40, failed: 1, rejected: 1 });
    expect(st.latency.total).toBe(2);
    expect(s.totalErrorReplies).toBe(4);
    expect([...s.errors]).toEqual([['WRONGTYPE', 1], ['ERR', 3]]);
    s.reset();
    expect([...s.commands()]).toEqual([]);
    expect(s.totalErrorReplies).toBe(0);
  });

  it('takes the code from a reply with or without its dash', () => {
    expect(errorCode('-NOPERM this user has no permissions')).toBe('NOPERM');
    expect(errorCode('EXECABORT Transaction discarded')).toBe('EXECABORT');
    expect(errorCode('ERR\r\n')).toBe('ERR');
  });
});
