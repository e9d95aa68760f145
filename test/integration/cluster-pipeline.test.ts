/**
 * Pipelining through a cluster node: commands of one pipeline may wait on other nodes at
 * the same time, but the replies come back in order and every command sees the effect of
 * the earlier ones on the same key, exactly as one Redis would answer the same pipeline.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startRedis, stopAll } from '../support/servers';
import { connect, FAST_GOSSIP, startCluster, waitAllUp } from '../support/cluster';

afterAll(async () => {
  await stopAll();
});

describe('pipelines through a 3-node cluster', () => {
  it('answer in order with the same replies as redis-server', async () => {
    const cluster = await startCluster(3, { args: [...FAST_GOSSIP, '--engine', 'memory'] });
    await waitAllUp(cluster.nodes, cluster.ids, 20_000);
    const redis = await startRedis();
    const ours = await connect(cluster.nodes[0].port);
    const theirs = await connect(redis.port);
    const build = (c: typeof ours): ReturnType<typeof ours.pipeline> => {
      const p = c.pipeline();
      for (let i = 0; i < 40; i++) {
        const k = `k${i % 7}`;
        p.set(k, `v${i}`);
        p.get(k);
        p.append(k, '+');
        p.incr(`n${i % 3}`);
        p.getset(k, `w${i}`);
        p.exists(k, `k${(i + 1) % 7}`);
        if (i % 10 === 9) {
          p.mget('k0', 'k1', 'k2', 'n0', 'n1');
          p.dbsize();
          p.select(i % 2);
          p.set('perdb', String(i));
          p.get('perdb');
          p.del(`k${i % 7}`, 'n2');
        }
      }
      p.select(0);
      return p;
    };
    const got = (await build(ours).exec()) ?? [];
    const want = (await build(theirs).exec()) ?? [];
    expect(got.length).toBe(want.length);
    expect(got).toEqual(want);
    ours.disconnect();
    theirs.disconnect();
    await cluster.stop();
  });
});
