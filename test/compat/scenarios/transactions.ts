/**
 * WATCH touched by other clients, and blocked clients woken by other clients' writes:
 * first blocked, first served; BLMOVE feeding another blocked client; a transaction's
 * pushes served after EXEC; a pipelined push and pop; timeouts; a key of the wrong type;
 * a blocked client that goes away. Redis's tests/unit/multi.tcl and type/list.tcl check
 * the same things with several clients.
 *
 * A blocking command is sent, then the scenario waits until the server counts it blocked
 * (`s.blocked(n)`) before another client writes.
 */
import type { How, Scenario } from '../sessions';
import { prng } from '../../support/prng';

/** How long a client must stay quiet to count as still waiting. */
const SETTLE_MS = 40;
const HELLO_ID: How = { mode: 'skip-value', vary: ['id'] };

export const TRANSACTION_SCENARIOS: Scenario[] = [
  {
    name: 'watch: another client touches the key',
    clients: 2,
    async run(s) {
      await s.cmd(0, 'SET', 'k', '1');
      await s.cmd(0, 'WATCH', 'k');
      await s.cmd(1, 'SET', 'k', '2');
      await s.cmd(0, 'MULTI');
      await s.cmd(0, 'SET', 'k', 'mine');
      await s.cmd(0, 'EXEC');
      await s.cmd(0, 'GET', 'k');
      // Untouched: runs. A write to another key or another db does not count.
      await s.cmd(0, 'WATCH', 'k');
      await s.cmd(1, 'SET', 'other', 'x');
      await s.cmd(1, 'SELECT', '1');
      await s.cmd(1, 'SET', 'k', 'db1');
      await s.cmd(0, 'MULTI');
      await s.cmd(0, 'INCR', 'k');
      await s.cmd(0, 'EXEC');
      // EXPIRE, DEL, LPUSH on another type: all touch.
      for (const touch of [['EXPIRE', 'k', '100'], ['DEL', 'k'], ['RPUSH', 'k', 'x'], ['PERSIST', 'k']]) {
        await s.cmd(1, 'SELECT', '0');
        await s.cmd(0, 'WATCH', 'k');
        await s.cmd(1, ...touch);
        await s.cmd(0, 'MULTI');
        await s.cmd(0, 'PING');
        await s.cmd(0, 'EXEC');
      }
      await s.cmd(1, 'FLUSHALL');
    },
  },
  {
    name: 'watch: a key that expires after WATCH fails EXEC; one expired before does not',
    clients: 2,
    async run(s) {
      await s.cmd(0, 'SET', 'k', 'v', 'PX', '60');
      await s.cmd(0, 'WATCH', 'k');
      await s.quiet(0, 150);
      await s.cmd(0, 'MULTI');
      await s.cmd(0, 'PING');
      await s.cmd(0, 'EXEC');
      await s.cmd(0, 'SET', 'j', 'v', 'PX', '60');
      await s.cmd(0, 'WATCH', 'nokey');
      await s.quiet(0, 150);
      await s.cmd(0, 'MULTI');
      await s.cmd(0, 'GET', 'j');
      await s.cmd(0, 'EXEC');
    },
  },
  {
    name: 'blocking: BLPOP woken by another client, first blocked first served',
    clients: 4,
    async run(s) {
      for (const i of [0, 1, 2]) {
        s.send(i, 'BLPOP', 'q', '0');
        await s.blocked(i + 1);
      }
      await s.cmd(3, 'RPUSH', 'q', 'a', 'b');
      await s.read(0);
      await s.read(1);
      await s.quiet(2, SETTLE_MS);
      await s.cmd(3, 'LLEN', 'q');
      await s.cmd(3, 'LPUSH', 'q', 'c');
      await s.read(2);
      await s.cmd(3, 'EXISTS', 'q');
    },
  },
  {
    name: 'blocking: several keys, the one pushed is served; BRPOP from the tail',
    clients: 2,
    async run(s) {
      s.send(0, 'BLPOP', 'l1', 'l2', 'l3', '0');
      await s.blocked(1);
      await s.cmd(1, 'RPUSH', 'l2', 'x', 'y');
      await s.read(0);
      s.send(0, 'BRPOP', 'l1', 'l2', '0');
      await s.read(0);
      s.send(0, 'BRPOP', 'l1', 'l2', '0');
      await s.blocked(1);
      await s.cmd(1, 'LPUSH', 'l1', 'p', 'q');
      await s.read(0);
      await s.cmd(1, 'LRANGE', 'l1', '0', '-1');
    },
  },
  {
    name: 'blocking: BLMOVE feeds a client blocked on its destination',
    clients: 3,
    async run(s) {
      s.send(0, 'BLMOVE', 'src', 'dst', 'LEFT', 'RIGHT', '0');
      await s.blocked(1);
      s.send(1, 'BLPOP', 'dst', '0');
      await s.blocked(2);
      await s.cmd(2, 'RPUSH', 'src', 'v');
      await s.read(0);
      await s.read(1);
      await s.cmd(2, 'EXISTS', 'src', 'dst');
      s.send(0, 'BRPOPLPUSH', 'src', 'dst', '0');
      await s.blocked(1);
      await s.cmd(2, 'RPUSH', 'src', 'w');
      await s.read(0);
      await s.cmd(2, 'LRANGE', 'dst', '0', '-1');
    },
  },
  {
    name: 'blocking: BLMPOP and BZMPOP with COUNT, BZPOPMIN and BZPOPMAX woken',
    clients: 2,
    async run(s) {
      s.send(0, 'BLMPOP', '0', '2', 'a', 'b', 'RIGHT', 'COUNT', '2');
      await s.blocked(1);
      await s.cmd(1, 'RPUSH', 'b', '1', '2', '3');
      await s.read(0);
      s.send(0, 'BZPOPMIN', 'z1', 'z2', '0');
      await s.blocked(1);
      await s.cmd(1, 'ZADD', 'z2', '5', 'five', '1', 'one');
      await s.read(0);
      s.send(0, 'BZPOPMAX', 'z3', '0');
      await s.blocked(1);
      await s.cmd(1, 'ZADD', 'z3', '2.5', 'x', '7', 'y');
      await s.read(0);
      s.send(0, 'BZMPOP', '0', '1', 'z4', 'MAX', 'COUNT', '10');
      await s.blocked(1);
      await s.cmd(1, 'ZADD', 'z4', '1', 'a', '2', 'b', '3', 'c');
      await s.read(0);
      await s.cmdAs(HELLO_ID, 1, 'HELLO', '3');
      await s.cmdAs(HELLO_ID, 0, 'HELLO', '3');
      s.send(0, 'BZPOPMIN', 'z5', '0');
      await s.blocked(1);
      await s.cmd(1, 'ZADD', 'z5', '3', 'm');
      await s.read(0);
    },
  },
  {
    name: 'blocking: a transaction that pushes and pops serves nobody; a pipelined push is served before the next command',
    clients: 2,
    async run(s) {
      s.send(0, 'BLPOP', 'q', '0');
      await s.blocked(1);
      await s.cmd(1, 'MULTI');
      await s.cmd(1, 'RPUSH', 'q', 'a');
      await s.cmd(1, 'LPOP', 'q');
      await s.cmd(1, 'EXEC');
      await s.quiet(0, SETTLE_MS);
      await s.cmd(1, 'MULTI');
      await s.cmd(1, 'RPUSH', 'q', 'b', 'c');
      await s.cmd(1, 'LPOP', 'q');
      await s.cmd(1, 'EXEC');
      await s.read(0);
      await s.cmd(1, 'LRANGE', 'q', '0', '-1');
      s.send(0, 'BLPOP', 'q2', '0');
      await s.blocked(1);
      const both = await s.client(1).sendRaw('*3\r\n$5\r\nRPUSH\r\n$2\r\nq2\r\n$1\r\nx\r\n*2\r\n$4\r\nLPOP\r\n$2\r\nq2\r\n', 2);
      s.keep(Buffer.concat(both));
      await s.read(0);
    },
  },
  {
    name: 'blocking: timeouts, a key of another type, a blocked client that goes away',
    clients: 3,
    async run(s) {
      s.send(0, 'BLPOP', 'q', '0.3');
      await s.quiet(0, 100);
      await s.read(0);
      s.send(0, 'BLPOP', 'q', '0');
      await s.blocked(1);
      await s.cmd(1, 'SET', 'q', 'string');
      await s.quiet(0, SETTLE_MS);
      await s.cmd(1, 'DEL', 'q');
      await s.cmd(1, 'RPUSH', 'q', 'now');
      await s.read(0);
      s.send(2, 'BLPOP', 'gone', '0');
      await s.blocked(1);
      s.client(2).close();
      await s.quiet(1, SETTLE_MS);
      await s.cmd(1, 'RPUSH', 'gone', 'kept');
      await s.cmd(1, 'LRANGE', 'gone', '0', '-1');
      await s.cmdAs(HELLO_ID, 1, 'HELLO', '3');
      await s.cmdAs(HELLO_ID, 0, 'HELLO', '3');
      s.send(0, 'BLMOVE', 'none', 'd', 'LEFT', 'LEFT', '0.05');
      await s.read(0);
      s.send(0, 'BZMPOP', '0.05', '1', 'none', 'MIN');
      await s.read(0);
    },
  },
  {
    name: 'blocking: CLIENT UNBLOCK with TIMEOUT and ERROR; INFO blocked_clients',
    clients: 2,
    async run(s) {
      const id = String(await s.client(0).send('CLIENT', 'ID')).replace(/[^0-9]/g, '');
      // The ids differ between the servers: the replies are kept, not the command lines.
      const unblock = async (...how: string[]): Promise<void> => s.keep(await s.client(1).send('CLIENT', 'UNBLOCK', id, ...how));
      s.send(0, 'BLPOP', 'q', '0');
      await s.blocked(1);
      s.keep(String((await s.client(1).send('INFO', 'clients')).toString().includes('blocked_clients:1')));
      await unblock();
      await s.read(0);
      await unblock();
      s.send(0, 'BZPOPMIN', 'z', '0');
      await s.blocked(1);
      await unblock('ERROR');
      await s.read(0);
      s.send(0, 'BLMOVE', 'a', 'b', 'LEFT', 'LEFT', '0');
      await s.blocked(1);
      await unblock('NOPE');
      await s.cmd(1, 'CLIENT', 'UNBLOCK', 'abc');
      await unblock('TIMEOUT');
      await s.read(0);
      s.keep(String((await s.client(1).send('INFO', 'clients')).toString().includes('blocked_clients:0')));
    },
  },
  {
    name: 'watch: a seeded race of WATCH/MULTI/EXEC against another client\'s commands',
    clients: 2,
    async run(s) {
      const rnd = prng(2026);
      const keys = ['w1', 'w2', 'w3'];
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
      for (let round = 0; round < 60; round++) {
        const watched = keys.filter(() => rnd() < 0.5);
        if (watched.length > 0) await s.cmd(0, 'WATCH', ...watched);
        const k = pick(keys);
        const other: string[] = pick([
          ['SET', k, String(round)],
          ['GET', k],
          ['DEL', k],
          ['INCR', k],
          ['EXPIRE', k, '100'],
          ['PERSIST', k],
          ['EXISTS', k],
          ['RPUSH', k, 'x'],
          ['SET', k, 'same', 'KEEPTTL'],
          ['SETNX', k, 'nx'],
        ]);
        if (rnd() < 0.7) await s.cmd(1, ...other);
        if (rnd() < 0.1) await s.cmd(0, 'UNWATCH');
        await s.cmd(0, 'MULTI');
        await s.cmd(0, 'INCR', pick(keys));
        await s.cmd(0, 'GET', pick(keys));
        await s.cmd(0, 'EXEC');
      }
      for (const k of keys) await s.cmd(1, 'TYPE', k);
    },
  },
  {
    name: 'blocking: a served BLPOP/BZPOPMIN/BLMOVE sends the pop events; a transaction\'s events',
    clients: 3,
    async run(s) {
      await s.cmd(2, 'CONFIG', 'SET', 'notify-keyspace-events', 'KEA');
      await s.cmd(2, 'PSUBSCRIBE', '__keyevent@0__:*');
      s.send(0, 'BLPOP', 'q', '0');
      await s.blocked(1);
      await s.cmd(1, 'RPUSH', 'q', 'a');
      await s.read(0);
      for (let i = 0; i < 3; i++) await s.read(2);
      s.send(0, 'BZPOPMIN', 'z', '0');
      await s.blocked(1);
      await s.cmd(1, 'ZADD', 'z', '1', 'm');
      await s.read(0);
      for (let i = 0; i < 3; i++) await s.read(2);
      s.send(0, 'BLMOVE', 'src', 'dst', 'LEFT', 'LEFT', '0');
      await s.blocked(1);
      await s.cmd(1, 'RPUSH', 'src', 'v');
      await s.read(0);
      for (let i = 0; i < 4; i++) await s.read(2);
      await s.cmd(1, 'MULTI');
      await s.cmd(1, 'SET', 'k', '1');
      await s.cmd(1, 'INCR', 'k');
      await s.cmd(1, 'DEL', 'k');
      await s.cmd(1, 'EXEC');
      for (let i = 0; i < 3; i++) await s.read(2);
      await s.quiet(2, SETTLE_MS);
      await s.cmd(1, 'CONFIG', 'SET', 'notify-keyspace-events', '');
    },
  },
  {
    name: 'blocking: XREAD BLOCK and XREADGROUP BLOCK woken by XADD; $ is fixed at the call; timeouts; MULTI',
    clients: 3,
    async run(s) {
      await s.cmd(1, 'XADD', 's1', '1-1', 'f', 'old');
      s.send(0, 'XREAD', 'BLOCK', '0', 'STREAMS', 's1', 's2', '$', '$');
      await s.blocked(1);
      await s.cmd(1, 'XADD', 's2', '5-1', 'a', '1');
      await s.read(0);
      s.send(0, 'XREAD', 'COUNT', '1', 'BLOCK', '0', 'STREAMS', 's1', '$');
      await s.blocked(1);
      await s.cmd(1, 'MULTI');
      await s.cmd(1, 'XADD', 's1', '2-1', 'f', 'x');
      await s.cmd(1, 'XADD', 's1', '2-2', 'f', 'y');
      await s.cmd(1, 'EXEC');
      await s.read(0);
      s.send(0, 'XREAD', 'BLOCK', '50', 'STREAMS', 's1', '$');
      await s.read(0);
      await s.cmd(1, 'XGROUP', 'CREATE', 's1', 'g', '$');
      s.send(0, 'XREADGROUP', 'GROUP', 'g', 'alice', 'BLOCK', '0', 'STREAMS', 's1', '>');
      await s.blocked(1);
      s.send(2, 'XREADGROUP', 'GROUP', 'g', 'bob', 'BLOCK', '0', 'STREAMS', 's1', '>');
      await s.blocked(2);
      await s.cmd(1, 'XADD', 's1', '3-1', 'f', 'z');
      await s.read(0);
      await s.quiet(2, SETTLE_MS);
      await s.cmd(1, 'XADD', 's1', '3-2', 'f', 'w');
      await s.read(2);
      await s.cmd(1, 'XPENDING', 's1', 'g');
      s.send(0, 'XREADGROUP', 'GROUP', 'g', 'alice', 'BLOCK', '0', 'STREAMS', 's1', '>');
      await s.blocked(1);
      await s.cmd(1, 'XGROUP', 'DESTROY', 's1', 'g');
      await s.cmd(1, 'XADD', 's1', '4-1', 'f', 'v');
      await s.read(0);
      await s.cmd(1, 'MULTI');
      await s.cmd(1, 'XREAD', 'BLOCK', '0', 'STREAMS', 's1', '$');
      await s.cmd(1, 'EXEC');
      await s.cmdAs(HELLO_ID, 0, 'HELLO', '3');
      s.send(0, 'XREAD', 'BLOCK', '30', 'STREAMS', 's1', '$');
      await s.read(0);
      s.send(0, 'XREAD', 'BLOCK', '0', 'STREAMS', 's3', '$');
      await s.blocked(1);
      await s.cmd(1, 'XADD', 's3', '9-9', 'k', 'v');
      await s.read(0);
    },
  },
];
