/**
 * The pure parts of src/http: latency histogram → Prometheus buckets (exact, checked
 * against the recorded values), HTTP Basic credentials and authorize(), the status page's
 * script (it must compile), the exposition reader the integration tests rely on (it must
 * reject what Prometheus would), and RING HELP naming every RING subcommand with its
 * arguments.
 */
import * as vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LatencyHistogram } from '../../src/server/call-stats';
import { LATENCY_BOUNDS_US, latencyBuckets } from '../../src/http/metrics';
import { authorize, basicCredentials, deniedByHostCheck, isLocalHostName } from '../../src/http/auth';
import { deniedByProtectedMode } from '../../src/server/protected-mode';
import { APP_JS } from '../../src/http/static/app-js';
import { INDEX_HTML } from '../../src/http/static/index-html';
import { defaultSettings } from '../../src/config/settings';
import { ALL_COMMANDS } from '../../src/commands';
import { CommandTable } from '../../src/commands/table';
import { metaOf } from '../../src/commands/command';
import { AclStore } from '../../src/acl/store';

function aclStore(): AclStore {
  return new AclStore(new CommandTable(ALL_COMMANDS), (e) => metaOf(e).aclCategories, { clients: () => [] }, () => 1000);
}
import { ringCommands } from '../../src/commands/ring';
import { ReplyWriter } from '../../src/resp/writer';
import type { CommandContext } from '../../src/commands/types';
import { parseExposition } from '../support/prometheus';
import { Ring } from '../../src/ring/ring';
import { ringShape } from '../../src/http/status';
import { rangeSize } from '../../src/ring/ranges';
import { decodeLoad, encodeLoad, PeerLoads, type NodeLoad } from '../../src/http/peer-status';
import type { BusTransport, PeerAddress } from '../../src/bus/transport';

describe('latencyBuckets', () => {
  it('gives, at every bound, exactly the number of calls that took less (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 3e7, noNaN: true }), { maxLength: 300 }), (values) => {
        const h = new LatencyHistogram();
        for (const v of values) h.record(v);
        const b = latencyBuckets(h.counts);
        expect(b.length).toBe(LATENCY_BOUNDS_US.length + 1);
        LATENCY_BOUNDS_US.forEach((bound, i) => expect(b[i]).toBe(values.filter((v) => v < bound).length));
        expect(b[b.length - 1]).toBe(values.length);
      }),
    );
  });

  it('counts a call exactly at a bound in the next bucket (le is an upper edge of the log-linear buckets)', () => {
    const h = new LatencyHistogram();
    h.record(63.9);
    h.record(64);
    const b = latencyBuckets(h.counts);
    expect(b[LATENCY_BOUNDS_US.indexOf(64)]).toBe(1);
    expect(b[LATENCY_BOUNDS_US.indexOf(128)]).toBe(2);
  });
});

describe('HTTP auth', () => {
  const basic = (s: string): string => `Basic ${Buffer.from(s).toString('base64')}`;

  it('reads Basic credentials, password with colons included', () => {
    expect(basicCredentials(basic('default:s3:cr3t'))).toEqual({ user: 'default', pass: 's3:cr3t' });
    expect(basicCredentials(undefined)).toEqual({ user: null, pass: null });
    expect(basicCredentials('Bearer abc')).toEqual({ user: null, pass: null });
    expect(basicCredentials(`Basic ${Buffer.from('nocolon').toString('base64')}`)).toEqual({ user: null, pass: null });
  });

  it('authorize: open while the default user needs no password; then the credentials of an enabled ACL user', () => {
    const acl = aclStore();
    expect(authorize(acl, null, null)).toBe(true);
    acl.setRequirepass('pw');
    expect(authorize(acl, null, null)).toBe(false);
    expect(authorize(acl, 'default', 'pw')).toBe(true);
    expect(authorize(acl, 'ops', 'pw')).toBe(false);
    expect(authorize(acl, 'default', 'pw2')).toBe(false);
    expect(authorize(acl, 'default', '')).toBe(false);
    expect(acl.setUser('ops', ['on', '>opspw', '+@all'])).toBeNull();
    expect(authorize(acl, 'ops', 'opspw')).toBe(true);
    expect(authorize(acl, 'ops', 'pw')).toBe(false);
    expect(acl.setUser('ops', ['off'])).toBeNull();
    expect(authorize(acl, 'ops', 'opspw')).toBe(false);
  });

  it('the Host check: addresses and localhost pass; other names only from other machines or with a password', () => {
    for (const h of ['127.0.0.1', '127.0.0.1:8080', 'localhost', 'LOCALHOST:1', 'a.localhost', '[::1]:80', '[::1]', '10.1.2.3', 'localhost.']) expect(isLocalHostName(h), h).toBe(true);
    for (const h of ['evil.example', 'evil.example:8080', '127.0.0.1.evil.example', 'localhost.evil.example', '[evil]:80', '']) expect(isLocalHostName(h), h).toBe(false);
    const acl = aclStore();
    expect(deniedByHostCheck(acl, '127.0.0.1', 'evil.example')).toBe(true);
    expect(deniedByHostCheck(acl, '127.0.0.1', 'localhost:80')).toBe(false);
    expect(deniedByHostCheck(acl, '10.0.0.5', 'scraper.internal')).toBe(false);
    acl.setRequirepass('pw');
    expect(deniedByHostCheck(acl, '127.0.0.1', 'evil.example')).toBe(false);
  });

  it('protected mode refuses other machines only while the default user has no password', () => {
    const s = defaultSettings();
    const acl = aclStore();
    expect(deniedByProtectedMode(s, acl, '10.0.0.5')).toBe(true);
    expect(deniedByProtectedMode(s, acl, '127.0.0.1')).toBe(false);
    expect(deniedByProtectedMode(s, acl, '::ffff:127.0.0.1')).toBe(false);
    acl.setRequirepass('pw');
    expect(deniedByProtectedMode(s, acl, '10.0.0.5')).toBe(false);
    acl.setRequirepass('');
    s.protectedMode = 'no';
    expect(deniedByProtectedMode(s, acl, '10.0.0.5')).toBe(false);
  });
});

describe('status page assets', () => {
  it('app.js is valid JavaScript and the page loads only same-origin resources', () => {
    expect(() => new vm.Script(APP_JS, { filename: 'app.js' })).not.toThrow();
    const urls = [...INDEX_HTML.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
    expect(urls.length).toBeGreaterThan(0);
    for (const u of urls) expect(u).toMatch(/^\/[a-z.]*$/);
    expect(APP_JS).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(APP_JS).not.toMatch(/innerHTML/);
  });
});

describe('parseExposition (the integration tests\' validator)', () => {
  const ok = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1",y="q\\"\\\\\\n"} 3\n\n# TYPE h histogram\nh_bucket{le="0.1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 0.3\nh_count 2\n';

  it('accepts valid text and reads values and escaped labels', () => {
    const e = parseExposition(ok);
    expect(e.value('a_total', { x: '1', y: 'q"\\\n' })).toBe(3);
    expect(e.value('h_count')).toBe(2);
  });

  it.each([
    ['a sample without TYPE', 'x 1\n'],
    ['a bad value', '# TYPE x gauge\nx one\n'],
    ['an unquoted label', '# TYPE x gauge\nx{a=1} 1\n'],
    ['a bad escape', '# TYPE x gauge\nx{a="\\t"} 1\n'],
    ['a duplicate series', '# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n'],
    ['a second TYPE', '# TYPE x gauge\n# TYPE x gauge\n'],
    ['an unknown type', '# TYPE x meter\n'],
    ['no final newline', '# TYPE x gauge\nx 1'],
    ['buckets that decrease', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
    ['no +Inf bucket', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    ['+Inf != _count', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n'],
    ['a histogram sample without suffix', '# TYPE h histogram\nh 1\n'],
    ['a bad metric name', '# TYPE x gauge\n1x 1\n'],
  ])('rejects %s', (_what, text) => {
    expect(() => parseExposition(text)).toThrow();
  });
});

describe('ringShape (the status page\'s ring)', () => {
  const members = ['n1', 'n2', 'n3', 'n4'].map((id, i) => ({ id, dc: 'dc1', rack: `r${i % 2}`, vnodes: 4 + i }));

  /** The segments cover [0, 1) in order, without gaps or overlaps, adjacent ones of different owners. */
  function expectCover(segments: [number, number, string][]): void {
    expect(segments[0][0]).toBe(0);
    expect(segments[segments.length - 1][1]).toBe(1);
    for (let i = 1; i < segments.length; i++) {
      expect(segments[i][0]).toBe(segments[i - 1][1]);
      expect(segments[i][2]).not.toBe(segments[i - 1][2]);
    }
  }

  it('draws a ring of few arcs exactly: each owner\'s segments add up to its ownership', () => {
    const ring = Ring.build(members, { placement: 'tokens' });
    const shape = ringShape(ring, 3);
    expectCover(shape.segments);
    const drawn = new Map<string, number>();
    for (const [a, b, owner] of shape.segments) {
      drawn.set(owner, (drawn.get(owner) ?? 0) + (b - a));
      expect(ring.tokenOwner(Math.floor(((a + b) / 2) * 2 ** 32))).toBe(owner);
    }
    for (const [id, share] of ring.ownership()) expect(drawn.get(id) ?? 0).toBeCloseTo(share, 6);
    expect(ringShape(ring, 3)).toBe(shape);
    for (const m of members) {
      const exact = ring.ranges(m.id, 3).reduce((n, r) => n + rangeSize(r), 0) / 2 ** 32;
      expect(shape.replicaShare.get(m.id)).toBeCloseTo(exact, 12);
    }
  });

  it('draws a ring of many partitions from 720 slices, and gives each node its replica share', () => {
    const ring = Ring.build(members);
    expect(ring.arcCount).toBeGreaterThan(720);
    const shape = ringShape(ring, 2);
    expectCover(shape.segments);
    for (const [a, b] of shape.segments) expect(Math.round((b - a) * 720 * 1e6) % 1e6).toBe(0);
    // Every token has 2 replicas: the replica shares add up to 2.
    expect([...shape.replicaShare.values()].reduce((x, y) => x + y, 0)).toBeCloseTo(2, 9);
    // Estimated from 4096 tokens: close to the exact share.
    for (const m of members) {
      const exact = ring.ranges(m.id, 2).reduce((n, r) => n + rangeSize(r), 0) / 2 ** 32;
      expect(Math.abs(shape.replicaShare.get(m.id)! - exact)).toBeLessThan(0.03);
    }
    expect([...ringShape(Ring.build(members.slice(0, 3)), 3).replicaShare.values()]).toEqual([1, 1, 1]);
  });
});

describe('peer loads (node.status)', () => {
  const load = (keys: number): NodeLoad => ({ keys, engineBytes: 10 * keys, hintsPending: 2, hintsBytes: 99 });

  it('encodes and decodes a load, and refuses what is not one', () => {
    expect(decodeLoad(encodeLoad(load(7)))).toEqual(load(7));
    expect(decodeLoad([Buffer.from('1'), Buffer.from('2'), Buffer.from('3')])).toBeNull();
    expect(decodeLoad(['1', '-2', '3', '4'].map((x) => Buffer.from(x)))).toBeNull();
    expect(decodeLoad(['1', '2.5', '3', '4'].map((x) => Buffer.from(x)))).toBeNull();
  });

  it('asks each peer at most once a second, shares a request in flight, keeps the last answer of a peer that stops answering', async () => {
    let nowMs = 1000;
    const asked: string[] = [];
    let failing = new Set<string>();
    const transport: BusTransport = {
      request: async (peer: PeerAddress, verb: string) => {
        expect(verb).toBe('node.status');
        asked.push(peer.id!);
        if (failing.has(peer.id!)) throw new Error('timed out');
        return encodeLoad(load(peer.id === 'n2' ? 20 : 30));
      },
      setHandler: () => undefined,
      close: async () => undefined,
    };
    const loads = new PeerLoads({ transport, address: (id) => (id === 'n9' ? null : { id, host: '127.0.0.1', port: 1 }), timeoutMs: () => 2000, nowMs: () => nowMs });
    const [a, b] = await Promise.all([loads.get(['n2', 'n3', 'n9']), loads.get(['n2', 'n3'])]);
    expect(asked).toEqual(['n2', 'n3']);
    expect(a.get('n2')).toEqual({ load: load(20), ageMs: 0 });
    expect(b.get('n3')?.load.keys).toBe(30);
    expect(a.has('n9')).toBe(false);
    nowMs += 500;
    await loads.get(['n2', 'n3']);
    expect(asked).toHaveLength(2);
    nowMs += 500;
    failing = new Set(['n3']);
    const c = await loads.get(['n2', 'n3']);
    expect(asked).toEqual(['n2', 'n3', 'n2', 'n3']);
    expect(c.get('n2')?.ageMs).toBe(0);
    expect(c.get('n3')).toEqual({ load: load(30), ageMs: 1000 });
    // A peer seen down is not asked; its last answer stays, older.
    nowMs += 1000;
    const d = await loads.get(['n2', 'n3'], (id) => id !== 'n2');
    expect(asked).toEqual(['n2', 'n3', 'n2', 'n3', 'n3']);
    expect(d.get('n2')).toEqual({ load: load(20), ageMs: 1000 });
  });
});

describe('RING HELP', () => {
  it('names every RING subcommand, and the arguments of those that take some', () => {
    const ring = ringCommands.find((s) => s.name === 'ring')!;
    const subs = ring.subcommands!;
    const help = subs.find((s) => s.name === 'help')!;
    const reply = new ReplyWriter();
    void help.handler!({ reply } as unknown as CommandContext, [Buffer.from('RING'), Buffer.from('HELP')]);
    const lines = reply.take().toString('latin1').split('\r\n').filter((l) => l.startsWith('+')).map((l) => l.slice(1));
    for (const sub of subs) {
      const line = lines.find((l) => l === sub.name.toUpperCase() || l.startsWith(`${sub.name.toUpperCase()} `));
      expect(line, `RING HELP has no line for ${sub.name}`).toBeDefined();
      if (sub.arity > 2 || sub.arity < -2) expect(line, `RING HELP does not show the arguments of ${sub.name}`).toMatch(/[<[]/);
    }
  });
});
