/**
 * Table-driven command cases for the in-process harness: each case is a list of steps run
 * against a fresh keyspace, every reply compared byte for byte.
 */
import { expect } from 'vitest';
import { CELL_FIELD } from '../../src/storage/layout';
import type { Arg, CommandHarness } from './command-harness';

/** The ManualClock's starting time. */
export const NOW = 1_700_000_000_000;

export type Step =
  /** A command (space-separated line, or argv for binary/empty arguments) and its reply. */
  | [string | Arg[], string]
  /** Move the clock forward. */
  | { advance: number }
  /** Make `key` a hash (no hash commands exist yet; used for WRONGTYPE). */
  | { hash: string }
  /** Assert DBSIZE of the current db. */
  | { dbsize: number }
  /** Run the active expiry sweep. */
  | { sweep: true }
  /** Change proto-max-bulk-len. */
  | { protoMaxBulkLen: number }
  /** Select another db for the following steps. */
  | { select: number };

export interface Case {
  name: string;
  steps: Step[];
}

/** Write a hash record under `key` in the harness's current db, straight through the keyspace. */
export async function makeHash(h: CommandHarness, key: string): Promise<void> {
  const k = Buffer.from(key, 'latin1');
  const s = h.ks.stamp();
  h.ks.apply(
    h.dbIndex,
    k,
    { del: s, meta: { t: s.t, n: s.n, type: 'hash', expireAtMs: 0 }, value: null, cells: [{ kind: CELL_FIELD, field: Buffer.from('f'), t: s.t, n: s.n, value: Buffer.from('v') }] },
    h.clock.nowMs(),
  );
  await h.ks.afterAcked();
}

export async function runSteps(h: CommandHarness, steps: Step[]): Promise<void> {
  for (const [i, step] of steps.entries()) {
    if (Array.isArray(step)) {
      const [command, expected] = step;
      const reply = typeof command === 'string' ? await h.cmd(command) : await h.run(...command);
      const label = typeof command === 'string' ? command : command.map((a) => (typeof a === 'string' ? a : `<${a.toString('hex')}>`)).join(' ');
      expect(reply, `step ${i}: ${label}`).toBe(expected);
    } else if ('advance' in step) {
      h.clock.advance(step.advance);
    } else if ('hash' in step) {
      await makeHash(h, step.hash);
    } else if ('dbsize' in step) {
      expect(h.ks.dbSize(h.dbIndex), `step ${i}: dbsize`).toBe(step.dbsize);
    } else if ('sweep' in step) {
      h.ks.sweepExpired(h.clock.nowMs(), 1000);
    } else if ('protoMaxBulkLen' in step) {
      h.settings.protoMaxBulkLen = step.protoMaxBulkLen;
    } else {
      h.dbIndex = step.select;
    }
  }
}
