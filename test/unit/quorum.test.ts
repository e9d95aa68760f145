/**
 * Consistency levels (coordinator/quorum.ts), pure: parsing CONSISTENCY, what a level
 * requires of one key's replicas (plain counts, LOCAL_QUORUM, EACH_QUORUM over per-DC
 * replicas), whether a set of replicas meets it, and choosing the fewest replicas that do.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { chooseReplicas, levelFromWire, levelName, levelToWire, noQuorum, parseConsistency, quorumOf, requirement, satisfied, type Requirement } from '../../src/coordinator/quorum';

const DC: Record<string, string> = { a1: 'dc1', a2: 'dc1', a3: 'dc1', b1: 'dc2', b2: 'dc2' };
const dcOf = (id: string): string => DC[id];
const owners = ['a1', 'b1', 'a2', 'b2', 'a3'];

function req(level: number | string, list = owners): Requirement {
  const r = requirement(level, list, dcOf);
  if (typeof r === 'string') throw new Error(r);
  return r;
}

describe('parseConsistency', () => {
  it('named levels resolve against N; W/R pairs in any order', () => {
    expect(parseConsistency(['one'], 3)).toEqual({ w: 1, r: 1 });
    expect(parseConsistency(['QUORUM'], 5)).toEqual({ w: 3, r: 3 });
    expect(parseConsistency(['all'], 3)).toEqual({ w: 3, r: 3 });
    expect(parseConsistency(['r', '1', 'W', 'all'], 3)).toEqual({ w: 3, r: 1 });
    expect(parseConsistency(['W', '4', 'R', '1'], 3)).toBe('ERR consistency level must be between 1 and 3 (the replication factor)');
    expect(parseConsistency(['W', '1', 'X', '1'], 3)).toBe('ERR syntax error');
    expect(parseConsistency(['sometimes'], 3)).toMatch(/^ERR unknown consistency level 'sometimes'/);
  });

  it('LOCAL_QUORUM and EACH_QUORUM are QUORUM with one replica count, per-DC levels with per-DC replicas', () => {
    expect(parseConsistency(['local_quorum'], 3)).toEqual({ w: 2, r: 2 });
    expect(parseConsistency(['each_quorum'], 3)).toEqual({ w: 2, r: 2 });
    expect(parseConsistency(['LOCAL_QUORUM'], 5, 'dc2')).toEqual({ w: 'local:dc2', r: 'local:dc2' });
    expect(parseConsistency(['W', 'each_quorum', 'R', 'one'], 5, 'dc1')).toEqual({ w: 'each', r: 1 });
  });

  it('levels survive the trip over the bus and print by name', () => {
    for (const l of [1, 3, 'each', 'local:dc-x']) expect(levelFromWire(levelToWire(l))).toEqual(l);
    expect(levelName(2)).toBe(2);
    expect(levelName('each')).toBe('EACH_QUORUM');
    expect(levelName('local:dc1')).toBe('LOCAL_QUORUM');
  });
});

describe('requirement, satisfied, chooseReplicas', () => {
  it('a count needs that many replicas anywhere (capped at N)', () => {
    const r = req(3);
    expect(r.total).toBe(3);
    expect(satisfied(r, ['b1', 'b2', 'a1'], dcOf)).toBe(true);
    expect(satisfied(r, ['b1', 'b2'], dcOf)).toBe(false);
    expect(req(9).total).toBe(5);
    expect(noQuorum('write', r, 2, 'up')).toBe('NOQUORUM write needs 3 of 5 replicas, only 2 up');
  });

  it('LOCAL_QUORUM needs a quorum of the local DC and nothing elsewhere', () => {
    const r = req('local:dc1');
    expect(satisfied(r, ['a1', 'a2'], dcOf)).toBe(true);
    expect(satisfied(r, ['a1', 'b1', 'b2'], dcOf)).toBe(false);
    expect(r.text).toBe('a quorum in dc1 (2 of 3 replicas)');
    expect(requirement('local:dc9', owners, dcOf)).toBe('NOQUORUM LOCAL_QUORUM needs replicas in data center dc9; this key has none there');
  });

  it('EACH_QUORUM needs a quorum in every DC that holds replicas', () => {
    const r = req('each');
    expect(satisfied(r, ['a1', 'a2', 'b1', 'b2'], dcOf)).toBe(true);
    expect(satisfied(r, ['a1', 'a2', 'a3', 'b1'], dcOf)).toBe(false);
    expect(r.text).toBe('a quorum in every data center (2 of 3 in dc1, 2 of 2 in dc2)');
  });

  it('chooseReplicas picks a set that meets the requirement, this node first, and no bigger than needed', () => {
    const levels = fc.constantFrom<number | string>(1, 2, 3, 4, 5, 'each', 'local:dc1', 'local:dc2');
    fc.assert(
      fc.property(levels, fc.subarray(owners), (level, live) => {
        const r = req(level);
        const chosen = chooseReplicas(r, live, dcOf);
        if (chosen === null) {
          expect(satisfied(r, live, dcOf)).toBe(false);
          return;
        }
        expect(satisfied(r, chosen, dcOf)).toBe(true);
        expect(new Set(chosen).size).toBe(chosen.length);
        for (const id of chosen) expect(live).toContain(id);
        const minimum = r.perDc === null ? r.total : [...r.perDc.values()].reduce((s, n) => s + n, 0);
        expect(chosen.length).toBe(Math.max(minimum, r.total));
        if (live.length > 0 && r.perDc === null) expect(chosen[0]).toBe(live[0]);
      }),
    );
  });

  it('quorumOf is a strict majority', () => {
    expect([1, 2, 3, 4, 5].map(quorumOf)).toEqual([1, 2, 2, 3, 3]);
  });
});
