/**
 * The benchmark tests: what `--tests NAME,...` can name.
 *
 * A name in `CUSTOM_TESTS` runs that command line through redis-benchmark (its trailing
 * arguments, with `__rand_int__` replaced by a random 12-digit number per occurrence when
 * -r is given); any other name is passed to redis-benchmark as `-t NAME` (set, get, incr,
 * lpush, mset, ...). Only `-t` tests get the "one key" runs (the same test without -r): a
 * custom command without -r would send the literal text `__rand_int__`, which says nothing
 * the random-key run does not.
 */
import type { BenchmarkSpec } from './redis-benchmark';

export interface BenchTest {
  /** As given in --tests, lowercase. */
  readonly name: string;
  /** redis-benchmark's trailing command and arguments; null: a `-t name` test. */
  readonly command: readonly string[] | null;
  /** Also run without -r, for the "one key" columns. */
  readonly oneKey: boolean;
  /** One line for the README and the output header. */
  readonly what: string;
}

/** The hash tests. Run them in this order: each HGET reads what the HSET before it wrote. */
export const CUSTOM_TESTS: readonly BenchTest[] = [
  {
    name: 'hset-big',
    command: ['HSET', 'myhash', '__rand_int__', '__rand_int__'],
    oneKey: false,
    what: 'one hash (myhash) growing by a random field per request',
  },
  {
    name: 'hget-big',
    command: ['HGET', 'myhash', '__rand_int__'],
    oneKey: false,
    what: 'a random field of that one big hash (hits only the fields hset-big wrote)',
  },
  {
    name: 'hset-small',
    command: ['HSET', 'h:__rand_int__', 'f', 'v'],
    oneKey: false,
    what: 'many small hashes: one field f in a random hash h:<n>',
  },
  {
    name: 'hget-small',
    command: ['HGET', 'h:__rand_int__', 'f'],
    oneKey: false,
    what: 'field f of a random small hash (hits only the hashes hset-small wrote)',
  },
  {
    name: 'xadd',
    command: ['XADD', 'stream:__rand_int__', '*', 'field', 'value'],
    oneKey: false,
    what: 'many small streams: XADD * of one field to a random stream stream:<n>',
  },
  {
    name: 'xadd-one',
    command: ['XADD', 'mystream', '*', 'field', 'value'],
    oneKey: false,
    what: 'one stream (mystream) growing by one entry per request',
  },
];

export const DEFAULT_TESTS: readonly string[] = ['set', 'get', ...CUSTOM_TESTS.filter((t) => !t.name.startsWith('xadd')).map((t) => t.name)];

/** The test called `name`: a custom one from the table, else redis-benchmark's `-t name`. */
export function resolveTest(name: string): BenchTest {
  const custom = CUSTOM_TESTS.find((t) => t.name === name);
  if (custom !== undefined) return custom;
  if (!/^[a-z0-9_]+$/.test(name)) {
    throw new Error(`unknown test ${JSON.stringify(name)}: neither one of ${CUSTOM_TESTS.map((t) => t.name).join(', ')} nor a redis-benchmark -t name`);
  }
  return { name, command: null, oneKey: true, what: `redis-benchmark -t ${name}` };
}

/** redis-benchmark's spec for one run of `test`. */
export function specFor(test: BenchTest, run: { n: number; clients: number; pipeline: number; keyspace: number | null }): BenchmarkSpec {
  return test.command === null
    ? { test: test.name, n: run.n, clients: run.clients, pipeline: run.pipeline, keyspace: run.keyspace }
    : { test: null, command: test.command, n: run.n, clients: run.clients, pipeline: run.pipeline, keyspace: run.keyspace };
}

/** The label of a result row: redis-benchmark's name for `-t` tests (SET, "MSET (10 keys)"), ours for custom ones. */
export function rowLabel(test: BenchTest, benchmarkTest: string | null): string {
  return test.command === null ? (benchmarkTest ?? test.name.toUpperCase()) : test.name;
}
