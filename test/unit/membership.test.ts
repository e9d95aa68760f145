import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  compareVersions,
  decodeMembers,
  encodeMembers,
  memberFromWire,
  memberToWire,
  MemberDecodeError,
  WIRE_VERSION,
  type Member,
} from '../../src/membership/member';
import { decodeGossipMessage, encodeGossipMessage, type GossipMessage } from '../../src/membership/messages';
import { MembershipTable, nextGeneration, parseTableJSON } from '../../src/membership/table';
import {
  downAfterMs,
  FailureDetector,
  isSuspect,
  LOG10_E,
  phiOf,
  sampleInterval,
} from '../../src/membership/failure-detector';
import { Gossiper, type GossipEffect, type GossiperOptions } from '../../src/membership/gossiper';
import { chance, randomIndex, sample } from '../../src/membership/random';
import { Prng } from '../sim/support/prng';

function member(id: string, over: Partial<Member> = {}): Member {
  const i = Number(id.replace(/\D/g, '') || '0');
  return {
    id,
    host: `10.0.0.${i + 1}`,
    port: 6379,
    busPort: 16379,
    dc: 'dc1',
    rack: 'r1',
    vnodes: 128,
    generation: 1,
    heartbeat: 0,
    status: 'normal',
    replaces: '',
    streamed: '',
    ...over,
  };
}

const v = (generation: number, heartbeat: number) => ({ generation, heartbeat });

describe('member versions and wire form', () => {
  it.each([
    [v(1, 0), v(1, 0), 0],
    [v(1, 1), v(1, 0), 1],
    [v(1, 0), v(1, 1), -1],
    [v(2, 0), v(1, 999), 1],
    [v(1, 999), v(2, 0), -1],
  ])('compareVersions(%o, %o) = %i', (a, b, want) => {
    expect(Math.sign(compareVersions(a, b))).toBe(want);
  });

  it('round-trips a table digest', () => {
    const ms = [member('n1', { heartbeat: 42, status: 'leaving', dc: '', rack: '' }), member('n2', { generation: 1_700_000_000 })];
    const buf = encodeMembers(ms);
    expect(buf[0]).toBe(WIRE_VERSION);
    expect(decodeMembers(buf)).toEqual(ms);
  });

  it('ignores trailing fields a newer node may append', () => {
    expect(memberFromWire([...memberToWire(member('n1')), 'future'])).toEqual(member('n1'));
  });

  it.each([
    ['empty buffer', Buffer.alloc(0)],
    ['unknown version', Buffer.concat([Buffer.from([WIRE_VERSION + 1]), Buffer.from('[]')])],
    ['bad JSON', Buffer.concat([Buffer.from([WIRE_VERSION]), Buffer.from('[')])],
    ['not an array', Buffer.concat([Buffer.from([WIRE_VERSION]), Buffer.from('{}')])],
  ])('refuses a digest: %s', (_name, buf) => {
    expect(() => decodeMembers(buf)).toThrow(MemberDecodeError);
  });

  const good = memberToWire(member('n1'));
  it.each([
    ['short tuple', good.slice(0, 9)],
    ['empty id', ['', ...good.slice(1)]],
    ['port out of range', [...good.slice(0, 2), 70000, ...good.slice(3)]],
    ['fractional heartbeat', [...good.slice(0, 8), 1.5, good[9]]],
    ['negative generation', [...good.slice(0, 7), -1, ...good.slice(8)]],
    ['unknown status', [...good.slice(0, 9), 'dead']],
    ['zero vnodes', [...good.slice(0, 6), 0, ...good.slice(7)]],
  ])('refuses a member: %s', (_name, tuple) => {
    expect(() => memberFromWire(tuple)).toThrow(MemberDecodeError);
  });

  it('round-trips gossip messages and refuses malformed ones', () => {
    const msg: GossipMessage = { kind: 'syn', from: 'n1', members: [member('n1', { heartbeat: 3 }), member('n2')] };
    expect(decodeGossipMessage(encodeGossipMessage(msg))).toEqual(msg);
    const ack: GossipMessage = { ...msg, kind: 'ack' };
    expect(decodeGossipMessage(encodeGossipMessage(ack))).toEqual(ack);
    const raw = (o: unknown) => Buffer.concat([Buffer.from([WIRE_VERSION]), Buffer.from(JSON.stringify(o))]);
    expect(() => decodeGossipMessage(raw({ k: 'x', f: 'n1', m: [] }))).toThrow(MemberDecodeError);
    expect(() => decodeGossipMessage(raw({ k: 's', f: '', m: [] }))).toThrow(MemberDecodeError);
    expect(() => decodeGossipMessage(raw({ k: 's', f: 'n1', m: {} }))).toThrow(MemberDecodeError);
    expect(() => decodeGossipMessage(raw([]))).toThrow(MemberDecodeError);
  });
});

describe('membership table merge', () => {
  type Row = [name: string, have: Partial<Member> | null, remote: Partial<Member>, winner: 'have' | 'remote', added: boolean, changed: boolean];
  const rows: Row[] = [
    ['unknown member is added', null, { heartbeat: 5 }, 'remote', true, false],
    ['higher heartbeat, same generation, wins quietly', { heartbeat: 5 }, { heartbeat: 6 }, 'remote', false, false],
    ['lower heartbeat loses', { heartbeat: 5 }, { heartbeat: 4 }, 'have', false, false],
    ['equal version loses (first copy stays)', { heartbeat: 5 }, { heartbeat: 5, status: 'left' }, 'have', false, false],
    ['higher generation wins over any heartbeat (restart)', { generation: 1, heartbeat: 900 }, { generation: 2, heartbeat: 0 }, 'remote', false, true],
    ['lower generation loses over any heartbeat (stale)', { generation: 2, heartbeat: 0 }, { generation: 1, heartbeat: 900 }, 'have', false, false],
    ['status change travels with the version', { heartbeat: 5 }, { heartbeat: 6, status: 'leaving' }, 'remote', false, true],
    ['an old status cannot come back', { heartbeat: 6, status: 'left' }, { heartbeat: 5, status: 'normal' }, 'have', false, false],
    ['address change with a restart', { generation: 1 }, { generation: 2, host: '10.9.9.9', port: 7000 }, 'remote', false, true],
  ];

  it.each(rows)('%s', (_name, have, remote, winner, added, changed) => {
    const t = new MembershipTable(member('self'), have === null ? [] : [member('p1', have)]);
    const r = member('p1', remote);
    const res = t.merge([r]);
    const want = winner === 'remote' ? r : member('p1', have ?? {});
    expect(t.get('p1')).toEqual(want);
    expect(res.added.length > 0).toBe(added);
    expect(res.changed.length > 0).toBe(changed);
    expect(res.advanced.length > 0).toBe(winner === 'remote');
    if (changed) expect(res.changed[0]!.previous).toEqual(member('p1', have ?? {}));
    expect(res.ownBumped).toBe(false);
  });

  it('is order-independent and idempotent (tables converge)', () => {
    const entry = fc
      .record({ id: fc.constantFrom('a', 'b', 'c'), generation: fc.integer({ min: 1, max: 3 }), heartbeat: fc.integer({ min: 0, max: 4 }) })
      // One version = one content, as in the system (only the owner writes its entry).
      .map((x) => member(x.id, { ...x, status: (['joining', 'normal', 'leaving', 'left'] as const)[(x.generation * 5 + x.heartbeat) % 4] }));
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 12 }), fc.array(entry, { maxLength: 12 }), (xs, ys) => {
        const one = new MembershipTable(member('self'));
        one.merge(xs);
        one.merge(ys);
        const two = new MembershipTable(member('self'));
        two.merge([...ys].reverse());
        two.merge([...xs].reverse());
        two.merge(xs);
        expect(one.snapshot()).toEqual(two.snapshot());
      }),
    );
  });

  describe('own entry', () => {
    const own = member('self', { generation: 3, heartbeat: 10 });
    type OwnRow = [name: string, remote: Partial<Member>, generation: number, heartbeat: number, bumped: boolean];
    const rows: OwnRow[] = [
      ['older copy of us is ignored', { generation: 3, heartbeat: 5 }, 3, 10, false],
      ['our own current entry coming back is fine', { generation: 3, heartbeat: 10 }, 3, 10, false],
      ['older generation with a huge heartbeat is ignored', { generation: 2, heartbeat: 999 }, 3, 10, false],
      ['same generation, higher heartbeat: we jump past it', { generation: 3, heartbeat: 50, status: 'left' }, 3, 51, true],
      ['same version, other fields: we jump past it', { generation: 3, heartbeat: 10, host: '10.9.9.9' }, 3, 11, true],
      ['higher generation: we take generation + 1', { generation: 7, heartbeat: 2, status: 'left', host: '10.9.9.9' }, 8, 0, true],
    ];
    it.each(rows)('%s', (_name, remote, generation, heartbeat, bumped) => {
      const t = new MembershipTable(own);
      const res = t.merge([member('self', remote)]);
      // Never the peer's fields: only our version moves.
      expect(t.self()).toEqual({ ...own, generation, heartbeat });
      expect(res.ownBumped).toBe(bumped);
      expect(res.advanced).toEqual([]);
    });
  });

  it('bumps the heartbeat and carries a status change with a new version', () => {
    const t = new MembershipTable(member('self', { heartbeat: 4 }));
    expect(t.bumpHeartbeat().heartbeat).toBe(5);
    const s = t.setOwnStatus('leaving');
    expect(s).toMatchObject({ status: 'leaving', heartbeat: 6 });
  });

  it('refuses members beyond maxMembers', () => {
    const t = new MembershipTable(member('self'), [], { maxMembers: 3 });
    const res = t.merge([member('p1'), member('p2'), member('p3'), member('p4')]);
    expect(t.size()).toBe(3);
    expect(res.rejected).toBe(2);
    expect(t.merge([member('p1', { heartbeat: 9 })]).advanced).toHaveLength(1); // known ones still update
  });

  it('persists and restores through JSON', () => {
    const t = new MembershipTable(member('self', { generation: 4, heartbeat: 7 }), [member('p1', { status: 'leaving' }), member('p2')]);
    const back = MembershipTable.fromJSON(JSON.parse(JSON.stringify(t)));
    expect(back.snapshot()).toEqual(t.snapshot());
    expect(() => parseTableJSON({ version: 2, self: member('x'), peers: [] })).toThrow(MemberDecodeError);
    expect(() => parseTableJSON({ version: 1, self: { id: 'x' }, peers: [] })).toThrow(MemberDecodeError);
    expect(() => parseTableJSON({ version: 1, self: member('x'), peers: 'no' })).toThrow(MemberDecodeError);
    expect(() => parseTableJSON(null)).toThrow(MemberDecodeError);
  });

  it.each([
    [null, 0, 1],
    [5, 0, 6],
    [5, 1_700_000_000_123, 1_700_000_000],
    [2_000_000_000, 1_700_000_000_000, 2_000_000_001],
  ])('nextGeneration(%o, %i) = %i', (persisted, nowMs, want) => {
    expect(nextGeneration(persisted, nowMs)).toBe(want);
  });
});

describe('failure detector arithmetic', () => {
  it.each([
    [0, 1000, 0],
    [1000, 1000, LOG10_E],
    [2000, 1000, 2 * LOG10_E],
    [8000 / LOG10_E, 1000, 8],
    [500, 250, 2 * LOG10_E],
    [1, 0, Infinity],
    [-5, 1000, 0],
  ])('phiOf(%f ms since, mean %f) = %f', (since, mean, want) => {
    expect(phiOf(since, mean)).toBeCloseTo(want, 9);
  });

  it.each([
    // mean, failTimeout, threshold → silence after which the peer is down
    [1000, 5000, 8, 5000], // phi would take 18.4 s: the timeout decides
    [100, 5000, 8, 1842.07], // frequent heartbeats: phi decides
    [250, 60_000, 8, 4605.17],
    [1000, 60_000, 1, 2302.59],
  ])('downAfterMs(mean %i, timeout %i, phi %i) = %f', (mean, timeout, threshold, want) => {
    expect(downAfterMs(mean, timeout, threshold)).toBeCloseTo(want, 1);
  });

  it.each([
    // since, mean, timeout, threshold, suspect
    [5000, 1000, 5000, 8, false], // exactly at the timeout: not yet
    [5001, 1000, 5000, 8, true],
    [1842, 100, 5000, 8, false],
    [1843, 100, 5000, 8, true],
    [0, 0, 5000, 8, false],
  ])('isSuspect(%i since, mean %i, timeout %i, phi %i) = %s', (since, mean, timeout, threshold, want) => {
    expect(isSuspect(since, mean, timeout, threshold)).toBe(want);
  });

  it.each([
    [500, 2000, 500],
    [2000, 2000, 2000],
    [30_000, 2000, 2000],
    [-3, 2000, 0],
  ])('sampleInterval(%i, max %i) = %i', (gap, max, want) => {
    expect(sampleInterval(gap, max)).toBe(want);
  });
});

describe('failure detector', () => {
  const opts = { failTimeoutMs: 5000, initialIntervalMs: 2000, maxSampleIntervalMs: 2000 };

  it('treats the first heartbeat as a baseline and is up once it moves', () => {
    const fd = new FailureDetector(opts);
    expect(fd.observe('p', 7, 1000)).toBe(false);
    expect(fd.isUp('p', 1000)).toBe(false);
    expect(fd.phi('p', 1000)).toBe(Infinity);
    expect(fd.observe('p', 7, 1500)).toBe(false); // no movement
    expect(fd.observe('p', 8, 2000)).toBe(true);
    expect(fd.isUp('p', 2000)).toBe(true);
    expect(fd.meanIntervalMs('p')).toBe(2000); // the initial interval
    expect(fd.isUp('unknown', 2000)).toBe(false);
  });

  it('goes down after the timeout and up again when the heartbeat moves', () => {
    const fd = new FailureDetector({ ...opts, phiThreshold: 1000 }); // timeout only
    fd.observe('p', 1, 0);
    fd.observe('p', 2, 1000);
    expect(fd.isUp('p', 6000)).toBe(true);
    expect(fd.isUp('p', 6001)).toBe(false);
    expect(fd.downAtMs('p')).toBe(6000);
    expect(fd.observe('p', 1, 7000)).toBe(false); // a stale relay does not revive it
    expect(fd.isUp('p', 7000)).toBe(false);
    expect(fd.observe('p', 3, 8000)).toBe(true);
    expect(fd.isUp('p', 8000)).toBe(true);
    expect(fd.meanIntervalMs('p')).toBe(2000); // the 7 s gap was clamped to 2 s
  });

  it('counts a higher generation as a move whatever the heartbeat', () => {
    const fd = new FailureDetector(opts);
    fd.observe('p', 900, 0, 1);
    expect(fd.observe('p', 0, 100, 2)).toBe(true);
    expect(fd.observe('p', 950, 200, 1)).toBe(false); // the old incarnation is stale
    expect(fd.isUp('p', 200)).toBe(true);
  });

  it('fires on phi before the timeout when heartbeats come often', () => {
    const fd = new FailureDetector({ failTimeoutMs: 60_000, initialIntervalMs: 100, maxSampleIntervalMs: 100 });
    fd.observe('p', 0, 0);
    for (let i = 1; i <= 50; i++) fd.observe('p', i, i * 100);
    expect(fd.meanIntervalMs('p')).toBe(100);
    const last = 5000;
    const boundary = last + (8 * 100) / LOG10_E; // 1842 ms of silence
    expect(fd.downAtMs('p')).toBeCloseTo(boundary, 6);
    expect(fd.isUp('p', Math.floor(boundary))).toBe(true);
    expect(fd.isUp('p', Math.ceil(boundary))).toBe(false);
    expect(fd.phi('p', last + 1000)).toBeCloseTo(10 * LOG10_E, 9);
  });

  it('keeps a bounded window of gaps', () => {
    const fd = new FailureDetector({ ...opts, windowSize: 3, maxSampleIntervalMs: 10_000 });
    fd.observe('p', 0, 0);
    fd.observe('p', 1, 0); // initial 2000
    fd.observe('p', 2, 100); // 100
    fd.observe('p', 3, 400); // 300
    expect(fd.meanIntervalMs('p')).toBe(800);
    fd.observe('p', 4, 1000); // 600 pushes out the 2000
    expect(fd.meanIntervalMs('p')).toBeCloseTo(1000 / 3, 9);
  });

  it('validates its options', () => {
    expect(() => new FailureDetector({ failTimeoutMs: 0, initialIntervalMs: 1 })).toThrow(RangeError);
    expect(() => new FailureDetector({ failTimeoutMs: 1, initialIntervalMs: 1, windowSize: 0 })).toThrow(RangeError);
    expect(() => new FailureDetector({ failTimeoutMs: 1, initialIntervalMs: 1, phiThreshold: -1 })).toThrow(RangeError);
  });
});

describe('random helpers', () => {
  it('stays in range even if the source returns 1', () => {
    expect(randomIndex(() => 0.9999999999, 3)).toBe(2);
    expect(randomIndex(() => 1, 3)).toBe(2);
    expect(chance(() => 0.5, 1)).toBe(true);
    expect(chance(() => 0, 0)).toBe(false);
    const r = new Prng(9).asRandom();
    const s = sample(r, [1, 2, 3, 4, 5], 3);
    expect(new Set(s).size).toBe(3);
    expect(sample(r, [1, 2], 5).sort()).toEqual([1, 2]);
  });
});

describe('gossiper', () => {
  const base: GossiperOptions = { gossipIntervalMs: 1000, failTimeoutMs: 5000, phiThreshold: 8, fanout: 3, seeds: [] };
  const sends = (es: GossipEffect[]) => es.filter((e): e is Extract<GossipEffect, { kind: 'send' }> => e.kind === 'send');
  const kinds = (es: GossipEffect[], kind: 'up' | 'down') => es.filter((e) => e.kind === kind).map((e) => (e as { id: string }).id);
  const syn = (m: Member, others: Member[] = []): GossipMessage => ({ kind: 'syn', from: m.id, members: [m, ...others] });

  it('bootstraps through a seed, never itself, and gossips once per interval', () => {
    const self = member('n0');
    const g = new Gossiper(self, { ...base, seeds: [{ host: self.host, busPort: self.busPort }, { host: '10.0.0.9', busPort: 16379 }] }, new Prng(1).asRandom());
    const first = g.tick(0);
    expect(sends(first)).toHaveLength(1);
    expect(sends(first)[0]!.to).toEqual({ id: null, host: '10.0.0.9', busPort: 16379 });
    expect(sends(first)[0]!.msg).toEqual({ kind: 'syn', from: 'n0', members: [{ ...self, heartbeat: 1 }] });
    expect(g.tick(999)).toEqual([]);
    expect(sends(g.tick(1000))).toHaveLength(1);
    expect(g.self().heartbeat).toBe(2);
  });

  it('answers a SYN with an ACK of what the sender lacks or has older', () => {
    const g = new Gossiper(member('n0', { heartbeat: 3 }), base, new Prng(1).asRandom());
    g.receive(syn(member('n2', { heartbeat: 9 }), []), 0);
    const es = g.receive(syn(member('n1', { heartbeat: 1 }), [member('n2', { heartbeat: 4 })]), 10);
    const [ack] = sends(es);
    expect(ack!.to).toEqual({ id: 'n1', host: '10.0.0.2', busPort: 16379 });
    expect(ack!.msg.kind).toBe('ack');
    expect(ack!.msg.members).toEqual([member('n0', { heartbeat: 3 }), member('n2', { heartbeat: 9 })]);
    expect(es.filter((e) => e.kind === 'member-changed')).toEqual([{ kind: 'member-changed', member: member('n1', { heartbeat: 1 }), previous: null }]);
    // An ACK is not answered.
    expect(sends(g.receive({ kind: 'ack', from: 'n1', members: [member('n1', { heartbeat: 2 })] }, 20))).toEqual([]);
  });

  it('marks a peer up when it is first learned, down after the timeout, up when it moves again', () => {
    const g = new Gossiper(member('n0'), base, new Prng(1).asRandom());
    // Learned for the first time: alive at once (a fresh cluster writes as soon as its nodes know each other).
    expect(kinds(g.receive(syn(member('n1', { heartbeat: 1 })), 0), 'up')).toEqual(['n1']);
    expect(g.isUp('n1', 0)).toBe(true);
    expect(kinds(g.receive(syn(member('n1', { heartbeat: 2 })), 1000), 'up')).toEqual([]);
    expect(g.liveMembers(1000).map((m) => m.id)).toEqual(['n0', 'n1']);
    expect(kinds(g.tick(6000), 'down')).toEqual([]);
    expect(kinds(g.tick(6001), 'down')).toEqual(['n1']);
    expect(kinds(g.tick(7000), 'down')).toEqual([]); // reported once
    expect(g.heartbeatAgeMs('n1', 7000)).toBe(6000);
    // A relay with a stale heartbeat does nothing for n1 (n2, new, is up).
    const stale = g.receive(syn(member('n2', { heartbeat: 1 }), [member('n1', { heartbeat: 2 })]), 7100);
    expect(kinds(stale, 'up')).toEqual(['n2']);
    expect(sends(stale).map((s) => s.to.id)).toEqual(['n2']); // just the ACK
    // A relayed move does not revive a down peer by itself: it sends the peer a probe (once per interval)...
    const relayed = g.receive(syn(member('n2', { heartbeat: 2 }), [member('n1', { heartbeat: 3 })]), 7200);
    expect(kinds(relayed, 'up')).toEqual([]);
    expect(g.isUp('n1', 7200)).toBe(false);
    expect(sends(relayed).map((s) => [s.to.id, s.msg.kind])).toEqual([['n1', 'syn'], ['n2', 'ack']]);
    const again = g.receive(syn(member('n2', { heartbeat: 3 }), [member('n1', { heartbeat: 4 })]), 7300);
    expect(sends(again).map((s) => s.to.id)).toEqual(['n2']);
    // ...and the peer's own answer does.
    expect(kinds(g.receive({ kind: 'ack', from: 'n1', members: [member('n1', { heartbeat: 4 })] }, 7400), 'up')).toEqual(['n1']);
    expect(g.isUp('n1', 7400)).toBe(true);
  });

  it('takes a peer first learned through a relay as up at once, and down if its heartbeat never moves', () => {
    const g = new Gossiper(member('n0'), base, new Prng(1).asRandom());
    const eff = g.receive(syn(member('n1', { heartbeat: 5 }), [member('n2', { heartbeat: 9 })]), 0);
    expect(kinds(eff, 'up').sort()).toEqual(['n1', 'n2']);
    expect(g.liveMembers(0).map((m) => m.id)).toEqual(['n0', 'n1', 'n2']);
    // n1 keeps talking, n2 is never heard of again: down after the timeout.
    for (let t = 1000; t <= 5000; t += 1000) g.receive(syn(member('n1', { heartbeat: 5 + t / 1000 })), t);
    expect(kinds(g.tick(5001), 'down')).toEqual(['n2']);
    expect(g.isUp('n1', 5001)).toBe(true);
  });

  it('keeps an up peer up on relayed heartbeats alone', () => {
    const g = new Gossiper(member('n0'), base, new Prng(1).asRandom());
    g.receive(syn(member('n1', { heartbeat: 1 })), 0);
    g.receive(syn(member('n1', { heartbeat: 2 })), 1000);
    for (let t = 2000; t <= 20_000; t += 1000) {
      expect(kinds(g.receive(syn(member('n2', { heartbeat: t }), [member('n1', { heartbeat: t })]), t), 'down')).toEqual([]);
      expect(kinds(g.tick(t), 'down')).toEqual([]);
    }
    expect(g.isUp('n1', 20_000)).toBe(true);
  });

  it('accepts a restarted peer (higher generation, heartbeat from 0) and reports the change', () => {
    const g = new Gossiper(member('n0'), base, new Prng(1).asRandom());
    g.receive(syn(member('n1', { heartbeat: 40 })), 0);
    g.receive(syn(member('n1', { heartbeat: 41 })), 1000);
    const es = g.receive(syn(member('n1', { generation: 2, heartbeat: 1 })), 2000);
    expect(es).toContainEqual({
      kind: 'member-changed',
      member: member('n1', { generation: 2, heartbeat: 1 }),
      previous: member('n1', { heartbeat: 41 }),
    });
    expect(g.member('n1')!.generation).toBe(2);
    expect(g.isUp('n1', 2000)).toBe(true);
  });

  it('moves its own generation past a peer that remembers a later incarnation', () => {
    const g = new Gossiper(member('n0', { generation: 1 }), base, new Prng(1).asRandom());
    const es = g.receive({ kind: 'ack', from: 'n1', members: [member('n1'), member('n0', { generation: 5, heartbeat: 77, status: 'left' })] }, 0);
    expect(g.self()).toEqual(member('n0', { generation: 6, heartbeat: 0 }));
    expect(es).toContainEqual({ kind: 'member-changed', member: member('n0', { generation: 6 }), previous: member('n0') });
  });

  it('sends to fanout distinct live peers', () => {
    const g = new Gossiper(member('n0'), base, new Prng(3).asRandom());
    const peers = [1, 2, 3, 4, 5, 6].map((i) => `n${i}`);
    for (const id of peers) g.receive(syn(member(id, { heartbeat: 1 })), 0);
    for (const id of peers) g.receive(syn(member(id, { heartbeat: 2 })), 500);
    for (let t = 1000; t < 20_000; t += 1000) {
      for (const id of peers) g.receive(syn(member(id, { heartbeat: t })), t);
      const to = sends(g.tick(t)).map((s) => s.to.id);
      expect(to).toHaveLength(3);
      expect(new Set(to).size).toBe(3);
      for (const id of to) expect(peers).toContain(id);
    }
  });

  it('fills the fanout with down peers when live ones run short, and prefers recently heard live peers', () => {
    // n2..n5 known from the persisted table: down until they move.
    const known = ['n2', 'n3', 'n4', 'n5'].map((id) => member(id, { heartbeat: 1 }));
    const g = new Gossiper(member('n0'), { ...base, knownPeers: known }, new Prng(4).asRandom());
    g.receive(syn(member('n1', { heartbeat: 1 })), 0);
    g.receive(syn(member('n1', { heartbeat: 2 })), 100); // only n1 is up
    for (let t = 1000; t <= 4000; t += 1000) {
      g.receive(syn(member('n1', { heartbeat: t })), t);
      const to = sends(g.tick(t)).map((s) => s.to.id);
      expect(to[0]).toBe('n1');
      expect(to).toHaveLength(3); // n1 and two of the four down peers
    }
    // n2 and n3 up too, but n3 then goes quiet (no move for > 2 intervals): n1 and n2 are chosen before it.
    g.receive(syn(member('n2', { heartbeat: 2 })), 4100);
    g.receive(syn(member('n3', { heartbeat: 2 })), 4100);
    for (let t = 7000; t <= 9000; t += 1000) {
      g.receive(syn(member('n1', { heartbeat: t })), t);
      g.receive(syn(member('n2', { heartbeat: t })), t);
      const live = sends(g.tick(t)).map((s) => s.to.id).filter((id) => id === 'n1' || id === 'n2' || id === 'n3');
      expect(live.slice(0, 2).sort()).toEqual(['n1', 'n2']);
    }
  });

  it('probes down peers (always when nobody is live) and skips peers that left', () => {
    const g = new Gossiper(member('n0'), base, new Prng(5).asRandom());
    g.receive(syn(member('n1', { heartbeat: 1 })), 0);
    g.receive(syn(member('n2', { heartbeat: 1, status: 'left' })), 0);
    for (let t = 0; t < 10_000; t += 1000) {
      const to = sends(g.tick(t)).map((s) => s.to.id);
      expect(to).toEqual(['n1']);
    }
  });

  it('restores persisted peers as down, gossips to them, and marks them up when they move', () => {
    const known = [member('n1', { heartbeat: 50 }), member('n2', { heartbeat: 60 })];
    const g = new Gossiper(member('n0', { generation: 2 }), { ...base, knownPeers: known }, new Prng(1).asRandom());
    expect(g.members().map((m) => m.id)).toEqual(['n0', 'n1', 'n2']);
    expect(g.liveMembers(0).map((m) => m.id)).toEqual(['n0']);
    // Nobody live: the fanout is filled with down peers.
    expect(sends(g.tick(0)).map((s) => s.to.id).sort()).toEqual(['n1', 'n2']);
    expect(kinds(g.receive({ kind: 'ack', from: 'n1', members: [member('n1', { heartbeat: 51 })] }, 100), 'up')).toEqual(['n1']);
    expect(g.isUp('n2', 100)).toBe(false);
    expect(kinds(g.receive({ kind: 'ack', from: 'n1', members: [member('n1', { heartbeat: 51 }), member('n2', { heartbeat: 60 })] }, 200), 'up')).toEqual([]);
  });

  it('spreads its own status change with a newer version', () => {
    const a = new Gossiper(member('n0'), base, new Prng(1).asRandom());
    const b = new Gossiper(member('n1'), base, new Prng(2).asRandom());
    b.receive(syn(a.self()), 0);
    a.setOwnStatus('leaving');
    const es = b.receive(syn(a.self()), 100);
    expect(es).toContainEqual({ kind: 'member-changed', member: member('n0', { status: 'leaving', heartbeat: 1 }), previous: member('n0') });
    expect(b.member('n0')!.status).toBe('leaving');
  });

  it('caps the entries per message, own entry first', () => {
    const g = new Gossiper(member('n0'), { ...base, maxMembersPerMessage: 4 }, new Prng(7).asRandom());
    const others = Array.from({ length: 10 }, (_, i) => member(`n${i + 1}`, { heartbeat: 1 }));
    const [ack] = sends(g.receive(syn(others[0]!, others.slice(1)), 0));
    expect(ack!.msg.members).toHaveLength(1); // the sender already has everything we know
    const [syn1] = sends(g.tick(1000));
    expect(syn1!.msg.members).toHaveLength(4);
    expect(syn1!.msg.members[0]!.id).toBe('n0');
    const [ack2] = sends(g.receive(syn(member('n20', { heartbeat: 1 })), 1100));
    expect(ack2!.msg.members).toHaveLength(4);
    expect(ack2!.msg.members[0]!.id).toBe('n0');
  });

  it('ignores a SYN from itself (a seed address that is this node)', () => {
    const g = new Gossiper(member('n0'), base, new Prng(1).asRandom());
    expect(g.receive(syn(member('n0', { heartbeat: 99 })), 0)).toEqual([]);
    expect(g.self().heartbeat).toBe(0);
  });

  it('is deterministic for a given random source', () => {
    const run = (seed: number) => {
      const g = new Gossiper(member('n0'), base, new Prng(seed).asRandom());
      const out: GossipEffect[] = [];
      for (let i = 1; i <= 8; i++) out.push(...g.receive(syn(member(`n${i}`, { heartbeat: 1 })), 0));
      for (let t = 0; t < 5000; t += 250) out.push(...g.tick(t));
      return JSON.stringify(out);
    };
    expect(run(11)).toBe(run(11));
    expect(run(11)).not.toBe(run(12));
  });
});
