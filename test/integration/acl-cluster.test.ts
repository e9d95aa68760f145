/**
 * ACL in a 3-node cluster with N = 1 (real processes, memory engine), so most keys are
 * owned by a node other than the one the client talks to:
 * - ACL SETUSER / DELUSER on node 1 reach nodes 2 and 3 (bus verb acl);
 * - a user allowed only ~app:* is refused a key outside it through a node that does not
 *   own the key (checked at the client's node), and served a key inside it, forwarded to
 *   the owner (which checks again with the same user);
 * - a script run at another node's primary cannot touch a key outside the pattern: its
 *   declared key is allowed, the key it reaches inside the script is refused by the
 *   executor with Redis's script error text;
 * - the executor checks with its own copy of the user: a user the executor does not know
 *   is allowed nothing there;
 * - a node restarted without the ACL (memory engine) gets it again from the others.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Redis from 'ioredis';
import { connect, FAST_GOSSIP, startCluster, waitAllUp, type StartedCluster } from '../support/cluster';
import { startQuorumkv, stopAll, waitFor, errorOf } from '../support/servers';

let cluster: StartedCluster;
let admins: Redis[];

beforeAll(async () => {
  cluster = await startCluster(3, { args: [...FAST_GOSSIP, '--engine', 'memory', '--replicas', '1', '--write-quorum', '1', '--read-quorum', '1'] });
  admins = await Promise.all(cluster.nodes.map((p) => connect(p.port)));
  await waitAllUp(admins, cluster.ids, 20_000);
}, 60_000);

afterAll(async () => {
  for (const c of admins ?? []) c.disconnect();
  await stopAll();
});

async function ownerOf(key: string): Promise<number> {
  const owners = (await admins[0].call('RING', 'OWNERS', key)) as string[];
  return cluster.ids.indexOf(owners[0]);
}

/** A key matching `make(i)` whose owner is not node `not`. */
async function keyNotOn(not: number, make: (i: number) => string): Promise<string> {
  for (let i = 0; i < 500; i++) {
    const k = make(i);
    if ((await ownerOf(k)) !== not) return k;
  }
  throw new Error('no such key');
}

async function aclLists(): Promise<string[][]> {
  return Promise.all(admins.map(async (c) => (await c.call('ACL', 'LIST')) as string[]));
}

describe('ACL in a cluster', () => {
  it('ACL SETUSER and DELUSER on node 1 reach nodes 2 and 3', async () => {
    expect(await admins[0].call('ACL', 'SETUSER', 'app', 'on', '>apppass', '~app:*', '+@all', '-flushall')).toBe('OK');
    expect(await admins[0].call('ACL', 'SETUSER', 'gone', 'on', 'nopass')).toBe('OK');
    const want = (await admins[0].call('ACL', 'LIST')) as string[];
    expect(want.some((l) => l.startsWith('user app on #'))).toBe(true);
    await waitFor(async () => (await aclLists()).every((l) => JSON.stringify(l) === JSON.stringify(want)), 5000, { what: 'the ACL on every node' });
    expect(await admins[2].call('ACL', 'DELUSER', 'gone')).toBe(1);
    await waitFor(async () => (await aclLists()).every((l) => !l.some((x) => x.startsWith('user gone'))), 5000, { what: 'DELUSER on every node' });
  }, 30_000);

  it('checks keys at the client node and at the owner', async () => {
    const app = await connect(cluster.nodes[0].port, { username: 'app', password: 'apppass' });
    const inside = await keyNotOn(0, (i) => `app:${i}`);
    const outside = await keyNotOn(0, (i) => `other:${i}`);
    expect(await app.set(inside, 'v')).toBe('OK');
    expect(await app.get(inside)).toBe('v');
    expect(await errorOf(app.set(outside, 'v'))).toBe('NOPERM this user has no permissions to access one of the keys used as arguments');
    expect(await errorOf(app.flushall())).toBe("NOPERM this user has no permissions to run the 'flushall' command");
    expect(await admins[0].exists(outside)).toBe(0);
    // MULTI/EXEC of allowed keys runs at their primary.
    const r = await app.multi().set(inside, 'w').get(inside).exec();
    expect(r).toEqual([[null, 'OK'], [null, 'w']]);
    app.disconnect();
  }, 30_000);

  it("a script at another node's primary cannot touch keys outside the pattern", async () => {
    const app = await connect(cluster.nodes[0].port, { username: 'app', password: 'apppass' });
    // The same hash tag: one replica set, owned by a node other than node 1.
    let tag = '';
    for (let i = 0; i < 500 && tag === ''; i++) if ((await ownerOf(`app:{t${i}}`)) !== 0) tag = `t${i}`;
    expect(tag).not.toBe('');
    const declared = `app:{${tag}}`;
    const hidden = `other:{${tag}}`;
    await admins[0].set(hidden, 'secret');
    expect(await app.eval("redis.call('set', KEYS[1], 'x'); return redis.call('get', KEYS[1])", 1, declared)).toBe('x');
    const err = await errorOf(app.eval("return redis.call('get', 'other:{" + tag + "}')", 1, declared));
    expect(err).toMatch(/^ERR The user executing the script can't access at least one of the keys mentioned in the command arguments script: /);
    expect(await app.eval("return redis.pcall('set', 'other:{" + tag + "}', 'y')['err']", 1, declared)).toBe(
      "ERR The user executing the script can't access at least one of the keys mentioned in the command arguments",
    );
    expect(await admins[0].get(hidden)).toBe('secret');
    app.disconnect();
  }, 30_000);

  it('a node that restarts without the ACL gets it again from the others', async () => {
    const want = (await admins[0].call('ACL', 'LIST')) as string[];
    const old = cluster.nodes[2];
    admins[2].disconnect();
    await old.stop();
    const again = await startQuorumkv(cluster.nodeArgs[2], { dir: old.dir, port: old.port });
    cluster.nodes[2] = again;
    admins[2] = await connect(again.port);
    await waitFor(async () => JSON.stringify(await admins[2].call('ACL', 'LIST')) === JSON.stringify(want), 30_000, { what: 'the ACL on the restarted node' });
  }, 60_000);
});
