/**
 * The runner must see differences: two redis-servers that differ in one directive must
 * mismatch exactly where that directive shows, and a script whose declared connection
 * fate is wrong must fail even when both servers agree.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type ServerProcess } from '../support/servers';
import { RawClient } from '../support/raw-client';
import { decodeFrame } from '../support/resp-frames';
import { formatMismatches, hscanAllPairs, runScript, scanAllKeys, type Side } from './runner';
import { closing, distinctOf, hscanAll, raw, scanAll, script, skipValue, ttl, unorderedPairs } from './script';

let a: ServerProcess | undefined;
let b: ServerProcess | undefined;
let sideA: Side;
let sideB: Side;

beforeAll(async () => {
  const [ra, rb] = await Promise.allSettled([
    startRedis({ args: ['--maxclients', '100'] }),
    startRedis({ args: ['--maxclients', '200'] }),
  ]);
  if (ra.status === 'fulfilled') a = ra.value;
  if (rb.status === 'fulfilled') b = rb.value;
  if (!a || !b) throw new Error('redis-server did not start');
  sideA = { name: 'a', port: a.port };
  sideB = { name: 'b', port: b.port };
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

describe('runScript', () => {
  it('passes when the servers agree, modes included', async () => {
    const s = script('agree', [
      ['SET', 'k', 'v', 'EX', '100'],
      ttl('TTL', 'k'),
      skipValue('CLIENT', 'ID'),
      scanAll('MATCH', 'k*'),
      raw('PING\r\n'),
      closing('QUIT'),
      ['GET', 'k'],
    ]);
    const result = await runScript(s, sideA, sideB);
    expect(formatMismatches(s, result, sideA, sideB)).toBe('script "agree": 0 mismatching step(s)');
    expect(result.stepsRun).toBe(8);
  });

  it('reports the step, the mode and both raw replies on a mismatch', async () => {
    const s = script('differ', [['CONFIG', 'GET', 'maxclients'], ['PING']]);
    const result = await runScript(s, sideA, sideB);
    expect(result.mismatches.map((m) => m.stepIndex)).toEqual([1]);
    const text = formatMismatches(s, result, sideA, sideB);
    expect(text).toContain('step 1 (0 = FLUSHALL): CONFIG GET maxclients  [exact]');
    expect(text).toContain('a: "*2\\r\\n$10\\r\\nmaxclients\\r\\n$3\\r\\n100\\r\\n"');
    expect(text).toContain('b: "*2\\r\\n$10\\r\\nmaxclients\\r\\n$3\\r\\n200\\r\\n"');
  });

  it('fails a script that declares the wrong connection fate', async () => {
    const wrongOpen = script('wrong open', [raw('*abc\r\n'), ['PING']]);
    const r1 = await runScript(wrongOpen, sideA, sideB);
    expect(r1.mismatches[0]?.reason).toMatch(/script expects the connection open/);
    expect(r1.abortedAt).toBe(1);

    const wrongClosed = script('wrong closed', [raw('PING\r\n', { after: 'closed' })]);
    const r2 = await runScript(wrongClosed, sideA, sideB, { closeWaitMs: 200 });
    expect(r2.mismatches[0]?.reason).toMatch(/script expects the connection closed/);
  });

  it('scan-all collects every key once, sorted, over many cursor steps', async () => {
    const client = await RawClient.connect(sideA.port);
    try {
      await client.send('FLUSHALL');
      const keys = Array.from({ length: 300 }, (_, i) => `key:${i}`);
      await client.send('MSET', ...keys.flatMap((k) => [k, 'v']));
      const union = decodeFrame(await scanAllKeys(client, ['COUNT', '3']));
      const seen = union.items.map((item) => (item.value as Buffer).toString());
      expect(seen).toEqual([...keys].sort());
      const matched = decodeFrame(await scanAllKeys(client, ['MATCH', 'key:1?']));
      expect(matched.items.length).toBe(10);
      const error = await scanAllKeys(client, ['COUNT', '0']);
      expect(error.toString()).toBe('-ERR syntax error\r\n');
    } finally {
      client.close();
    }
  });

  it('hscan-all collects every field/value pair once, sorted, over many cursor steps', async () => {
    const client = await RawClient.connect(sideA.port);
    try {
      await client.send('FLUSHALL');
      const fields = Array.from({ length: 300 }, (_, i) => `f:${i}`);
      await client.send('HSET', 'h', ...fields.flatMap((f) => [f, `v${f}`]));
      const union = decodeFrame(await hscanAllPairs(client, 'h', ['COUNT', '3']));
      const seen = union.items.map((item) => (item.value as Buffer).toString());
      expect(seen).toEqual([...fields].sort().flatMap((f) => [f, `v${f}`]));
      const matched = decodeFrame(await hscanAllPairs(client, 'h', ['MATCH', 'f:1?']));
      expect(matched.items.length).toBe(20);
      expect((await hscanAllPairs(client, 'h', ['COUNT', '0'])).toString()).toBe('-ERR syntax error\r\n');
      expect((await hscanAllPairs(client, 'nokey', [])).toString()).toBe('*0\r\n');
      await client.send('SET', 's', 'v');
      expect((await hscanAllPairs(client, 's', [])).toString()).toMatch(/^-WRONGTYPE/);
    } finally {
      client.close();
    }
  });

  it('passes the hash modes when the servers agree, and reports a wrong member list', async () => {
    const agree = script('hash modes', [
      ['HSET', 'h', 'a', '1', 'b', '2', 'c', '3'],
      unorderedPairs('HGETALL', 'h'),
      hscanAll('h', 'MATCH', '[ab]'),
      distinctOf([['a', '1'], ['b', '2'], ['c', '3']], 'HRANDFIELD', 'h', '2', 'WITHVALUES'),
    ]);
    const r1 = await runScript(agree, sideA, sideB);
    expect(formatMismatches(agree, r1, sideA, sideB)).toBe('script "hash modes": 0 mismatching step(s)');

    const wrong = script('wrong members', [['HSET', 'h', 'a', '1', 'b', '2'], distinctOf(['a', 'x'], 'HRANDFIELD', 'h', '2')]);
    const r2 = await runScript(wrong, sideA, sideB);
    expect(r2.mismatches.map((m) => m.stepIndex)).toEqual([2]);
    expect(r2.mismatches[0].reason).toMatch(/^reference reply: element "b" is not one of the members/);
    expect(formatMismatches(wrong, r2, sideA, sideB)).toContain('HRANDFIELD h 2  [member-of of 2 distinct]');
  });
});
