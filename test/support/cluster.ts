/**
 * Clusters of real quorumkv processes on 127.0.0.1 for the integration tests, built on
 * servers.ts: start N nodes (ids n1..nN) on free bus ports that seed each other, read
 * RING NODES, wait until every member is up (polled with a bound, never slept), connect
 * ioredis clients that fail fast instead of retrying, and dump node logs on failure.
 */
import Redis, { type RedisOptions } from 'ioredis';
import { freePort, startQuorumkv, waitFor, type QuorumkvProcess } from './servers';

/** Gossip fast enough for tests: a node is marked down about a second after it dies. */
export const FAST_GOSSIP = ['--gossip-interval', '100ms', '--fail-timeout', '1s'] as const;

/**
 * An ioredis client on 127.0.0.1:`port` that fails fast: no reconnects, no queued retries,
 * connection errors surface as rejected commands rather than unhandled 'error' events.
 */
export async function connect(port: number, opts: RedisOptions = {}): Promise<Redis> {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...opts });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

/** One row of RING NODES (id, address, bus-address, state, generation, self, ...). */
export type NodeRow = Record<string, unknown>;

type Flat = (string | number | null | Flat)[];

/** Where to ask: a client port, a started node, or an open client (used as is, kept open). */
export type RingTarget = number | Pick<QuorumkvProcess, 'port'> | Redis;

/** A map reply (a flat name, value, ... array in RESP2) as an object. */
export function fieldsOf(flat: readonly unknown[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[String(flat[i])] = flat[i + 1];
  return o;
}

/** RING NODES as objects; a port or node is asked over a fresh connection, closed after. */
export async function ringNodes(target: RingTarget): Promise<NodeRow[]> {
  const ask = async (c: Redis): Promise<NodeRow[]> => ((await c.call('RING', 'NODES')) as Flat[]).map(fieldsOf);
  if (target instanceof Redis) return ask(target);
  const c = await connect(typeof target === 'number' ? target : target.port);
  try {
    return await ask(c);
  } finally {
    c.disconnect();
  }
}

/** The ids `target` sees up, sorted. */
export async function upIds(target: RingTarget): Promise<string[]> {
  return (await ringNodes(target)).filter((r) => r.state === 'up').map((r) => String(r.id)).sort();
}

/**
 * Wait (polling every 50 ms) until `target` sees exactly `ids` up (the others, if any, down)
 * and each of them normal (a new cluster's nodes start joining and turn normal at once).
 */
export function waitUp(target: RingTarget, ids: readonly string[], timeoutMs: number, what: string): Promise<void> {
  const want = JSON.stringify([...ids].sort());
  return waitFor(
    async () => {
      const rows = await ringNodes(target);
      const up = rows.filter((r) => r.state === 'up').map((r) => String(r.id)).sort();
      return JSON.stringify(up) === want && rows.filter((r) => ids.includes(String(r.id))).every((r) => r.status === 'normal');
    },
    timeoutMs,
    { intervalMs: 50, what },
  );
}

/** Wait in parallel until each of `targets` (in the order of `ids`) sees all of `ids` up; `what(i)` names target i. */
export async function waitAllUp(
  targets: readonly RingTarget[],
  ids: readonly string[],
  timeoutMs: number,
  what = (i: number): string => `${ids[i]} to see ${JSON.stringify([...ids].sort())} up`,
): Promise<void> {
  await Promise.all(targets.map((t, i) => waitUp(t, ids, timeoutMs, what(i))));
}

export interface StartClusterOptions {
  /** Directives for every node, before its own --bus-port, --node-id and --seeds. */
  args?: readonly string[];
  /** Directives for every node, after --seeds. */
  extraArgs?: readonly string[];
  /** Directives for node i alone (its dc, rack...), last. */
  perNode?: (i: number) => readonly string[];
  /** How many of the bus addresses (from n1 on) go into --seeds; default all of them. */
  seeds?: number;
  /** Start the nodes one after another instead of all at once. */
  sequential?: boolean;
}

export interface StartedCluster {
  /** Node i has id ids[i] and bus port busPorts[i]. */
  nodes: QuorumkvProcess[];
  busPorts: number[];
  ids: string[];
  /** Each node's argv, to restart it with `startQuorumkv(nodeArgs[i], { dir, port })`. */
  nodeArgs: string[][];
  /** SIGTERM every node (those in `nodes` when called). */
  stop(): Promise<void>;
}

/**
 * Start n nodes (ids n1..nN) on free bus ports, each seeded with the bus addresses of the
 * first `seeds` nodes. Does not wait for membership: follow with `waitAllUp`.
 */
export async function startCluster(n: number, opts: StartClusterOptions = {}): Promise<StartedCluster> {
  const busPorts: number[] = [];
  for (let i = 0; i < n; i++) busPorts.push(await freePort());
  const seeds = ['--seeds', ...busPorts.slice(0, opts.seeds ?? n).map((p) => `127.0.0.1:${p}`)];
  const ids = busPorts.map((_, i) => `n${i + 1}`);
  const nodeArgs = ids.map((id, i) => [
    ...(opts.args ?? []), '--bus-port', String(busPorts[i]), '--node-id', id, ...seeds, ...(opts.extraArgs ?? []), ...(opts.perNode?.(i) ?? []),
  ]);
  const nodes: QuorumkvProcess[] = [];
  if (opts.sequential) {
    for (const args of nodeArgs) nodes.push(await startQuorumkv(args));
  } else {
    nodes.push(...(await Promise.all(nodeArgs.map((args) => startQuorumkv(args)))));
  }
  return {
    nodes,
    busPorts,
    ids,
    nodeArgs,
    stop: async () => {
      await Promise.all(nodes.map((p) => p.stop()));
    },
  };
}

/** On failure, the tail of every node's log (a crash shows up here); node i is named ids[i]. */
export function logs(nodes: readonly QuorumkvProcess[], ids: readonly string[]): string {
  return nodes
    .map((p, i) => `\n--- ${ids[i]} (pid ${p.pid}${p.exited ? ', EXITED' : ''}) ---\n${p.output().slice(-3000)}`)
    .join('');
}
