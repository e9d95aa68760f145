/**
 * Differential compatibility suite: every script in ./scripts runs on a fresh connection
 * against a real redis-server (the reference) and the server under test, and the raw
 * replies must agree step by step.
 *
 *   QKV_COMPAT_ENGINE=rocksdb|memory   engine of the quorumkv under test (default rocksdb)
 *   QKV_COMPAT_TARGET=redis            test a second redis-server instead: proves the
 *                                      harness and scripts (must pass with zero mismatches)
 *   QKV_COMPAT_ONLY=substring          run only scripts whose name contains it
 */
import { describe, expect, it } from 'vitest';
import { targetName, type ServerProcess } from '../support/servers';
import { useServerPair } from '../support/server-pair';
import { formatMismatches, runScript, type Side } from './runner';
import { ALL_SCRIPTS } from './scripts';

/** Directives given to both servers, so CONFIG GET of them must agree. */
const COMMON_DIRECTIVES = ['--maxclients', '1000', '--appendfsync', 'everysec'];

const pair = useServerPair(COMMON_DIRECTIVES);

const only = process.env.QKV_COMPAT_ONLY;
const scripts = only ? ALL_SCRIPTS.filter((s) => s.name.includes(only)) : ALL_SCRIPTS;

describe(`redis-server 7.0.15 vs ${targetName()}`, () => {
  it('script names are unique', () => {
    const names = ALL_SCRIPTS.map((s) => s.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  for (const s of scripts) {
    it(s.name, async () => {
      const { reference, target } = pair;
      if (!reference || !target) throw new Error('servers did not start');
      const ref: Side = { name: 'redis', port: reference.port };
      const tgt: Side = { name: targetName(), port: target.port };
      const diagnostics = (): string =>
        [reference, target]
          .filter((side): side is ServerProcess => side !== undefined && side.exited)
          .map((side) => `\n\n${side.kind} (pid ${side.pid}) has exited; its output:\n${side.output().slice(-4000)}`)
          .join('');
      let result;
      try {
        result = await runScript(s, ref, tgt);
      } catch (err) {
        throw new Error(`${(err as Error).message}${diagnostics()}`);
      }
      if (result.mismatches.length > 0 || result.abortedAt !== undefined) {
        expect.fail(formatMismatches(s, result, ref, tgt) + diagnostics());
      }
    });
  }
});
