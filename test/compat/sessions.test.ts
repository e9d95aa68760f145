/**
 * Multi-connection differential scenarios (sessions.ts, scenarios/): each runs against a
 * real redis-server 7.0.15 and the server under test; the transcripts must be equal.
 * QKV_COMPAT_TARGET and QKV_COMPAT_ONLY work as in compat.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, startTarget, targetName, type ServerProcess } from '../support/servers';
import { compareScenario } from './sessions';
import { ALL_SCENARIOS } from './scenarios';

const COMMON_DIRECTIVES = ['--maxclients', '1000', '--appendfsync', 'everysec'];

let reference: ServerProcess | undefined;
let target: ServerProcess | undefined;

beforeAll(async () => {
  const [r, t] = await Promise.allSettled([startRedis({ args: COMMON_DIRECTIVES }), startTarget(COMMON_DIRECTIVES)]);
  if (r.status === 'fulfilled') reference = r.value;
  if (t.status === 'fulfilled') target = t.value;
  if (r.status === 'rejected') throw r.reason;
  if (t.status === 'rejected') throw t.reason;
});

afterAll(async () => {
  await Promise.all([reference?.stop(), target?.stop()]);
});

const only = process.env.QKV_COMPAT_ONLY;
const scenarios = only ? ALL_SCENARIOS.filter((s) => s.name.includes(only)) : ALL_SCENARIOS;

describe(`scenarios: redis-server 7.0.15 vs ${targetName()}`, () => {
  it('scenario names are unique', () => {
    const names = ALL_SCENARIOS.map((s) => s.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  for (const s of scenarios) {
    it(s.name, async () => {
      if (!reference || !target) throw new Error('servers did not start');
      const diff = await compareScenario(s, reference.port, target.port);
      if (diff !== null) expect.fail(diff);
    });
  }
});
