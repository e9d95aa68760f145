/**
 * Pub/sub on one connection (what needs several connections is in scenarios/pubsub.ts):
 * PUBLISH and SPUBLISH with nobody listening, PUBSUB introspection and its errors, arity
 * errors, COMMAND INFO / DOCS of the pub/sub commands, notify-keyspace-events and
 * client-output-buffer-limit through CONFIG, in RESP2 and RESP3.
 */
import { script, varying, type Script } from '../script';

/** PUBSUB itself is left out: Redis lists a container's subcommands in hash order, which varies per process. */
const NAMES = ['subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe', 'publish', 'ssubscribe', 'sunsubscribe', 'spublish'];

export const pubsubScripts: Script[] = [
  script('pubsub: PUBLISH, SPUBLISH and PUBSUB with nobody subscribed', [
    ['PUBLISH', 'ch', 'hello'],
    ['PUBLISH', '', ''],
    ['SPUBLISH', 'ch', 'hello'],
    ['PUBSUB', 'CHANNELS'],
    ['PUBSUB', 'CHANNELS', '*'],
    ['PUBSUB', 'SHARDCHANNELS'],
    ['PUBSUB', 'NUMSUB'],
    ['PUBSUB', 'NUMSUB', 'a', 'b', 'a'],
    ['PUBSUB', 'SHARDNUMSUB', 'a'],
    ['PUBSUB', 'NUMPAT'],
    ['PUBSUB', 'HELP'],
    ['pubsub', 'numpat'],
    ['PUBSUB'],
    ['PUBSUB', 'nope'],
    ['PUBSUB', 'CHANNELS', 'a', 'b'],
    ['PUBSUB', 'NUMPAT', 'x'],
    ['PUBLISH'],
    ['PUBLISH', 'a'],
    ['SPUBLISH', 'a', 'b', 'c'],
    ['SUBSCRIBE'],
    ['PSUBSCRIBE'],
    ['SSUBSCRIBE'],
    varying(['id'], 'HELLO', '3'),
    ['PUBSUB', 'NUMSUB', 'a'],
    ['PUBSUB', 'CHANNELS'],
    ['PUBLISH', 'ch', 'x'],
  ]),

  script('pubsub: COMMAND INFO and DOCS', [
    ['COMMAND', 'INFO', ...NAMES],
    ['COMMAND', 'DOCS', ...NAMES],
    ['COMMAND', 'INFO', 'pubsub|channels', 'pubsub|numsub', 'pubsub|numpat', 'pubsub|shardchannels', 'pubsub|shardnumsub', 'pubsub|help'],
    ['COMMAND', 'DOCS', 'pubsub|channels', 'pubsub|numsub', 'pubsub|numpat', 'pubsub|shardchannels', 'pubsub|shardnumsub', 'pubsub|help'],
  ]),

  script('pubsub: CONFIG of notify-keyspace-events and client-output-buffer-limit', [
    ['CONFIG', 'GET', 'notify-keyspace-events'],
    ['CONFIG', 'SET', 'notify-keyspace-events', 'Elg'],
    ['CONFIG', 'GET', 'notify-keyspace-events'],
    ['CONFIG', 'SET', 'notify-keyspace-events', 'x!'],
    ['CONFIG', 'GET', 'notify-keyspace-events'],
    ['CONFIG', 'SET', 'notify-keyspace-events', ''],
    ['CONFIG', 'GET', 'client-output-buffer-limit'],
    ['CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 64mb 16mb 120'],
    ['CONFIG', 'GET', 'client-output-buffer-limit'],
    ['CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 64mb 16mb 120 normal'],
    ['CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 32mb 8mb 60'],
    ['CONFIG', 'GET', 'client-output-buffer-limit'],
  ]),
];
