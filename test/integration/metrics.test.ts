/**
 * metrics-port and http-port with real processes: /metrics is scraped over HTTP and read
 * with a strict Prometheus text-format reader (test/support/prometheus.ts: every line, every
 * family, histogram consistency), and the numbers must be exactly what was sent:
 *
 * - one node: SET and GET calls by result (ok, error, rejected), error replies by code,
 *   the per-class latency histogram's count;
 * - auth: with requirepass every endpoint answers 401 without the password (and with a
 *   wrong one), 200 with it under any user name, and follows CONFIG SET requirepass;
 *   protected mode refuses another address (403) while no password is set;
 * - a 3-node cluster (N=3, W=2): quorum writes counted ok; one node SIGSTOPped: a W=3
 *   write times out (NOQUORUM, reason timeout), the others see it down (quorumkv_peer_up
 *   0), writes accumulate hints for it exactly, W=3 now fails fast (reason unavailable);
 *   another node's /status.json shows it down and the nodes' loads and hints (asked over
 *   the bus) equal to their metrics;
 *   SIGCONT: it is up again and its hints drain to 0, all replayed.
 *
 * Every wait polls with a bound.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { HTTP_MAX_CONNECTIONS } from '../../src/http/http-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Redis from 'ioredis';
import { connect, FAST_GOSSIP, logs, startCluster, waitAllUp } from '../support/cluster';
import { freePort, startQuorumkv, stopAll, waitFor, type QuorumkvProcess } from '../support/servers';
import { parseExposition, type Exposition } from '../support/prometheus';

afterAll(async () => {
  await stopAll();
});

async function get(port: number, path: string, auth?: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${path}`, { headers: auth === undefined ? {} : { Authorization: `Basic ${Buffer.from(auth).toString('base64')}` } });
}

/** GET from the local address 127.0.0.2 (a loopback address protected mode does not count as local); the status. */
function statusFrom127002(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, localAddress: '127.0.0.2' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

async function scrape(port: number, auth?: string): Promise<Exposition> {
  const res = await get(port, '/metrics', auth);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

/** The value of the one sample of `name` whose labels include `match` (throws unless exactly one). */
function one(e: Exposition, name: string, match: Record<string, string> = {}): number {
  const found = e.find(name, match);
  if (found.length !== 1) throw new Error(`${name}${JSON.stringify(match)}: ${found.length} samples`);
  return found[0].value;
}

/** Sum over the nodes' expositions of the samples of `name` matching `match`. */
function total(es: readonly Exposition[], name: string, match: Record<string, string> = {}): number {
  return es.reduce((n, e) => n + e.find(name, match).reduce((m, s) => m + s.value, 0), 0);
}

describe('/metrics on one node', () => {
  let node: QuorumkvProcess;
  let metricsPort: number;
  let c: Redis;

  beforeAll(async () => {
    metricsPort = await freePort();
    node = await startQuorumkv(['--engine', 'memory', '--metrics-port', String(metricsPort)]);
    c = await connect(node.port);
  });
  afterAll(() => c?.disconnect());

  it('counts every SET and GET by result, error replies by code, and the string class histogram', async () => {
    for (let i = 0; i < 7; i++) expect(await c.set(`k${i}`, 'v')).toBe('OK');
    await expect(c.call('SET', 'k', 'v', 'EX', 'soon')).rejects.toThrow(/not an integer/);
    await expect(c.call('SET', 'k', 'v', 'NX', 'XX')).rejects.toThrow(/syntax error/);
    await expect(c.call('SET', 'k')).rejects.toThrow(/wrong number of arguments/);
    expect(await c.hset('h', 'f', 'v')).toBe(1);
    expect(await c.get('k0')).toBe('v');
    await expect(c.get('h')).rejects.toThrow(/WRONGTYPE/);

    const m = await scrape(metricsPort);
    expect(one(m, 'quorumkv_commands_total', { cmd: 'set', result: 'ok' })).toBe(7);
    expect(one(m, 'quorumkv_commands_total', { cmd: 'set', result: 'error' })).toBe(2);
    expect(one(m, 'quorumkv_commands_total', { cmd: 'set', result: 'rejected' })).toBe(1);
    expect(one(m, 'quorumkv_commands_total', { cmd: 'get', result: 'ok' })).toBe(1);
    expect(one(m, 'quorumkv_commands_total', { cmd: 'get', result: 'error' })).toBe(1);
    expect(one(m, 'quorumkv_commands_total', { cmd: 'hset', result: 'ok' })).toBe(1);
    expect(one(m, 'quorumkv_error_replies_total', { code: 'ERR' })).toBe(3);
    expect(one(m, 'quorumkv_error_replies_total', { code: 'WRONGTYPE' })).toBe(1);
    // Calls that ran (rejected ones never did): 9 SETs and 2 GETs; 1 HSET.
    expect(one(m, 'quorumkv_command_duration_seconds_count', { class: 'string' })).toBe(11);
    expect(one(m, 'quorumkv_command_duration_seconds_bucket', { class: 'string', le: '+Inf' })).toBe(11);
    expect(one(m, 'quorumkv_command_duration_seconds_count', { class: 'hash' })).toBe(1);
    expect(one(m, 'quorumkv_keys', { db: '0' })).toBe(8);
    expect(m.types.get('quorumkv_command_duration_seconds')).toBe('histogram');
    expect(m.types.get('process_cpu_seconds_total')).toBe('counter');
    expect(one(m, 'quorumkv_info')).toBe(1);
    // A scrape is no command: scraping again changes nothing.
    const again = await scrape(metricsPort);
    expect(one(again, 'quorumkv_commands_total', { cmd: 'set', result: 'ok' })).toBe(7);
    // The metrics port serves no status page.
    expect((await get(metricsPort, '/status.json')).status).toBe(404);
  });
});

describe('HTTP auth with requirepass', () => {
  let node: QuorumkvProcess;
  let metricsPort: number;
  let httpPort: number;

  beforeAll(async () => {
    metricsPort = await freePort();
    httpPort = await freePort();
    node = await startQuorumkv(['--engine', 'memory', '--requirepass', 'hunter2', '--metrics-port', String(metricsPort), '--http-port', String(httpPort)]);
  });

  it('answers 401 without credentials, with a wrong password or an unknown user, 200 as default with the password', async () => {
    for (const [port, path] of [[metricsPort, '/metrics'], [httpPort, '/'], [httpPort, '/status.json'], [httpPort, '/app.js']] as const) {
      const anon = await get(port, path);
      expect(anon.status, `${path} without credentials`).toBe(401);
      expect(anon.headers.get('www-authenticate')).toMatch(/^Basic realm="quorumkv"/);
      expect(await anon.text()).not.toMatch(/quorumkv_|"nodes"/);
      expect((await get(port, path, 'default:wrong')).status, `${path} with a wrong password`).toBe(401);
      expect((await get(port, path, 'default:hunter2')).status, `${path} as default`).toBe(200);
      expect((await get(port, path, 'ops:hunter2')).status, `${path} as a user that does not exist`).toBe(401);
    }
    await scrape(metricsPort, 'default:hunter2');
  });

  it('takes the credentials of any enabled ACL user, and follows ACL changes', async () => {
    const c = await connect(node.port, { password: 'hunter2' });
    try {
      expect((await get(httpPort, '/status.json', 'ops:opspw')).status).toBe(401);
      await c.call('ACL', 'SETUSER', 'ops', 'on', '>opspw', '+info');
      expect((await get(httpPort, '/status.json', 'ops:opspw')).status).toBe(200);
      expect((await get(metricsPort, '/metrics', 'ops:hunter2')).status).toBe(401);
      await c.call('ACL', 'SETUSER', 'ops', 'off');
      expect((await get(httpPort, '/status.json', 'ops:opspw')).status).toBe(401);
      await c.call('ACL', 'DELUSER', 'ops');
    } finally {
      c.disconnect();
    }
  });

  it('follows CONFIG SET requirepass', async () => {
    const c = await connect(node.port, { password: 'hunter2' });
    try {
      await c.call('CONFIG', 'SET', 'requirepass', '');
      expect((await get(httpPort, '/status.json')).status).toBe(200);
      await c.call('CONFIG', 'SET', 'requirepass', 'other');
      expect((await get(httpPort, '/status.json', 'default:hunter2')).status).toBe(401);
      expect((await get(httpPort, '/status.json', 'default:other')).status).toBe(200);
    } finally {
      c.disconnect();
    }
  });
});

describe('HTTP and protected mode', () => {
  it('refuses another address while no password is set, unless protected-mode is no', async () => {
    const metricsPort = await freePort();
    const httpPort = await freePort();
    const node = await startQuorumkv(['--engine', 'memory', '--metrics-port', String(metricsPort), '--http-port', String(httpPort)]);
    expect(await statusFrom127002(metricsPort, '/metrics')).toBe(403);
    expect(await statusFrom127002(httpPort, '/status.json')).toBe(403);
    expect((await get(httpPort, '/status.json')).status).toBe(200);
    const c = await connect(node.port);
    try {
      await c.call('CONFIG', 'SET', 'protected-mode', 'no');
      expect(await statusFrom127002(httpPort, '/status.json')).toBe(200);
      await c.call('CONFIG', 'SET', 'protected-mode', 'yes', 'requirepass', 'pw');
      expect(await statusFrom127002(httpPort, '/status.json')).toBe(401);
    } finally {
      c.disconnect();
      await node.stop();
    }
  });
});

/** GET with a chosen Host header (a page whose name was rebound to 127.0.0.1 sends its own); the status. */
function statusWithHost(port: number, path: string, host: string, auth?: string): Promise<number> {
  const headers: Record<string, string> = { Host: host };
  if (auth !== undefined) headers.Authorization = `Basic ${Buffer.from(auth).toString('base64')}`;
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

describe('HTTP and DNS rebinding', () => {
  it('without a password, a loopback request must name the node by an address or localhost', async () => {
    const httpPort = await freePort();
    const node = await startQuorumkv(['--engine', 'memory', '--http-port', String(httpPort)]);
    try {
      expect(await statusWithHost(httpPort, '/status.json', 'evil.example')).toBe(403);
      expect(await statusWithHost(httpPort, '/', `evil.example:${httpPort}`)).toBe(403);
      expect(await statusWithHost(httpPort, '/status.json', `127.0.0.1:${httpPort}`)).toBe(200);
      expect(await statusWithHost(httpPort, '/status.json', `localhost:${httpPort}`)).toBe(200);
      expect(await statusWithHost(httpPort, '/status.json', `[::1]:${httpPort}`)).toBe(200);
      const c = await connect(node.port);
      try {
        // With a password the credentials are the defence; the name no longer matters.
        await c.call('CONFIG', 'SET', 'requirepass', 'pw');
        expect(await statusWithHost(httpPort, '/status.json', 'evil.example')).toBe(401);
        expect(await statusWithHost(httpPort, '/status.json', 'quorumkv.internal', 'default:pw')).toBe(200);
      } finally {
        c.disconnect();
      }
    } finally {
      await node.stop();
    }
  });
});

describe('HTTP limits', () => {
  it('keeps at most HTTP_MAX_CONNECTIONS open per listener and still serves once some close', async () => {
    const httpPort = await freePort();
    const node = await startQuorumkv(['--engine', 'memory', '--http-port', String(httpPort)]);
    const sockets: net.Socket[] = [];
    try {
      const closed = new Set<net.Socket>();
      for (let i = 0; i < HTTP_MAX_CONNECTIONS + 20; i++) {
        const s = net.connect({ host: '127.0.0.1', port: httpPort });
        s.on('close', () => closed.add(s));
        s.on('error', () => closed.add(s));
        sockets.push(s);
        await new Promise<void>((resolve) => s.once('connect', () => resolve()).once('error', () => resolve()));
      }
      // The ones past the limit are closed by the node at once; the first ones stay open.
      await waitFor(() => closed.size >= 20, 5000);
      expect(closed.size).toBe(20);
      expect(sockets.slice(0, HTTP_MAX_CONNECTIONS).every((s) => !closed.has(s))).toBe(true);
      for (const s of sockets.slice(0, 10)) s.destroy();
      await waitFor(async () => {
        try {
          return (await get(httpPort, '/status.json')).status === 200;
        } catch {
          return false;
        }
      }, 5000);
    } finally {
      for (const s of sockets) s.destroy();
      await node.stop();
    }
  });
});

describe('/metrics of a 3-node cluster while a node stops and comes back', () => {
  const IDS = ['n1', 'n2', 'n3'];
  const UP_TIMEOUT_MS = 15_000;
  let nodes: QuorumkvProcess[] = [];
  const metricsPorts: number[] = [];
  const httpPorts: number[] = [];
  let c: Redis;
  let stopped = false;
  /** Quorum writes n1 and n2 had executed before n3 stopped. */
  let okBefore = 0;

  const scrapeAll = (which = [0, 1, 2]): Promise<Exposition[]> => Promise.all(which.map((i) => scrape(metricsPorts[i])));

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) {
      metricsPorts.push(await freePort());
      httpPorts.push(await freePort());
    }
    const cluster = await startCluster(3, {
      args: [...FAST_GOSSIP, '--engine', 'memory', '--replicas', '3', '--write-quorum', '2', '--read-quorum', '2', '--request-timeout', '500ms', '--anti-entropy-interval', '0'],
      perNode: (i) => ['--metrics-port', String(metricsPorts[i]), '--http-port', String(httpPorts[i])],
    });
    nodes = cluster.nodes;
    await waitAllUp(nodes, IDS, UP_TIMEOUT_MS);
    c = await connect(nodes[0].port);
  });
  afterAll(() => {
    if (stopped) process.kill(nodes[2].pid, 'SIGCONT');
    c?.disconnect();
  });

  it('shows every peer up and normal, and counts quorum writes', async () => {
    for (let i = 0; i < 20; i++) expect(await c.set(`w:${i}`, 'v')).toBe('OK');
    const ms = await scrapeAll();
    for (const m of ms) {
      for (const id of IDS) {
        expect(one(m, 'quorumkv_peer_up', { peer: id })).toBe(1);
        expect(one(m, 'quorumkv_peer_status', { peer: id, status: 'normal' })).toBe(1);
        expect(one(m, 'quorumkv_peer_status', { peer: id, status: 'leaving' })).toBe(0);
      }
      expect(one(m, 'quorumkv_ring_members')).toBe(3);
      expect(m.find('quorumkv_ring_ownership_ratio').reduce((n, s) => n + s.value, 0)).toBeCloseTo(1, 9);
    }
    expect(one(ms[0], 'quorumkv_commands_total', { cmd: 'set', result: 'ok' })).toBe(20);
    // Each write ran at its primary (n1 forwards the others), which counted it.
    expect(total(ms, 'quorumkv_quorum_ok_total', { op: 'write' })).toBe(20);
    okBefore = total(ms.slice(0, 2), 'quorumkv_quorum_ok_total', { op: 'write' });
    // n3 has applied all 20 (a write is answered at W=2, maybe before n3 took it): none of
    // them can turn into a hint once n3 is stopped below.
    const c3 = await connect(nodes[2].port);
    try {
      await waitFor(
        async () => {
          const p = c3.pipeline();
          for (let i = 0; i < 20; i++) p.call('RING', 'LOCAL', `w:${i}`);
          return ((await p.exec()) ?? []).every(([err, v]) => err === null && v !== null);
        },
        5_000,
        { what: 'n3 to hold the 20 writes' },
      );
    } finally {
      c3.disconnect();
    }
    expect(total(ms, 'quorumkv_noquorum_total')).toBe(0);
    expect(one(ms[0], 'quorumkv_bus_peers_connected')).toBeGreaterThanOrEqual(2);
    expect(total(ms, 'quorumkv_hints_pending', { target: 'n3' })).toBe(0);
  });

  it('a stopped node: W=3 times out, peers see it down, writes keep exact hints for it, W=3 then fails fast', async () => {
    // A key n1 executes itself (its primary), so the W=3 write waits on n3 there.
    let key = '';
    for (let i = 0; key === ''; i++) {
      const owners = (await c.call('RING', 'OWNERS', `t:${i}`)) as string[];
      if (owners[0] === 'n1') key = `t:${i}`;
    }
    process.kill(nodes[2].pid, 'SIGSTOP');
    stopped = true;
    const strict = await connect(nodes[0].port);
    try {
      await strict.call('CONSISTENCY', 'W', '3', 'R', '1');
      await expect(strict.set(key, 'v')).rejects.toThrow(/^NOQUORUM/);
      await waitFor(async () => one(await scrape(metricsPorts[0]), 'quorumkv_peer_up', { peer: 'n3' }) === 0, 10_000, { intervalMs: 100, what: 'n1 to report n3 down' });
      await waitFor(async () => one(await scrape(metricsPorts[1]), 'quorumkv_peer_up', { peer: 'n3' }) === 0, 10_000, { intervalMs: 100, what: 'n2 to report n3 down' });
      for (let i = 0; i < 30; i++) expect(await c.set(`d:${i}`, 'v')).toBe('OK');
      await expect(strict.set(`${key}:2`, 'v')).rejects.toThrow(/^NOQUORUM/);
      await expect(strict.set(`${key}:3`, 'v')).rejects.toThrow(/^NOQUORUM/);
    } finally {
      strict.disconnect();
    }
    const ms = await scrapeAll([0, 1]);
    // n3 is still a normal member: down is failure detection, not membership.
    expect(one(ms[0], 'quorumkv_peer_status', { peer: 'n3', status: 'normal' })).toBe(1);
    expect(one(ms[0], 'quorumkv_peer_up', { peer: 'n2' })).toBe(1);
    // One hint per write n3 missed, kept by the write's primary: the 30 writes and the W=3
    // one that timed out (the primary keeps a hint for a replica that did not answer).
    await waitFor(async () => total(await scrapeAll([0, 1]), 'quorumkv_hints_pending', { target: 'n3' }) === 31, 5_000, { what: '31 hints for n3' });
    const after = await scrapeAll([0, 1]);
    expect(total(after, 'quorumkv_hints_pending_bytes', { target: 'n3' })).toBeGreaterThan(0);
    expect(total(after, 'quorumkv_hints_total', { event: 'stored' })).toBe(31);
    expect(total(after, 'quorumkv_noquorum_total', { reason: 'timeout' })).toBe(1);
    expect(total(after, 'quorumkv_noquorum_total', { reason: 'unavailable' })).toBe(2);
    expect(one(after[0], 'quorumkv_error_replies_total', { code: 'NOQUORUM' })).toBe(3);
    // The 30 writes ran at n1 or n2 (n3, down, executes nothing).
    expect(total(after, 'quorumkv_quorum_ok_total', { op: 'write' })).toBe(okBefore + 30);

    // n2's status page: n3 down; its own and n1's load (n1's asked over the bus) carry the
    // hints each keeps, as their metrics say; the hints n2 keeps for n3.
    const status = (await (await get(httpPorts[1], '/status.json')).json()) as {
      self: string;
      nodes: { id: string; state: string; self: boolean; load: { keys: number; hintsPending: number } | null; hints: { count: number } }[];
    };
    expect(status.self).toBe('n2');
    const byId = new Map(status.nodes.map((n) => [n.id, n]));
    expect(byId.get('n3')?.state).toBe('down');
    expect(byId.get('n1')?.state).toBe('up');
    expect(byId.get('n2')?.self).toBe(true);
    for (const [i, id] of [[0, 'n1'], [1, 'n2']] as const) {
      expect(byId.get(id)?.load?.hintsPending, `hints ${id} holds`).toBe(one(after[i], 'quorumkv_hints_pending', { target: 'n3' }));
      expect(byId.get(id)?.load?.keys, `keys of ${id}`).toBe(one(after[i], 'quorumkv_keys', { db: '0' }));
    }
    expect(byId.get('n3')?.hints.count).toBe(one(after[1], 'quorumkv_hints_pending', { target: 'n3' }));
  });

  it('the node back: up again, hints drain to 0, all replayed; every node\'s exposition is valid', async () => {
    process.kill(nodes[2].pid, 'SIGCONT');
    stopped = false;
    await waitFor(
      async () => {
        const ms = await scrapeAll([0, 1]);
        return ms.every((m) => one(m, 'quorumkv_peer_up', { peer: 'n3' }) === 1) && total(ms, 'quorumkv_hints_pending', { target: 'n3' }) === 0;
      },
      20_000,
      { intervalMs: 100, what: 'n3 up and its hints replayed' },
    ).catch((err: Error) => {
      throw new Error(err.message + logs(nodes, IDS));
    });
    const ms = await scrapeAll();
    expect(total(ms.slice(0, 2), 'quorumkv_hints_total', { event: 'replayed' })).toBe(31);
    expect(total(ms.slice(0, 2), 'quorumkv_hints_total', { event: 'dropped' })).toBe(0);
    // scrapeAll parsed every line of each; the families are all there.
    for (const m of ms) {
      for (const family of ['quorumkv_commands_total', 'quorumkv_bus_requests_total', 'quorumkv_repair_state', 'quorumkv_transfers', 'quorumkv_record_cache_hit_ratio', 'quorumkv_engine_bytes', 'nodejs_heap_size_used_bytes']) {
        expect(m.types.has(family), family).toBe(true);
      }
      expect(one(m, 'quorumkv_repair_state', { state: 'idle' })).toBe(1);
      expect(one(m, 'quorumkv_transfer_progress_ratio')).toBe(1);
    }
    const c3 = await connect(nodes[2].port);
    try {
      expect(await c3.call('RING', 'LOCAL', 'd:0')).not.toBeNull();
    } finally {
      c3.disconnect();
    }
  });
});
