/**
 * ACL (Redis 7.0.15): every ACL subcommand and its errors, bad rules, descriptions (ACL
 * LIST / GETUSER), AUTH and HELLO AUTH with users, NOPERM for commands, keys and channels
 * at top level, in MULTI and in scripts, ACL LOG (age-seconds and client-info masked),
 * requirepass as the default user's password, and a seeded random sequence of users and
 * ACL DRYRUN checks.
 *
 * Scripts declare their keys and reach others only with the same hash tag, so that every
 * step also passes through a cluster node (test/integration/cluster.test.ts).
 *
 * Every script ends where it began: back to the default user (RESET), its users deleted,
 * the log reset. Users here grant single commands only where ACL LIST / GETUSER is
 * compared: Redis lists single commands in its command dictionary's hash order, which
 * changes from one process to the next.
 */
import { prng } from '../../support/prng';
import { script, skipValue, varying, type Script, type StepInput } from '../script';
import { HELLO_VARY } from './connection';

const LOG_VARY = ['age-seconds', 'client-info'];
const log = (...args: string[]) => varying(LOG_VARY, 'ACL', 'LOG', ...args);
const cleanup = (...users: string[]): StepInput[] => [['RESET'], ['ACL', 'DELUSER', ...users], ['ACL', 'LOG', 'RESET'], ['ACL', 'LIST']];

const HASH = 'f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a';

export const aclScripts: Script[] = [
  script('acl: SETUSER rules and descriptions', [
    ['ACL', 'LIST'],
    ['ACL', 'USERS'],
    ['ACL', 'WHOAMI'],
    ['ACL', 'GETUSER', 'default'],
    ['ACL', 'GETUSER', 'nosuch'],
    ['ACL', 'SETUSER', 'u1'],
    ['ACL', 'GETUSER', 'u1'],
    ['ACL', 'SETUSER', 'u1', 'on', '>p1', '~app:*', '+get', '&ch*'],
    ['ACL', 'LIST'],
    ['ACL', 'GETUSER', 'u1'],
    ['ACL', 'SETUSER', 'u1', '>p2', '<p1', '#' + HASH, '!' + HASH],
    ['ACL', 'GETUSER', 'u1'],
    ['ACL', 'SETUSER', 'u1', 'nopass'],
    ['ACL', 'LIST'],
    ['ACL', 'SETUSER', 'u1', 'resetpass', 'off'],
    ['ACL', 'LIST'],
    ['ACL', 'SETUSER', 'u2', 'reset'],
    ['ACL', 'SETUSER', 'u3', 'on', 'nopass', 'allkeys', 'allchannels', 'allcommands'],
    ['ACL', 'SETUSER', 'u4', '~a', '%R~a', '%W~b', '%RW~c', '%R~*', '&x', '&x', '+@hash', '-@string', '+get'],
    ['ACL', 'SETUSER', 'u5', '+@all', '-get'],
    ['ACL', 'SETUSER', 'u6', '+@string', '-get'],
    ['ACL', 'SETUSER', 'u7', '+@all', '-@dangerous', 'nocommands', '+client|list'],
    ['ACL', 'SETUSER', 'u8', '+select|0', '%R'],
    ['ACL', 'SETUSER', 'u9', 'on', 'nopass', '(~x* +get)', '(%R~y* +@read &c)'],
    ['ACL', 'SETUSER', 'u10', 'skip-sanitize-payload', 'resetkeys', 'resetchannels', '~k', 'resetkeys'],
    ['ACL', 'SETUSER', 'u11', '(~z', '+set)', '(~w', '-@all', '+get)'],
    ['ACL', 'LIST'],
    ['ACL', 'USERS'],
    ['ACL', 'GETUSER', 'u4'],
    ['ACL', 'GETUSER', 'u9'],
    ['ACL', 'GETUSER', 'u11'],
    ['ACL', 'SETUSER', 'u9', 'clearselectors'],
    ['ACL', 'GETUSER', 'u9'],
    ['ACL', 'SETUSER', 'u12', '~a', '~b', '%RW~*', '&x', '&*', '+client', '-client|kill', '+config|get', '+select|1'],
    ['ACL', 'SETUSER', 'u13', '~a', '%RW~*', '~x', '&*', '&y'],
    // Redis lists single-command rules in its command dict's order, which is random per
    // process (the dict's hash seed): u12's rules name three commands, so only a user whose
    // rules name one command family is compared whole.
    ['ACL', 'SETUSER', 'u12b', '~a', '%RW~*', '+client', '-client|kill'],
    ['ACL', 'GETUSER', 'u12b'],
    ['ACL', 'DRYRUN', 'u12', 'client', 'list'],
    ['ACL', 'DRYRUN', 'u12', 'client', 'kill', 'x'],
    ['ACL', 'DRYRUN', 'u12', 'config', 'get', 'x'],
    ['ACL', 'DRYRUN', 'u12', 'config', 'set', 'x', 'y'],
    ['ACL', 'DRYRUN', 'u8', 'select', '0'],
    ['ACL', 'DRYRUN', 'u8', 'SELECT', '1'],
    ['ACL', 'DRYRUN', 'u8', 'ping'],
    ['ACL', 'SETUSER', 'u12', 'resetkeys', 'resetchannels', '%W~w*', '%R~r*', '~rw*', '+@all'],
    ['ACL', 'DRYRUN', 'u12', 'copy', 'r1', 'w1'],
    ['ACL', 'DRYRUN', 'u12', 'copy', 'w1', 'r1'],
    ['ACL', 'DRYRUN', 'u12', 'lmove', 'rw1', 'w1', 'left', 'right'],
    ['ACL', 'DRYRUN', 'u12', 'lmove', 'w1', 'rw1', 'left', 'right'],
    ['ACL', 'DRYRUN', 'u12', 'set', 'w1', 'v'],
    ['ACL', 'DRYRUN', 'u12', 'set', 'w1', 'v', 'get'],
    ['ACL', 'DRYRUN', 'u12', 'getdel', 'rw1'],
    ['ACL', 'DRYRUN', 'u12', 'getdel', 'r1'],
    ['ACL', 'DRYRUN', 'u12', 'sort', 'r1'],
    ['ACL', 'DRYRUN', 'u12', 'sort', 'r1', 'store', 'w1'],
    ['ACL', 'DRYRUN', 'u12', 'eval', 'return 1', '2', 'r1', 'w1'],
    ['ACL', 'DRYRUN', 'u12', 'eval', 'return 1', '1', 'rw1'],
    ['ACL', 'DRYRUN', 'u12', 'publish', 'c', 'm'],
    ['ACL', 'DRYRUN', 'u12', 'subscribe', 'c'],
    ['ACL', 'DRYRUN', 'u12', 'unsubscribe', 'c'],
    ['ACL', 'SETUSER', 'U1'],
    ['ACL', 'USERS'],
    ...cleanup('u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', 'u9', 'u10', 'u11', 'u12', 'u13', 'U1'),
  ]),

  script('acl: SETUSER errors', [
    ['ACL', 'SETUSER'],
    ['ACL', 'SETUSER', 'e1', 'foo'],
    ['ACL', 'SETUSER', 'e1', '+nosuch'],
    ['ACL', 'SETUSER', 'e1', '-nosuch'],
    ['ACL', 'SETUSER', 'e1', '+@nosuch'],
    ['ACL', 'SETUSER', 'e1', '-@nosuch'],
    ['ACL', 'SETUSER', 'e1', '#abc'],
    ['ACL', 'SETUSER', 'e1', '!' + HASH.toUpperCase()],
    ['ACL', 'SETUSER', 'e1', '%X~a'],
    ['ACL', 'SETUSER', 'e1', '%~a'],
    ['ACL', 'SETUSER', 'e1', '%'],
    ['ACL', 'SETUSER', 'e1', 'allkeys', '%R~a'],
    ['ACL', 'SETUSER', 'e1', 'allkeys', '~a'],
    ['ACL', 'SETUSER', 'e1', 'allchannels', '&x'],
    ['ACL', 'SETUSER', 'e1', '<nopw'],
    ['ACL', 'SETUSER', 'e1', '!' + HASH],
    ['ACL', 'SETUSER', 'e1', '+client|'],
    ['ACL', 'SETUSER', 'e1', '+client|nosuch'],
    ['ACL', 'SETUSER', 'e1', '+client|list|x'],
    ['ACL', 'SETUSER', 'e1', '+config|get|x'],
    ['ACL', 'SETUSER', 'e1', '+get|x'],
    ['ACL', 'SETUSER', 'a b'],
    ['ACL', 'SETUSER', 'e2', '(~z'],
    ['ACL', 'SETUSER', 'e2', '(~z', '+get'],
    ['ACL', 'SETUSER', 'e2', '(on)'],
    ['ACL', 'SETUSER', 'e2', '(+nosuch)'],
    ['ACL', 'SETUSER', 'e3', 'on', '>x', 'foo'],
    ['ACL', 'LIST'],
    ['ACL', 'GETUSER', 'e1'],
    ['ACL', 'GETUSER'],
    ['ACL', 'GETUSER', 'a', 'b'],
    ['ACL', 'DELUSER'],
    ['ACL', 'DELUSER', 'default'],
    ['ACL', 'DELUSER', 'nosuch', 'e1', 'e1'],
    ['ACL', 'LIST', 'x'],
    ['ACL', 'USERS', 'x'],
    ['ACL', 'WHOAMI', 'x'],
    ['ACL', 'HELP'],
    ['ACL', 'HELP', 'x'],
    ['ACL'],
    ['ACL', 'nosuch'],
    ['ACL', 'CAT'],
    ['ACL', 'CAT', 'nosuch'],
    ['ACL', 'CAT', 'a', 'b'],
    ['ACL', 'GENPASS', '0'],
    ['ACL', 'GENPASS', '4097'],
    ['ACL', 'GENPASS', '-1'],
    ['ACL', 'GENPASS', 'x'],
    ['ACL', 'GENPASS', '1', '2'],
    skipValue('ACL', 'GENPASS'),
    skipValue('ACL', 'GENPASS', '5'),
    skipValue('ACL', 'GENPASS', '4096'),
    ['ACL', 'LOG', 'x'],
    ['ACL', 'LOG', '1', '2'],
    ['ACL', 'LOG', '-1'],
    ['ACL', 'LOG', '0'],
    ['ACL', 'SAVE'],
    ['ACL', 'LOAD'],
    ['ACL', 'SAVE', 'x'],
    ['ACL', 'DRYRUN', 'x'],
    ['ACL', 'DRYRUN', 'nosuch', 'get', 'x'],
    ['ACL', 'DRYRUN', 'default', 'nosuch', 'x'],
    ['ACL', 'DRYRUN', 'default', 'get'],
    ['ACL', 'DRYRUN', 'default', 'get', 'x'],
    ['ACL', 'DRYRUN', 'default', 'client', 'nosuch'],
    ...cleanup('e1', 'e2', 'e3'),
  ]),

  script('acl: AUTH, HELLO, NOPERM, MULTI, scripts and ACL LOG', [
    ['ACL', 'LOG', 'RESET'],
    ['ACL', 'SETUSER', 'alice', 'on', '>p1', '~app:*', '%R~ro:*', '+get', '+set', '+del', '&ch*', '+eval', '+publish', '+subscribe', '+multi', '+exec', '+acl|whoami', '+hello', '+auth', '+reset', '+ping'],
    ['ACL', 'SETUSER', 'bob', 'off', '>pb', '+@all', '~*'],
    ['AUTH', 'alice', 'wrong'],
    ['AUTH', 'nobody', 'x'],
    ['AUTH', 'bob', 'pb'],
    ['AUTH', 'x'],
    ['AUTH', 'a', 'b', 'c'],
    log(),
    log('1'),
    ['AUTH', 'alice', 'p1'],
    ['ACL', 'WHOAMI'],
    ['GET', 'x'],
    ['GET', 'app:1'],
    ['SET', 'app:1', 'v'],
    ['GET', 'ro:1'],
    ['SET', 'ro:1', 'v'],
    ['DEL', 'app:1', 'ro:1'],
    ['DEL', 'ro:1', 'app:1'],
    ['LPUSH', 'app:l', 'x'],
    ['ACL', 'LIST'],
    ['CLIENT', 'ID'],
    ['PUBLISH', 'zz', 'm'],
    ['PUBLISH', 'ch1', 'm'],
    // Keys of a script share its declared key's hash tag, so the script also runs as is
    // through a cluster node (test/integration/cluster.test.ts).
    ['EVAL', "return redis.call('get','x:{t}')", '1', 'app:{t}'],
    ['EVAL', "return redis.call('get',KEYS[1])", '1', 'app:{t}'],
    ['EVAL', "return redis.call('get',KEYS[1])", '1', 'x:{t}'],
    ['EVAL', "return redis.call('lpush',KEYS[1],'1')", '1', 'app:{t}'],
    ['EVAL', "return redis.pcall('get','x:{t}')", '1', 'app:{t}'],
    ['EVAL', "return redis.pcall('set','ro:{t}','1')", '1', 'app:{t}'],
    ['EVAL', "return redis.call('publish','x','y')", '0'],
    ['EVAL', "return redis.pcall('publish','ch2','y')", '0'],
    ['MULTI'],
    ['GET', 'x'],
    ['LPUSH', 'y', '1'],
    ['GET', 'app:1'],
    ['EXEC'],
    ['MULTI'],
    ['GET', 'app:1'],
    ['EXEC'],
    ['ACL', 'LOG', 'RESET'],
    ['RESET'],
    // As default again: the lua entries above are logged where the script ran (in a
    // cluster, the key's primary), so the log starts afresh here.
    ['ACL', 'LOG', 'RESET'],
    ['ACL', 'WHOAMI'],
    ['HELLO', '2', 'AUTH', 'alice', 'wrong'],
    varying(HELLO_VARY, 'HELLO', '3', 'AUTH', 'alice', 'p1'),
    ['ACL', 'WHOAMI'],
    ['GET', 'x'],
    ['SUBSCRIBE', 'nope'],
    ['PING'],
    ['RESET'],
    log(),
    log('2'),
    ['ACL', 'DRYRUN', 'alice', 'get', 'x'],
    ['ACL', 'DRYRUN', 'alice', 'get', 'app:1'],
    ['ACL', 'DRYRUN', 'alice', 'set', 'ro:1', 'v'],
    ['ACL', 'DRYRUN', 'alice', 'del', 'app:1'],
    ['ACL', 'DRYRUN', 'alice', 'publish', 'x', 'y'],
    ['ACL', 'DRYRUN', 'alice', 'publish', 'ch1', 'y'],
    ['ACL', 'DRYRUN', 'alice', 'subscribe', 'ch1', 'x'],
    ['ACL', 'DRYRUN', 'alice', 'flushall'],
    ['ACL', 'DRYRUN', 'bob', 'flushall'],
    ['CLIENT', 'KILL', 'USER', 'nosuch'],
    ['CLIENT', 'KILL', 'USER', 'bob'],
    ['ACL', 'SETUSER', 'carol', 'on', 'nopass', '~x*', '&ch', '+psubscribe', '+subscribe', '+ping', '+select|0', '+client|id'],
    ['AUTH', 'carol', 'anything'],
    ['SELECT', '1'],
    ['SELECT', '0'],
    skipValue('CLIENT', 'ID'),
    ['CLIENT', 'INFO'],
    ['PSUBSCRIBE', 'ch'],
    ['PSUBSCRIBE', 'c*'],
    ['RESET'],
    ['ACL', 'DELUSER', 'alice', 'bob', 'carol'],
    ['ACL', 'LOG', 'RESET'],
  ]),

  script('acl: requirepass and the default user', [
    ['AUTH', 'x'],
    ['CONFIG', 'SET', 'requirepass', 'secret'],
    ['ACL', 'LIST'],
    ['ACL', 'GETUSER', 'default'],
    ['AUTH', 'wrong'],
    ['AUTH', 'secret'],
    ['AUTH', 'default', 'secret'],
    ['ACL', 'SETUSER', 'default', '>other'],
    ['AUTH', 'other'],
    ['ACL', 'LIST'],
    ['CONFIG', 'SET', 'requirepass', ''],
    ['ACL', 'LIST'],
    ['AUTH', 'x'],
    ['ACL', 'SETUSER', 'default', 'resetpass'],
    ['ACL', 'LIST'],
    ['ACL', 'SETUSER', 'default', 'nopass'],
    ['ACL', 'LOG', 'RESET'],
    ['ACL', 'LIST'],
  ]),

  script('acl: RESP3 shapes', [
    varying(HELLO_VARY, 'HELLO', '3'),
    ['ACL', 'LOG', 'RESET'],
    ['ACL', 'SETUSER', 'r3', 'on', '>p', '~k*', '&c', '+get', '(%R~x* +set)'],
    ['ACL', 'GETUSER', 'r3'],
    ['ACL', 'GETUSER', 'default'],
    ['ACL', 'GETUSER', 'nosuch'],
    ['ACL', 'LIST'],
    ['ACL', 'USERS'],
    ['ACL', 'WHOAMI'],
    ['ACL', 'CAT'],
    skipValue('ACL', 'GENPASS'),
    ['ACL', 'DRYRUN', 'r3', 'get', 'k1'],
    ['ACL', 'DRYRUN', 'r3', 'get', 'x1'],
    ['ACL', 'DELUSER', 'nosuch'],
    ['AUTH', 'r3', 'bad'],
    ['AUTH', 'r3', 'p'],
    ['GET', 'x1'],
    ['SET', 'k1', 'v'],
    ['PUBLISH', 'd', 'm'],
    ['RESET'],
    varying(HELLO_VARY, 'HELLO', '3'),
    log(),
    ['ACL', 'LOG', '0'],
    ['ACL', 'LOG', 'RESET'],
    ['ACL', 'DELUSER', 'r3'],
    ['RESET'],
  ]),

  script('acl: seeded random users and DRYRUN', randomDryrun(12)),
];

/** Random users of categories, key and channel patterns, checked with ACL DRYRUN. */
function randomDryrun(seed: number): StepInput[] {
  const next = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const cats = ['@read', '@write', '@string', '@hash', '@list', '@keyspace', '@fast', '@slow', '@pubsub', '@set', '@sortedset'];
  const cmds = ['get', 'set', 'del', 'hset', 'hget', 'lpush', 'lrange', 'sadd', 'zadd', 'publish', 'copy', 'rename', 'lmove', 'mget', 'mset', 'exists', 'append'];
  const keys = ['a', 'a1', 'b', 'b2', 'c', 'app:1', 'x'];
  const patterns = ['~a*', '%R~b*', '%W~c*', '~app:*', '%R~x', '%W~a1'];
  const channels = ['&n*', '&news', '&x'];
  const steps: StepInput[] = [];
  const users: string[] = [];
  for (let u = 0; u < 6; u++) {
    const name = `r${u}`;
    users.push(name);
    const rules: string[] = [];
    const n = 1 + Math.floor(next() * 5);
    for (let i = 0; i < n; i++) {
      const r = next();
      if (r < 0.3) rules.push((next() < 0.7 ? '+' : '-') + pick(cats));
      else if (r < 0.5) rules.push((next() < 0.7 ? '+' : '-') + pick(cmds));
      else if (r < 0.85) rules.push(pick(patterns));
      else rules.push(pick(channels));
    }
    steps.push(['ACL', 'SETUSER', name, ...rules]);
    for (let i = 0; i < 25; i++) {
      const c = pick(cmds);
      const k1 = pick(keys);
      const k2 = pick(keys);
      const args: Record<string, string[]> = {
        get: ['get', k1], set: ['set', k1, 'v'], del: ['del', k1, k2], hset: ['hset', k1, 'f', 'v'], hget: ['hget', k1, 'f'],
        lpush: ['lpush', k1, 'v'], lrange: ['lrange', k1, '0', '-1'], sadd: ['sadd', k1, 'm'], zadd: ['zadd', k1, '1', 'm'],
        publish: ['publish', pick(['news', 'nx', 'x', 'y']), 'm'], copy: ['copy', k1, k2], rename: ['rename', k1, k2],
        lmove: ['lmove', k1, k2, 'left', 'right'], mget: ['mget', k1, k2], mset: ['mset', k1, 'v', k2, 'w'], exists: ['exists', k1, k2], append: ['append', k1, 'x'],
      };
      steps.push(['ACL', 'DRYRUN', name, ...args[c]]);
    }
  }
  steps.push(['ACL', 'DELUSER', ...users], ['ACL', 'LIST']);
  return steps;
}
