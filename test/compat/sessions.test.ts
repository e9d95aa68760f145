/**
 * Multi-connection differential scenarios (sessions.ts, scenarios/): each runs against a
 * real redis-server 7.0.15 and the server under test; the transcripts must be equal.
 * QKV_COMPAT_TARGET and QKV_COMPAT_ONLY work as in compat.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { targetName } from '../support/servers';
import { useServerPair } from '../support/server-pair';
import { compareScenario } from './sessions';
import { ALL_SCENARIOS } from './scenarios';

const COMMON_DIRECTIVES = ['--maxclients', '1000', '--appendfsync', 'everysec'];

const pair = useServerPair(COMMON_DIRECTIVES);

const only = process.env.QKV_COMPAT_ONLY;
const scenarios = only ? ALL_SCENARIOS.filter((s) => s.name.includes(only)) : ALL_SCENARIOS;

describe(`scenarios: redis-server 7.0.15 vs ${targetName()}`, () => {
  it('scenario names are unique', () => {
    const names = ALL_SCENARIOS.map((s) => s.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  for (const s of scenarios) {
    it(s.name, async () => {
      const { reference, target } = pair;
      if (!reference || !target) throw new Error('servers did not start');
      const diff = await compareScenario(s, reference.port, target.port);
      if (diff !== null) expect.fail(diff);
    });
  }
});
