/**
 * Lua scripts and functions in a 4-node cluster with N = 2 (real processes, memory engine):
 * - a script whose declared keys have different replica sets gets CROSSSLOT;
 * - a script sent through a node that holds none of its keys runs at their primary, and
 *   its writes reach every replica as effects: each owner's own copy (RING LOCAL) is the
 *   same, and every node reads the result;
 * - a script touching a key outside its declared keys' replica set, or a keyless script
 *   touching any key, errors as Redis Cluster does;
 * - SCRIPT LOAD on one node, then EVALSHA on another works (also at once, before the
 *   broadcast could arrive: the body travels with the forwarded command);
 * - a function loaded on one node is callable on every other, and after a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Redis from 'ioredis';
import { connect, FAST_GOSSIP, logs, startCluster, waitAllUp, type StartedCluster } from '../support/cluster';
import { startQuorumkv, stopAll, waitFor, errorOf } from '../support/servers';

const UP_TIMEOUT_MS = 20_000;
let cluster: StartedCluster;
let clients: Redis[];

beforeAll(async () => {
  cluster = await startCluster(4, { args: [...FAST_GOSSIP, '--engine', 'memory', '--replicas', '2'] });
  clients = await Promise.all(cluster.nodes.map((p) => connect(p.port)));
  await waitAllUp(clients, cluster.ids, UP_TIMEOUT_MS);
}, 60_000);

afterAll(async () => {
  for (const c of clients ?? []) c.disconnect();
  await stopAll();
});

async function owners(key: string): Promise<string[]> {
  return (await clients[0].call('RING', 'OWNERS', key)) as string[];
}

/** Index of a node that is not among the owners. */
function outsider(own: string[]): number {
  const i = cluster.ids.findIndex((id) => !own.includes(id));
  expect(i).toBeGreaterThanOrEqual(0);
  return i;
}

describe('scripts in a cluster', () => {
  it('refuses declared keys of different replica sets with CROSSSLOT', async () => {
    const a = 'x:a';
    const oa = await owners(a);
    let b = '';
    for (let i = 0; i < 200 && b === ''; i++) {
      const o = await owners(`x:${i}`);
      if ([...o].sort().join() !== [...oa].sort().join()) b = `x:${i}`;
    }
    expect(b).not.toBe('');
    expect(await errorOf(clients[0].eval('return 1', 2, a, b))).toBe("CROSSSLOT Keys in request don't hash to the same slot");
    expect(await errorOf(clients[1].call('EVAL_RO', 'return 1', '2', a, b))).toBe("CROSSSLOT Keys in request don't hash to the same slot");
  });

  it('runs a script through a node holding none of its keys and replicates its writes as effects', async () => {
    const k1 = '{t}one';
    const k2 = '{t}two';
    const own = await owners(k1);
    expect(await owners(k2)).toEqual(own);
    const via = clients[outsider(own)];
    const r = await via.eval("redis.call('set', KEYS[1], ARGV[1]) redis.call('rpush', KEYS[2], 'a', 'b') return redis.call('incr', KEYS[1] .. ':n')", 2, k1, k2, 'v1').catch((e: Error) => e.message);
    // KEYS[1]..':n' is another key: fine only if it shares the replica set.
    const n = '{t}one:n';
    expect(await owners(n)).toEqual(own);
    expect(r).toBe(1);
    const again = await via.eval("return {redis.call('incr', KEYS[1]), redis.call('get', KEYS[2])}", 2, n, k1);
    expect(again).toEqual([2, 'v1']);
    // Every owner holds the same copy of each key; every node reads the result.
    for (const key of [k1, k2, n]) {
      const copies = await Promise.all(own.map((id) => clients[cluster.ids.indexOf(id)].call('RING', 'LOCAL', key)));
      expect(copies[0]).not.toBeNull();
      for (const c of copies) expect(c).toEqual(copies[0]);
    }
    for (const c of clients) {
      expect(await c.get(k1)).toBe('v1');
      expect(await c.lrange(k2, 0, -1)).toEqual(['a', 'b']);
      expect(await c.get(n)).toBe('2');
    }
  });

  it('refuses keys outside the declared replica set, and keys in keyless scripts', async () => {
    const k = 'y:a';
    const ok = await owners(k);
    let other = '';
    for (let i = 0; i < 200 && other === ''; i++) {
      const o = await owners(`y:${i}`);
      if ([...o].sort().join() !== [...ok].sort().join()) other = `y:${i}`;
    }
    const msg = await errorOf(clients[0].eval("return redis.call('get', ARGV[1])", 1, k, other));
    expect(msg).toMatch(/^ERR Script attempted to access a non local key in a cluster node script: [0-9a-f]{40}, on @user_script:1\.$/);
    const keyless = await errorOf(clients[0].eval("return redis.call('get', 'y:a')", 0));
    expect(keyless).toMatch(/^ERR Script attempted to access a non local key in a cluster node/);
    expect(await clients[2].eval("return redis.call('ping')", 0)).toBe('PONG');
    // A shebang script without allow-cross-slot-keys: Redis's other message.
    const strict = await errorOf(clients[0].eval("#!lua\nreturn redis.call('get', ARGV[1])", 1, k, other));
    expect(strict).toMatch(/^ERR Script attempted to access keys that do not hash to the same slot/);
  });

  it('EVALSHA on another node after SCRIPT LOAD', async () => {
    const body = "return redis.call('incrby', KEYS[1], ARGV[1])";
    const sha = (await clients[0].call('SCRIPT', 'LOAD', body)) as string;
    // At once, through another node: works whether or not the broadcast has arrived.
    expect(await clients[1].evalsha(sha, 1, 'z:1', '5')).toBe(5);
    await waitFor(async () => ((await clients[3].call('SCRIPT', 'EXISTS', sha)) as number[])[0] === 1, 5000, { what: 'SCRIPT LOAD broadcast' });
    for (const c of clients) expect(((await c.call('SCRIPT', 'EXISTS', sha)) as number[])[0]).toBe(1);
    expect(await clients[3].evalsha(sha, 1, 'z:1', '1')).toBe(6);
    await clients[2].call('SCRIPT', 'FLUSH');
    await waitFor(async () => ((await clients[0].call('SCRIPT', 'EXISTS', sha)) as number[])[0] === 0, 5000, { what: 'SCRIPT FLUSH broadcast' });
  });

  it('a function loaded on one node is callable on every node, and after a restart', async () => {
    const lib = "#!lua name=clib\nredis.register_function('cadd', function(keys, args) return redis.call('incrby', keys[1], args[1]) end)\nredis.register_function{function_name='cget', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}";
    expect(await clients[0].call('FUNCTION', 'LOAD', lib)).toBe('clib');
    await waitFor(async () => ((await clients[3].call('FUNCTION', 'LIST')) as unknown[]).length === 1, 5000, { what: 'FUNCTION LOAD broadcast' });
    for (let i = 0; i < clients.length; i++) expect(await clients[i].call('FCALL', 'cadd', '1', 'f:1', '2')).toBe(2 * (i + 1));
    expect(await clients[2].call('FCALL', 'cget', '1', 'f:1')).toBe('8');
    expect(await clients[1].call('FCALL_RO', 'cget', '1', 'f:1')).toBe('8');

    // Restart node 4: its libraries come back from its dir.
    const i = 3;
    clients[i].disconnect();
    const old = cluster.nodes[i];
    await old.stop();
    cluster.nodes[i] = await startQuorumkv(cluster.nodeArgs[i], { dir: old.dir, port: old.port });
    clients[i] = await connect(old.port);
    await waitAllUp(clients, cluster.ids, UP_TIMEOUT_MS);
    expect(((await clients[i].call('FUNCTION', 'LIST')) as unknown[]).length).toBe(1);
    expect(await clients[i].call('FCALL', 'cadd', '1', 'f:1', '1')).toBe(9);

    await clients[1].call('FUNCTION', 'DELETE', 'clib');
    await waitFor(async () => ((await clients[i].call('FUNCTION', 'LIST')) as unknown[]).length === 0, 5000, { what: 'FUNCTION DELETE broadcast' });
    expect(await errorOf(clients[0].call('FCALL', 'cadd', '1', 'f:1', '1'))).toBe('ERR Function not found');
  }, 60_000);

  it('a busy script refuses commands forwarded to its node, until SCRIPT KILL', async () => {
    // A key whose primary is n1 and that n2 does not hold: n2 forwards its writes to n1.
    let key = '';
    for (let i = 0; i < 500 && key === ''; i++) {
      const o = await owners(`b:${i}`);
      if (o[0] === 'n1' && !o.includes('n2')) key = `b:${i}`;
    }
    expect(key).not.toBe('');
    const admin = await connect(cluster.nodes[0].port);
    try {
      await admin.call('CONFIG', 'SET', 'busy-reply-threshold', '50');
      const running = clients[0].eval('local i = 0 while true do i = i + 1 end', 0).catch((e: Error) => e.message);
      await waitFor(async () => (await errorOf(admin.ping())).startsWith('BUSY'), 5000, { what: 'the script to time out' });
      expect(await errorOf(clients[1].incr(key))).toBe('BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.');
      expect(await admin.call('SCRIPT', 'KILL')).toBe('OK');
      expect(await running).toMatch(/^ERR Script killed by user with SCRIPT KILL\.\.\./);
      expect(await clients[1].incr(key)).toBe(1);
    } finally {
      await admin.call('CONFIG', 'SET', 'busy-reply-threshold', '5000');
      admin.disconnect();
    }
  });

  it('shows the nodes\' logs on failure', () => {
    expect(cluster.nodes.every((p) => !p.exited), logs(cluster.nodes, cluster.ids)).toBe(true);
  });
});
