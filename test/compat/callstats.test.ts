/**
 * Differential commandstats / errorstats: the same seeded sequence of commands (wrong types,
 * arity errors, unknown commands and subcommands, MULTI/EXEC with errors, EXECABORT,
 * scripts whose commands fail under redis.call and redis.pcall, NOSCRIPT...) runs on a real
 * redis-server 7.0.15 and on the server under test, after CONFIG RESETSTAT; then the
 * counts INFO reports must be equal: per command calls, rejected_calls, failed_calls; per
 * error code the count; total_error_replies and total_commands_processed. Times (usec) are
 * not compared.
 */
import { describe, expect, it } from 'vitest';
import { targetName } from '../support/servers';
import { useServerPair } from '../support/server-pair';
import { RawClient } from '../support/raw-client';
import { prng } from '../support/prng';

const pair = useServerPair(['--maxclients', '1000', '--appendfsync', 'everysec']);

type Cmd = string[];

/** One step: one or more commands sent in order on the same connection. */
const STEPS: Cmd[][] = [
  [['SET', 'str', 'x']],
  [['GET', 'str']],
  [['INCR', 'str']],
  [['LPUSH', 'str', 'a']],
  [['RPUSH', 'list', 'a', 'b']],
  [['GET', 'list']],
  [['GET']],
  [['SET', 'k']],
  [['NOSUCH', 'a']],
  [['CLIENT', 'NOSUCH']],
  [['HSET', 'h', 'f']],
  [['HSET', 'h', 'f', 'v']],
  [['INCRBY', 'n', 'notanumber']],
  [['ZADD', 'z', 'x', 'm']],
  [['EXEC']],
  [['DISCARD']],
  [['MULTI'], ['INCR', 'str'], ['SET', 'a', 'b'], ['LPUSH', 'str', 'x'], ['EXEC']],
  [['MULTI'], ['SET', 'a', 'b'], ['GETX'], ['EXEC']],
  [['MULTI'], ['SET', 'a'], ['GET', 'a'], ['EXEC']],
  [['MULTI'], ['MULTI'], ['WATCH', 'a'], ['GET', 'a'], ['EXEC']],
  [['MULTI'], ['GET', 'a'], ['DISCARD']],
  [['EVAL', "return redis.call('incr', KEYS[1])", '1', 'str']],
  [['EVAL', "return redis.pcall('incr', KEYS[1])", '1', 'str']],
  [['EVAL', "redis.pcall('incr', KEYS[1]) return 1", '1', 'str']],
  [['EVAL', "return redis.call('nosuch')", '0']],
  [['EVAL', "return redis.pcall('nosuch')", '0']],
  [['EVAL', "return redis.call('get')", '0']],
  [['EVAL', "return redis.pcall('get', 'a', 'b')", '0']],
  [['EVAL', "error('boom')", '0']],
  [['EVAL', "return redis.error_reply('MYERR custom')", '0']],
  [['EVAL', "return {err='OTHER thing'}", '0']],
  [['EVAL', "return redis.call('set', KEYS[1], 'v')", '1', 'sk']],
  [['EVAL', 'syntax error here', '0']],
  [['EVALSHA', 'ffffffffffffffffffffffffffffffffffffffff', '0']],
  [['EVAL', "return redis.call('lpush', KEYS[1], 'x')", '1', 'str']],
  [['EVAL_RO', "return redis.call('set', 'a', 'b')", '0']],
  [['MULTI'], ['EVAL', "return redis.call('incr', 'str')", '0'], ['EXEC']],
  [['SELECT', '99']],
  [['EXPIRE', 'str', 'x']],
  [['OBJECT', 'ENCODING', 'nokey']],
  [['PING']],
  [['ECHO']],
  [['SCRIPT', 'NOSUCH']],
];

interface Counts {
  cmd: Record<string, string>;
  err: Record<string, string>;
  totals: Record<string, string>;
}

function parseInfo(text: string): Counts {
  const out: Counts = { cmd: {}, err: {}, totals: {} };
  for (const line of text.split('\r\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=\d+,usec_per_call=[\d.]+,rejected_calls=(\d+),failed_calls=(\d+)$/.exec(line);
    if (m !== null) {
      // The harness's own commands are not part of the sequence.
      if (m[1] === 'info' || m[1] === 'config|resetstat' || m[1] === 'flushall') continue;
      out.cmd[m[1]] = `calls=${m[2]},rejected_calls=${m[3]},failed_calls=${m[4]}`;
      continue;
    }
    const e = /^errorstat_([^:]+):count=(\d+)$/.exec(line);
    if (e !== null) {
      out.err[e[1]] = e[2];
      continue;
    }
    const t = /^(total_error_replies|total_commands_processed):(\d+)$/.exec(line);
    if (t !== null) out.totals[t[1]] = t[2];
  }
  return out;
}

async function runSequence(port: number, seed: number, n: number): Promise<Counts> {
  const c = await RawClient.connect(port);
  try {
    await c.send('FLUSHALL');
    await c.send('SCRIPT', 'FLUSH');
    await c.send('CONFIG', 'RESETSTAT');
    const rnd = prng(seed);
    for (let i = 0; i < n; i++) {
      const step = STEPS[Math.floor(rnd() * STEPS.length)];
      for (const cmd of step) await c.send(...cmd);
    }
    const info = parseInfo((await c.send('INFO', 'commandstats', 'errorstats', 'stats')).toString('latin1'));
    // INFO and CONFIG RESETSTAT themselves: INFO counts once its reply is done; RESETSTAT
    // was counted after the reset. Take both out of the total.
    info.totals.total_commands_processed = String(Number(info.totals.total_commands_processed) - 2);
    return info;
  } finally {
    c.close();
  }
}

describe(`commandstats/errorstats counts: redis-server 7.0.15 vs ${targetName()}`, () => {
  it('every step alone', async () => {
    const { reference, target } = pair;
    if (!reference || !target) throw new Error('servers did not start');
    for (let i = 0; i < STEPS.length; i++) {
      const run = async (port: number): Promise<Counts> => {
        const c = await RawClient.connect(port);
        try {
          await c.send('FLUSHALL');
          await c.send('SET', 'str', 'x');
          await c.send('CONFIG', 'RESETSTAT');
          for (const cmd of STEPS[i]) await c.send(...cmd);
          const info = parseInfo((await c.send('INFO', 'commandstats', 'errorstats', 'stats')).toString('latin1'));
          info.totals.total_commands_processed = String(Number(info.totals.total_commands_processed) - 2);
          return info;
        } finally {
          c.close();
        }
      };
      const [a, b] = [await run(reference.port), await run(target.port)];
      expect({ step: STEPS[i], ...b }).toEqual({ step: STEPS[i], ...a });
    }
  });

  for (const seed of [1, 2, 3]) {
    it(`seeded sequence ${seed}`, async () => {
      const { reference, target } = pair;
      if (!reference || !target) throw new Error('servers did not start');
      const a = await runSequence(reference.port, seed, 150);
      const b = await runSequence(target.port, seed, 150);
      expect(b).toEqual(a);
    });
  }
});
