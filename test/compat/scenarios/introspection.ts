/**
 * MONITOR, CLIENT PAUSE, CLIENT REPLY and SLOWLOG across clients. MONITOR lines and SLOWLOG
 * entries carry times, ids and client addresses: those are masked before they are kept
 * (a time becomes T, an address the index of the client it belongs to, an id its offset
 * from the first id read), everything else is compared byte for byte.
 */
import type { Scenario, Sessions } from '../sessions';
import { decodeFrame, type Frame } from '../../support/resp-frames';

const SETTLE_MS = 60;

/** Each client's address (CLIENT INFO addr=), asked without recording. */
async function addresses(s: Sessions, n: number): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const info = (await s.client(i).send('CLIENT', 'INFO')).toString('latin1');
    const a = /addr=(\S+)/.exec(info);
    if (a !== null) m.set(a[1], `client${i}`);
  }
  return m;
}

/** Read one MONITOR line of client i and keep it masked: `+T [db clientN] "args"...`. */
async function monitorLine(s: Sessions, i: number, addrs: Map<string, string>): Promise<void> {
  const c = s.client(i);
  const frame = (c.pollFrame() ?? (await c.readFrame())).toString('latin1');
  const m = /^\+(\d+)\.(\d{6}) \[(\d+) ([^\]]+)\](.*)\r\n$/s.exec(frame);
  if (m === null) {
    s.keep(`not a monitor line: ${frame}`);
    return;
  }
  s.keep(`+T [${m[3]} ${addrs.get(m[4]) ?? m[4]}]${m[5]}`);
}

function text(f: Frame): string {
  return f.value === null ? '(nil)' : f.value.toString('latin1');
}

/** SLOWLOG GET with ids relative to the last entry, times and durations masked, addresses named. */
async function slowlog(s: Sessions, i: number, addrs: Map<string, string>): Promise<void> {
  const reply = await s.client(i).send('SLOWLOG', 'GET', '-1');
  const f = decodeFrame(reply);
  if (f.type !== '*') {
    s.keep(`slowlog: ${reply.toString('latin1')}`);
    return;
  }
  const last = f.items.length === 0 ? 0 : Number(text(f.items[f.items.length - 1].items[0]));
  const lines = f.items.map((e) => {
    const [id, time, usec, args, addr, name] = e.items;
    const ok = /^\d+$/.test(text(time)) && /^\d+$/.test(text(usec));
    return `#${Number(text(id)) - last} ${ok ? 'T' : 'bad time'} [${args.items.map(text).join(' | ')}] ${addrs.get(text(addr)) ?? text(addr)} '${text(name)}'`;
  });
  s.keep(lines.join('\n'));
}

export const INTROSPECTION_SCENARIOS: Scenario[] = [
  {
    name: 'monitor: other clients, scripts, MULTI/EXEC, redaction, admin commands hidden, RESET ends it',
    clients: 3,
    async run(s) {
      const addrs = await addresses(s, 3);
      await s.cmd(0, 'MONITOR');
      s.send(0, 'MONITOR'); // ignored: no reply, no line
      const lines = async (n: number): Promise<void> => {
        for (let k = 0; k < n; k++) await monitorLine(s, 0, addrs);
      };
      await s.cmd(1, 'SET', 'k', 'v');
      await s.cmd(1, 'GET', 'k');
      await lines(2);
      await s.cmd(1, 'GET'); // refused: not shown
      await s.cmd(1, 'NOSUCH');
      await s.cmd(1, 'AUTH', 'secret');
      await s.cmdAs({ mode: 'skip-value', vary: ['id'] }, 1, 'HELLO', '2', 'AUTH', 'default', 'pw', 'SETNAME', 'worker');
      await s.cmd(1, 'CONFIG', 'GET', 'maxclients'); // admin: not shown
      await s.cmd(1, 'CLIENT', 'GETNAME');
      await lines(3);
      await s.cmd(1, 'EVAL', "redis.call('set', KEYS[1], 'x') redis.pcall('incr', KEYS[1]) return 1", '1', 'e');
      await lines(3);
      await s.cmd(1, 'MULTI');
      await s.cmd(1, 'SET', 'q', '1');
      await s.cmd(1, 'INCR', 'q');
      await s.cmd(1, 'EXEC');
      await lines(4);
      await s.cmd(1, 'SELECT', '3');
      await s.cmd(1, 'SET', Buffer.from('a b"c\\'), Buffer.from([0x78, 0x01, 0x0a, 0xff, 0x09]));
      await s.cmd(1, 'SELECT', '0');
      await lines(3);
      await s.cmd(0, 'PING');
      await lines(1);
      await s.cmd(0, 'INFO', 'nosuchsection');
      await lines(1);
      // A blocking command shows when it is called, not when it is served.
      s.send(1, 'BLPOP', 'bq', '0');
      await lines(1); // (not s.blocked(): its INFO polls would show here)
      await s.quiet(1, SETTLE_MS);
      // A monitor is a replica to Redis: it may not touch keys.
      await s.cmd(0, 'GET', 'bq');
      await s.cmd(0, 'RPUSH', 'bq', 'x');
      await s.cmd(0, 'DBSIZE');
      await s.cmd(0, 'MULTI');
      await lines(1);
      await s.cmd(0, 'GET', 'x');
      await s.cmd(0, 'EXEC'); // refused (it holds a read), and still shown, as Redis's execCommandAbort feeds monitors
      await lines(1);
      await s.cmd(2, 'RPUSH', 'bq', 'x');
      await s.read(1);
      await lines(1); // the RPUSH only: the served BLPOP is not shown again
      await s.cmd(0, 'RESET');
      await s.cmd(1, 'SET', 'z', '1');
      await s.quiet(0, SETTLE_MS);
      await s.cmd(0, 'GET', 'z');
    },
  },
  {
    name: 'client pause: WRITE holds writes and EVAL, reads run, UNPAUSE releases in order; ALL holds everything until the timeout',
    clients: 3,
    async run(s) {
      await s.cmd(0, 'SET', 'k', '1');
      await s.cmd(0, 'CLIENT', 'PAUSE', '100000', 'WRITE');
      await s.cmd(1, 'GET', 'k');
      s.send(1, 'SET', 'k', '2');
      s.send(2, 'INCR', 'k');
      await s.quiet(1, SETTLE_MS);
      await s.quiet(2, 0);
      await s.cmd(0, 'GET', 'k');
      await s.cmd(0, 'PING');
      await s.cmd(0, 'CLIENT', 'UNPAUSE');
      await s.read(1);
      await s.read(2);
      await s.cmd(0, 'GET', 'k');
      // EVAL may write: held in a WRITE pause.
      await s.cmd(0, 'CLIENT', 'PAUSE', '100000', 'WRITE');
      s.send(1, 'EVAL', "return redis.call('get', KEYS[1])", '1', 'k');
      await s.quiet(1, SETTLE_MS);
      await s.cmd(0, 'CLIENT', 'UNPAUSE');
      await s.read(1);
      // A transaction during a WRITE pause: queuing is not held, an EXEC holding a write is.
      await s.cmd(0, 'CLIENT', 'PAUSE', '100000', 'WRITE');
      await s.cmd(1, 'MULTI');
      await s.cmd(1, 'GET', 'k');
      s.send(1, 'INCR', 'k');
      await s.quiet(1, SETTLE_MS);
      await s.cmd(2, 'MULTI');
      await s.cmd(2, 'GET', 'k');
      await s.cmd(2, 'EXEC');
      await s.cmd(0, 'CLIENT', 'UNPAUSE');
      await s.read(1);
      await s.cmd(1, 'EXEC');
      // PUBLISH may replicate: held too.
      await s.cmd(0, 'CLIENT', 'PAUSE', '100000', 'WRITE');
      s.send(2, 'PUBLISH', 'ch', 'x');
      await s.quiet(2, SETTLE_MS);
      await s.cmd(0, 'CLIENT', 'UNPAUSE');
      await s.read(2);
      // ALL: even reads wait, the pausing client's too, until the pause times out.
      await s.cmd(0, 'CLIENT', 'PAUSE', '300', 'ALL');
      s.send(1, 'GET', 'k');
      s.send(0, 'PING');
      await s.quiet(1, SETTLE_MS);
      await s.quiet(0, 0);
      await s.read(1);
      await s.read(0);
      await s.cmd(2, 'CLIENT', 'UNPAUSE');
    },
  },
  {
    name: 'client reply: OFF drops replies and errors, SKIP drops the next one, ON answers OK',
    clients: 2,
    async run(s) {
      s.send(0, 'CLIENT', 'REPLY', 'OFF');
      s.send(0, 'SET', 'a', '1');
      s.send(0, 'GETX');
      s.send(0, 'GET');
      s.send(0, 'CLIENT', 'REPLY', 'SKIP'); // ignored while OFF
      await s.cmd(0, 'CLIENT', 'REPLY', 'ON');
      s.send(0, 'CLIENT', 'REPLY', 'SKIP');
      s.send(0, 'GET', 'a');
      await s.cmd(0, 'INCR', 'a');
      s.send(0, 'CLIENT', 'REPLY', 'SKIP');
      s.send(0, 'NOSUCH');
      await s.cmd(0, 'GET', 'a');
      s.send(0, 'CLIENT', 'REPLY', 'SKIP');
      await s.cmd(0, 'CLIENT', 'REPLY', 'ON');
      await s.cmd(0, 'PING');
      // A command that waits: its reply is skipped when it is served.
      s.send(0, 'CLIENT', 'REPLY', 'SKIP');
      s.send(0, 'BLPOP', 'q', '0');
      await s.blocked(1);
      await s.cmd(1, 'RPUSH', 'q', 'x', 'y');
      await s.cmd(0, 'LLEN', 'q');
    },
  },
  {
    name: 'slowlog: every command with slowlog-log-slower-than 0, truncation, redaction, names, EXEC and scripts',
    clients: 2,
    async run(s) {
      const addrs = await addresses(s, 2);
      await s.cmd(0, 'CONFIG', 'SET', 'slowlog-log-slower-than', '0');
      await s.cmd(0, 'SLOWLOG', 'RESET');
      await s.cmd(1, 'CLIENT', 'SETNAME', 'worker');
      await s.cmd(1, 'SET', 'k', 'v');
      const many = Array.from({ length: 40 }, (_, i) => `e${i}`);
      await s.cmd(1, 'RPUSH', 'list', ...many);
      await s.cmd(1, 'SET', 'big', 'x'.repeat(200));
      await s.cmd(1, 'AUTH', 'pw');
      await s.cmd(1, 'MULTI');
      await s.cmd(1, 'SET', 'q', '1');
      await s.cmd(1, 'EXEC');
      await s.cmd(1, 'EVAL', "return redis.call('get', KEYS[1])", '1', 'k');
      await s.cmd(1, 'GET');
      await s.cmd(0, 'CONFIG', 'SET', 'slowlog-log-slower-than', '10000');
      await slowlog(s, 0, addrs);
      await s.cmd(0, 'CONFIG', 'SET', 'slowlog-max-len', '3');
      await s.cmd(0, 'SLOWLOG', 'LEN');
      await s.cmd(0, 'CONFIG', 'SET', 'slowlog-max-len', '128');
      await s.cmd(0, 'SLOWLOG', 'RESET');
    },
  },
  {
    name: 'client tracking: RESP3 default mode, one invalidation per read, own writes after the reply, FLUSHALL',
    clients: 2,
    async run(s) {
      await s.cmdAs({ mode: 'skip-value', vary: ['id'] }, 0, 'HELLO', '3');
      await s.cmd(0, 'CLIENT', 'TRACKING', 'ON');
      await s.cmd(0, 'GET', 'k');
      await s.cmd(0, 'MGET', 'a', 'b');
      await s.cmd(1, 'SET', 'k', '1');
      await s.read(0);
      await s.cmd(1, 'MSET', 'a', '1', 'b', '2');
      await s.read(0);
      await s.read(0);
      await s.cmd(1, 'SET', 'a', '2'); // forgotten after the first invalidation
      await s.quiet(0, SETTLE_MS);
      await s.cmd(0, 'GET', 'k');
      await s.cmd(0, 'INCR', 'k'); // its own write: reply, then the invalidation
      await s.read(0);
      await s.cmd(0, 'HGET', 'h', 'f');
      await s.cmd(1, 'SELECT', '5');
      await s.cmd(1, 'HSET', 'h', 'f', 'v'); // keys are tracked by name, whatever the db
      await s.read(0);
      await s.cmd(1, 'SELECT', '0');
      await s.cmd(0, 'CLIENT', 'TRACKINGINFO');
      await s.cmd(0, 'CLIENT', 'GETREDIR');
      await s.cmd(0, 'GET', 'x');
      await s.cmd(1, 'FLUSHALL');
      await s.read(0);
      await s.cmd(0, 'CLIENT', 'TRACKING', 'OFF');
      await s.cmd(0, 'GET', 'k');
      await s.cmd(1, 'SET', 'k', '1');
      await s.quiet(0, SETTLE_MS);
    },
  },
  {
    name: 'client tracking: RESP2 REDIRECT to a subscriber of __redis__:invalidate; OPTIN, OPTOUT, NOLOOP',
    clients: 3,
    async run(s) {
      const id1 = (await s.client(1).send('CLIENT', 'ID')).toString('latin1').slice(1).trim();
      /** A command naming client 1's id: sent unrecorded, its reply kept. */
      const redirect = async (...opts: string[]): Promise<void> => {
        s.note(`c0 CLIENT TRACKING ON REDIRECT <client 1> ${opts.join(' ')}`);
        s.keep(await s.client(0).send('CLIENT', 'TRACKING', 'ON', 'REDIRECT', id1, ...opts));
      };
      await s.cmd(1, 'SUBSCRIBE', '__redis__:invalidate');
      await redirect();
      await s.cmd(0, 'GET', 'k');
      await s.cmd(2, 'SET', 'k', 'x');
      await s.read(1);
      await s.cmd(0, 'CLIENT', 'TRACKING', 'OFF');
      // OPTIN: only after CLIENT CACHING YES, for the next command only.
      await redirect('OPTIN');
      await s.cmd(0, 'GET', 'a');
      await s.cmd(0, 'CLIENT', 'CACHING', 'YES');
      await s.cmd(0, 'GET', 'b');
      await s.cmd(0, 'GET', 'c');
      await s.cmd(2, 'MSET', 'a', '1', 'c', '1');
      await s.quiet(1, SETTLE_MS);
      await s.cmd(2, 'SET', 'b', '1');
      await s.read(1);
      await s.cmd(0, 'CLIENT', 'TRACKING', 'OFF');
      // OPTOUT: everything but the command after CLIENT CACHING NO.
      await redirect('OPTOUT');
      await s.cmd(0, 'CLIENT', 'CACHING', 'NO');
      await s.cmd(0, 'GET', 'a');
      await s.cmd(0, 'GET', 'b');
      await s.cmd(2, 'SET', 'a', '2');
      await s.quiet(1, SETTLE_MS);
      await s.cmd(2, 'SET', 'b', '2');
      await s.read(1);
      await s.cmd(0, 'CLIENT', 'TRACKING', 'OFF');
      // NOLOOP: its own writes do not invalidate for it.
      await redirect('NOLOOP');
      await s.cmd(0, 'GET', 'k');
      await s.cmd(0, 'SET', 'k', 'mine');
      await s.quiet(1, SETTLE_MS);
      await s.cmd(0, 'GET', 'k');
      await s.cmd(2, 'SET', 'k', 'theirs');
      await s.read(1);
      await s.cmdAs({ mode: 'skip-value' }, 0, 'CLIENT', 'TRACKINGINFO');
      await s.cmd(0, 'CLIENT', 'TRACKING', 'OFF');
    },
  },
  {
    name: 'client tracking: BCAST with prefixes, RESP3',
    clients: 2,
    async run(s) {
      await s.cmdAs({ mode: 'skip-value', vary: ['id'] }, 0, 'HELLO', '3');
      await s.cmd(0, 'CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'user:', 'PREFIX', 'obj:');
      await s.cmd(1, 'SET', 'user:1', 'x');
      await s.read(0);
      await s.cmd(1, 'MSET', 'user:2', 'a', 'other', 'b', 'obj:9', 'c', 'user:0', 'd');
      await s.read(0);
      await s.read(0);
      await s.cmd(1, 'SET', 'other', 'x');
      await s.quiet(0, SETTLE_MS);
      await s.cmd(0, 'CLIENT', 'TRACKINGINFO');
      await s.cmd(0, 'CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'user:1');
      await s.cmd(0, 'CLIENT', 'TRACKING', 'ON');
      await s.cmd(0, 'CLIENT', 'TRACKING', 'OFF');
    },
  },
];
