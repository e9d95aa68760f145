/**
 * Introspection in a cluster (docs/commands.md). MONITOR: a monitor on a node sees the commands
 * that node runs for other nodes (forwarded to it as the key's primary), with the address
 * of the forwarding node's bus connection in place of the client's, and the commands scripts run
 * there as `[db lua]`. The node the client talks to shows the client's own line. A cluster
 * EXEC counts its queued commands at the client's node. CLIENT REPLY works in the cluster
 * pipeline. CLIENT TRACKING is invalidated for keys its node replicates, not for others.
 *
 * 3 nodes, memory engine, replicas 1: every key has one owner.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Redis from 'ioredis';
import { connect, FAST_GOSSIP, startCluster, waitAllUp, type StartedCluster } from '../support/cluster';
import { stopAll, waitFor } from '../support/servers';
import { RawClient } from '../support/raw-client';

let cluster: StartedCluster | undefined;
let clients: Redis[] = [];
const monitors: RawClient[] = [];

beforeAll(async () => {
  cluster = await startCluster(3, { args: [...FAST_GOSSIP, '--engine', 'memory', '--replicas', '1', '--write-quorum', '1', '--read-quorum', '1'] });
  clients = await Promise.all(cluster.nodes.map((p) => connect(p.port)));
  await waitAllUp(clients, cluster.ids, 20_000);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.disconnect();
  for (const m of monitors) m.close();
  await cluster?.stop();
  await stopAll();
});

/** MONITOR on node i; its lines collect in the returned array. */
async function monitor(i: number): Promise<string[]> {
  const m = await RawClient.connect(cluster!.nodes[i].port, { timeoutMs: 10_000 });
  monitors.push(m);
  expect((await m.send('MONITOR')).toString()).toBe('+OK\r\n');
  const lines: string[] = [];
  void (async () => {
    for (;;) {
      try {
        lines.push((await m.readFrame()).toString('latin1'));
      } catch {
        return;
      }
    }
  })();
  return lines;
}

describe('MONITOR in a cluster', () => {
  it('a node shows the commands it runs for other nodes, and those of scripts run there', async () => {
    const lines = await Promise.all([0, 1, 2].map(monitor));
    const owners: number[] = [];
    const keys = Array.from({ length: 12 }, (_, i) => `mk${i}`);
    for (const k of keys) {
      const o = (await clients[0].call('RING', 'OWNERS', k)) as string[];
      owners.push(cluster!.ids.indexOf(o[0]));
      await clients[0].set(k, 'v');
    }
    const remote = keys.filter((_, i) => owners[i] !== 0);
    expect(remote.length).toBeGreaterThan(0);
    await waitFor(() => remote.every((k) => lines[owners[keys.indexOf(k)]].some((l) => l.includes(`"set" "${k}" "v"`))), 10_000, { what: 'forwarded SETs on their owners' });
    for (const k of remote) {
      const line = lines[owners[keys.indexOf(k)]].find((l) => l.includes(`"set" "${k}" "v"`))!;
      // The forwarding node's bus connection, as ip:port (client libraries split it so).
      expect(line).toMatch(new RegExp(`^\\+\\d+\\.\\d{6} \\[0 127\\.0\\.0\\.1:\\d+\\] "set" "${k}" "v"\\r\\n$`));
    }
    // The client's node shows every command with the client's address.
    for (const k of keys) expect(lines[0].some((l) => /\[0 127\.0\.0\.1:\d+\] "set"/.test(l) && l.includes(`"${k}"`))).toBe(true);

    // A script whose key lives on another node runs there: its commands show as [0 lua].
    const k = remote[0];
    const owner = owners[keys.indexOf(k)];
    await clients[0].eval("return redis.call('get', KEYS[1])", 1, k);
    await waitFor(() => lines[owner].some((l) => l.includes(`[0 lua] "get" "${k}"`)), 10_000, { what: 'the script command on the owner' });
  });

  it('a cluster EXEC counts its queued commands at the client\'s node (commandstats, errorstats)', async () => {
    const c = clients[0];
    await c.call('CONFIG', 'RESETSTAT');
    const multi = c.multi();
    multi.set('{tx}a', '1');
    multi.incr('{tx}a');
    multi.lpush('{tx}a', 'x');
    await multi.exec();
    const info = (await c.call('INFO', 'commandstats', 'errorstats')) as string;
    const stat = (name: string): string | undefined => /(calls=\d+),usec=\d+,usec_per_call=[\d.]+,(rejected_calls=\d+,failed_calls=\d+)/.exec(info.split('\r\n').find((l) => l.startsWith(`cmdstat_${name}:`)) ?? '')?.slice(1).join(',');
    expect(stat('set')).toBe('calls=1,rejected_calls=0,failed_calls=0');
    expect(stat('incr')).toBe('calls=1,rejected_calls=0,failed_calls=0');
    expect(stat('lpush')).toBe('calls=1,rejected_calls=0,failed_calls=1');
    expect(stat('exec')).toBe('calls=1,rejected_calls=0,failed_calls=0');
    expect(info).toContain('errorstat_WRONGTYPE:count=1');
  });

  it('CLIENT REPLY OFF / SKIP / ON in the cluster pipeline', async () => {
    const c = await RawClient.connect(cluster!.nodes[0].port, { timeoutMs: 5000 });
    monitors.push(c);
    // Sent in one write: the replies of OFF..ON are dropped, ON answers +OK, SKIP drops one.
    const replies = await c.sendRaw(
      ['CLIENT REPLY OFF', 'SET rk1 a', 'GET rk1', 'NOSUCH', 'CLIENT REPLY ON', 'CLIENT REPLY SKIP', 'GET rk1', 'GET rk1'].map((l) => `${l}\r\n`).join(''),
      2,
    );
    expect(replies.map((b) => b.toString())).toEqual(['+OK\r\n', '$1\r\na\r\n']);
    await new Promise((r) => setTimeout(r, 100));
    expect(c.pollFrame()).toBeNull();
  });

  it('CLIENT TRACKING on a node: invalidated by writes through any node for keys it replicates', async () => {
    const t = await RawClient.connect(cluster!.nodes[0].port, { timeoutMs: 5000 });
    monitors.push(t);
    await t.send('HELLO', '3');
    expect((await t.send('CLIENT', 'TRACKING', 'ON')).toString()).toBe('+OK\r\n');
    // A key node 0 owns, and one it does not.
    let mine = '';
    let other = '';
    for (let i = 0; mine === '' || other === ''; i++) {
      const k = `tk${i}`;
      const o = (await clients[0].call('RING', 'OWNERS', k)) as string[];
      if (o[0] === cluster!.ids[0]) mine ||= k;
      else other ||= k;
    }
    await t.send('GET', mine);
    await t.send('GET', other);
    await clients[1].set(mine, 'x'); // through another node: runs at node 0, the owner
    const push = (await t.readFrame()).toString();
    expect(push).toBe(`>2\r\n$10\r\ninvalidate\r\n*1\r\n$${mine.length}\r\n${mine}\r\n`);
    await clients[0].set(other, 'y'); // runs at its owner: node 0 holds no copy, hears nothing
    await new Promise((r) => setTimeout(r, 200));
    expect(t.pollFrame()).toBeNull();
  });
});
