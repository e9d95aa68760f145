/**
 * TLS for clients (tls-port and the tls-* directives), end to end: redis-cli --tls, ioredis
 * and redis-py against a real quorumkv process, with certificates made by openssl
 * (test/support/certs.ts). Where Redis refuses something (no client certificate, a bad
 * directive, a CONFIG SET that does not load) the same is run against redis-server 7.0.15
 * with the same TLS configuration and the outcomes compared.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts, type CertSet } from '../support/certs';
import { freePort, makeTempDir, QUORUMKV_MAIN, REDIS_SERVER_BIN, startQuorumkv, startRedis, stopAll, waitFor, type ServerProcess } from '../support/servers';

const REDIS_CLI = process.env.REDIS_CLI ?? 'redis-cli';
/** Debian's python3 with python3-redis (a plain `python3` may be a pyenv without it). */
const PYTHON = '/usr/bin/python3';

let certs: CertSet;

function tlsArgs(c: CertSet, tlsPort: number, extra: string[] = []): string[] {
  return ['--tls-port', String(tlsPort), '--tls-cert-file', c.crt('server'), '--tls-key-file', c.key('server'), '--tls-ca-cert-file', c.crt('ca'), ...extra];
}

interface CliResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

function runCli(port: number, args: string[], input?: Buffer): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...args], { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString('latin1'), stderr: Buffer.concat(err).toString(), code });
    });
    if (input && child.stdin) child.stdin.end(input);
  });
}

/** redis-cli --tls with the test CA, and a client certificate unless `cert` is null. */
function tlsCli(port: number, args: string[], cert: 'client' | 'rogue' | 'expired' | null = 'client', input?: Buffer): Promise<CliResult> {
  const id = cert === null ? [] : ['--cert', certs.crt(cert), '--key', certs.key(cert)];
  return runCli(port, ['--tls', '--cacert', certs.crt('ca'), ...id, ...args], input);
}

interface TlsExchange {
  data: string;
  closed: boolean;
  error: string | null;
}

/**
 * Open a TLS connection, send `send`, optionally half-close, and collect what arrives until
 * the server closes, `until` matches, or `timeoutMs` passes.
 */
function tlsExchange(
  port: number,
  send: string,
  opts: { cert?: 'client' | 'rogue' | 'expired' | null; end?: boolean; until?: (data: string) => boolean; timeoutMs?: number; tls?: tls.ConnectionOptions } = {},
): Promise<TlsExchange> {
  return new Promise((resolve) => {
    let data = '';
    let error: string | null = null;
    const cert = opts.cert === undefined ? 'client' : opts.cert;
    const id = cert === null ? {} : { cert: certs.read(certs.crt(cert)), key: certs.read(certs.key(cert)) };
    const socket = tls.connect({ host: '127.0.0.1', port, ca: certs.read(certs.crt('ca')), ...id, ...opts.tls }, () => {
      if (send !== '') socket.write(send);
      if (opts.end === true) socket.end();
    });
    let settled = false;
    const done = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ data, closed, error });
    };
    const timer = setTimeout(() => done(false), opts.timeoutMs ?? 3000);
    socket.on('data', (c: Buffer) => {
      data += c.toString('latin1');
      if (opts.until?.(data) === true) done(false);
    });
    socket.on('error', (e: Error & { code?: string }) => {
      error = e.code ?? e.message;
    });
    socket.on('close', () => done(true));
  });
}

/** ioredis over TLS with the test CA and the client certificate. */
async function tlsRedis(port: number, cert: 'client' | null = 'client'): Promise<Redis> {
  const id = cert === null ? {} : { cert: certs.read(certs.crt(cert)), key: certs.read(certs.key(cert)) };
  const c = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, tls: { ca: certs.read(certs.crt('ca')), ...id } });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

/** Run a node:tls-less start of quorumkv that is expected to fail; its exit code and output. */
function failedStart(args: string[]): { code: number | null; output: string } {
  const dir = makeTempDir('qkv-tls-bad-');
  const r = spawnSync(process.execPath, [QUORUMKV_MAIN, '--port', '0', '--engine', 'memory', '--dir', dir, ...args], { encoding: 'utf8', timeout: 15_000 });
  return { code: r.status, output: r.stdout + r.stderr };
}

function failedRedisStart(args: string[]): { code: number | null; output: string } {
  const dir = makeTempDir('qkv-tls-bad-redis-');
  const r = spawnSync(REDIS_SERVER_BIN, ['--port', '0', '--save', '', '--dir', dir, ...args], { encoding: 'utf8', timeout: 15_000 });
  return { code: r.status, output: r.stdout + r.stderr };
}

/** Redis's log line before "Failed to configure TLS": the reason. */
function reasonLine(output: string): string {
  const lines = output.split('\n').map((l) => l.replace(/^\d+:[A-Z] [^#*]*[#*] /, '').trim());
  const i = lines.findIndex((l) => l.includes('Failed to configure TLS. Check logs for more info.'));
  return i > 0 ? lines[i - 1] : `(no TLS failure in: ${output.slice(-500)})`;
}

describe('TLS for clients', () => {
  let qkv: ServerProcess;
  let qkvTls: number;
  let redis: ServerProcess;
  let redisTls: number;

  beforeAll(async () => {
    certs = makeCerts();
    qkvTls = await freePort();
    redisTls = await freePort();
    [qkv, redis] = await Promise.all([
      startQuorumkv(['--engine', 'memory', ...tlsArgs(certs, qkvTls)]),
      startRedis({ args: tlsArgs(certs, redisTls) }),
    ]);
  });

  afterAll(async () => {
    await stopAll();
  });

  it('redis-cli --tls with a client certificate: PING, SET/GET, a 1 MB value', async () => {
    expect(await tlsCli(qkvTls, ['PING'])).toMatchObject({ stdout: 'PONG\n', code: 0 });
    expect((await tlsCli(qkvTls, ['SET', 'greeting', 'hello over tls'])).stdout).toBe('OK\n');
    expect((await tlsCli(qkvTls, ['GET', 'greeting'])).stdout).toBe('hello over tls\n');
    const big = Buffer.alloc(1024 * 1024, 'x');
    expect((await tlsCli(qkvTls, ['-x', 'SET', 'big'], 'client', big)).stdout).toBe('OK\n');
    expect((await tlsCli(qkvTls, ['STRLEN', 'big'])).stdout).toBe(`${big.length}\n`);
    const got = await tlsCli(qkvTls, ['GET', 'big']);
    expect(got.stdout.length).toBe(big.length + 1);
    expect(got.stdout).toBe(`${big.toString()}\n`);
  });

  it('tls-auth-clients yes refuses a client without a certificate, or with one from another CA or expired, as redis-server does', async () => {
    for (const cert of [null, 'rogue', 'expired'] as const) {
      const [q, r] = await Promise.all([tlsCli(qkvTls, ['PING'], cert), tlsCli(redisTls, ['PING'], cert)]);
      expect(r.stdout, `redis-server with ${cert ?? 'no'} certificate`).not.toContain('PONG');
      expect(q.stdout, `quorumkv with ${cert ?? 'no'} certificate`).not.toContain('PONG');
      // Both fail (redis-cli reads a reset from redis-server and a close, or dies of
      // SIGPIPE writing after it, from quorumkv: node:tls closes after its alert).
      expect(r.code).not.toBe(0);
      expect(q.code).not.toBe(0);
    }
    // The server is unharmed.
    expect((await tlsCli(qkvTls, ['PING'])).stdout).toBe('PONG\n');
  });

  it('plain port and TLS port at once serve the same data; CLIENT LIST shows the TLS client\'s address', async () => {
    const plain = await runCli(qkv.port, ['SET', 'both', 'ways']);
    expect(plain.stdout).toBe('OK\n');
    expect((await tlsCli(qkvTls, ['GET', 'both'])).stdout).toBe('ways\n');
    const c = await tlsRedis(qkvTls);
    try {
      const list = (await c.client('LIST')) as string;
      const mine = list.split('\n').find((l) => l.includes('cmd=client|list'));
      expect(mine).toBeDefined();
      const local = (c as unknown as { stream: net.Socket }).stream;
      expect(mine).toContain(`addr=127.0.0.1:${local.localPort}`);
      expect(mine).toContain(`laddr=127.0.0.1:${qkvTls}`);
      expect(await c.info('stats')).toMatch(/total_connections_received:\d+/);
    } finally {
      c.disconnect();
    }
  });

  it('ioredis with tls { ca, cert, key }: pipelining, large replies, a client that hangs up mid-reply', async () => {
    const c = await tlsRedis(qkvTls);
    try {
      const p = c.pipeline();
      for (let i = 0; i < 2000; i++) p.set(`k${i}`, `v${i}`);
      for (let i = 0; i < 2000; i++) p.get(`k${i}`);
      const res = (await p.exec()) ?? [];
      expect(res.length).toBe(4000);
      expect(res.slice(2000).map(([, v]) => v)).toEqual(Array.from({ length: 2000 }, (_, i) => `v${i}`));
      const value = Buffer.alloc(8 * 1024 * 1024, 'q');
      await c.set('eight', value);
      expect((await c.getBuffer('eight'))?.equals(value)).toBe(true);
      // A client that asks for 8 MB several times and hangs up at once.
      const rude = await tlsExchange(qkvTls, '*2\r\n$3\r\nGET\r\n$5\r\neight\r\n'.repeat(4), { until: (d) => d.length > 0 });
      expect(rude.data.startsWith('$8388608\r\n')).toBe(true);
      expect(await c.ping()).toBe('PONG');
      expect(await c.mget('k0', 'k1999', 'nope')).toEqual(['v0', 'v1999', null]);
    } finally {
      c.disconnect();
    }
  });

  it('half-close over TLS: every command sent before the shutdown of the sending side is answered', async () => {
    const cmds = ['SET hc 1', 'INCR hc', 'INCR hc', 'GET hc'].map((x) => `${x}\r\n`).join('');
    const r = await tlsExchange(qkvTls, cmds, { end: true });
    expect(r).toMatchObject({ data: '+OK\r\n:2\r\n:3\r\n$1\r\n3\r\n', closed: true });
  });

  it('redis-py with ssl=True, ssl_ca_certs, ssl_certfile and ssl_keyfile', () => {
    const script = [
      'import redis, sys',
      `r = redis.Redis(host="127.0.0.1", port=${qkvTls}, ssl=True, ssl_ca_certs=sys.argv[1], ssl_certfile=sys.argv[2], ssl_keyfile=sys.argv[3])`,
      'r.set("py", "thon")',
      'p = r.pipeline(transaction=False)',
      'for i in range(100): p.incr("pyc")',
      'res = p.execute()',
      'print(r.ping(), r.get("py").decode(), res[-1], len(r.hgetall("nohash")))',
    ].join('\n');
    const r = spawnSync(PYTHON, ['-c', script, certs.crt('ca'), certs.crt('client'), certs.key('client')], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('True thon 100 0\n');
  });

  it('garbage and plain RESP sent to the TLS port are dropped without disturbing other clients', async () => {
    const c = await tlsRedis(qkvTls);
    try {
      await c.set('steady', '1');
      const rawSend = (bytes: string): Promise<string> =>
        new Promise((resolve) => {
          let data = '';
          const s = net.connect({ host: '127.0.0.1', port: qkvTls }, () => s.write(bytes));
          const t = setTimeout(() => {
            s.destroy();
            resolve(`${data}(open)`);
          }, 3000);
          s.on('data', (d: Buffer) => (data += d.toString('latin1')));
          s.on('error', () => undefined);
          s.on('close', () => {
            clearTimeout(t);
            resolve(`${data}(closed)`);
          });
        });
      const [plain, garbage] = await Promise.all([rawSend('*1\r\n$4\r\nPING\r\n'), rawSend(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)).toString('latin1'))]);
      // No PONG in clear text; the server answers with a TLS alert (or nothing) and closes.
      expect(plain).not.toContain('PONG');
      expect(plain.endsWith('(closed)')).toBe(true);
      expect(garbage.endsWith('(closed)')).toBe(true);
      // A connection that never says anything does not hold up others either.
      const idle = net.connect({ host: '127.0.0.1', port: qkvTls });
      idle.on('error', () => undefined);
      expect(await c.incr('steady')).toBe(2);
      expect((await tlsCli(qkvTls, ['GET', 'steady'])).stdout).toBe('2\n');
      idle.destroy();
    } finally {
      c.disconnect();
    }
  });

  it('protected mode over TLS: a client from 127.0.0.2 gets -DENIED after the handshake, as from redis-server', async () => {
    const [q, r] = await Promise.all(
      [qkvTls, redisTls].map((p) => tlsExchange(p, 'PING\r\n', { tls: { localAddress: '127.0.0.2' } as tls.ConnectionOptions })),
    );
    expect(r.data).toMatch(/^-DENIED Redis is running in protected mode/);
    expect(q.data).toBe(r.data);
    expect(q.closed).toBe(true);
  });

  it('CONFIG GET answers the tls-* directives as redis-server does', async () => {
    for (const name of ['tls-port', 'tls-auth-clients', 'tls-protocols', 'tls-ciphers', 'tls-ciphersuites', 'tls-prefer-server-ciphers', 'tls-session-caching', 'tls-session-cache-size', 'tls-session-cache-timeout', 'tls-cluster', 'tls-replication', 'tls-key-file-pass', 'tls-ca-cert-dir', 'tls-dh-params-file', 'tls-client-cert-file']) {
      const [q, r] = await Promise.all([runCli(qkv.port, ['CONFIG', 'GET', name]), runCli(redis.port, ['CONFIG', 'GET', name])]);
      const norm = (s: string): string => s.replace(String(qkvTls), 'P').replace(String(redisTls), 'P');
      expect(norm(q.stdout), name).toBe(norm(r.stdout));
    }
    expect((await runCli(qkv.port, ['CONFIG', 'GET', 'tls-cert-file'])).stdout).toBe(`tls-cert-file\n${certs.crt('server')}\n`);
  });

  it('CONFIG SET of a file that does not load is refused with Redis\'s words and changes nothing', async () => {
    for (const [name, value] of [['tls-cert-file', '/no/such.crt'], ['tls-key-file', certs.key('client')], ['tls-protocols', 'TLSv1.2 SSLv3'], ['tls-ciphersuites', 'NOPE']]) {
      const [q, r] = await Promise.all([runCli(qkv.port, ['CONFIG', 'SET', name, value]), runCli(redis.port, ['CONFIG', 'SET', name, value])]);
      expect(q.stdout, name).toBe(r.stdout);
      expect(q.stdout).toContain('Unable to update TLS configuration');
    }
    expect((await runCli(qkv.port, ['CONFIG', 'SET', 'tls-cluster', 'yes'])).stdout).toContain("can't set immutable config");
    expect((await tlsCli(qkvTls, ['PING'])).stdout).toBe('PONG\n');
  });
});

describe('TLS: CONFIG SET reloads for new connections', () => {
  let qkv: ServerProcess;
  let tlsPort: number;

  beforeAll(async () => {
    certs = makeCerts();
    tlsPort = await freePort();
    qkv = await startQuorumkv(['--engine', 'memory', ...tlsArgs(certs, tlsPort)]);
  });

  afterAll(async () => {
    await stopAll();
  });

  it('tls-auth-clients optional / no / yes take effect for the next connection', async () => {
    expect((await tlsCli(tlsPort, ['PING'], null)).stdout).not.toContain('PONG');
    expect((await runCli(qkv.port, ['CONFIG', 'SET', 'tls-auth-clients', 'optional'])).stdout).toBe('OK\n');
    expect((await tlsCli(tlsPort, ['PING'], null)).stdout).toBe('PONG\n');
    expect((await tlsCli(tlsPort, ['PING'], 'client')).stdout).toBe('PONG\n');
    // Optional: a certificate that is presented must verify.
    expect((await tlsCli(tlsPort, ['PING'], 'rogue')).stdout).not.toContain('PONG');
    expect((await tlsCli(tlsPort, ['PING'], 'expired')).stdout).not.toContain('PONG');
    expect((await runCli(qkv.port, ['CONFIG', 'SET', 'tls-auth-clients', 'no'])).stdout).toBe('OK\n');
    expect((await tlsCli(tlsPort, ['PING'], null)).stdout).toBe('PONG\n');
    expect((await runCli(qkv.port, ['CONFIG', 'SET', 'tls-auth-clients', 'yes'])).stdout).toBe('OK\n');
    expect((await tlsCli(tlsPort, ['PING'], null)).stdout).not.toContain('PONG');
  });

  it('a new certificate and CA apply to new connections; an open one keeps working', async () => {
    const kept = await tlsRedis(tlsPort);
    try {
      // Present the certificate signed by the other CA, and trust only that CA for clients.
      const r = await runCli(qkv.port, ['CONFIG', 'SET', 'tls-cert-file', certs.crt('rogue'), 'tls-key-file', certs.key('rogue'), 'tls-auth-clients', 'no']);
      expect(r.stdout).toBe('OK\n');
      // A client trusting only the test CA now refuses the server...
      const refused = await tlsExchange(tlsPort, 'PING\r\n', { cert: null });
      expect(refused.data).toBe('');
      expect(refused.error).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|unable to get|certificate/i);
      // ...and one trusting the other CA is served.
      const other = await tlsExchange(tlsPort, 'PING\r\n', { cert: null, tls: { ca: certs.read(certs.crt('other-ca')) }, until: (d) => d.endsWith('\r\n') });
      expect(other.data).toBe('+PONG\r\n');
      expect(await kept.ping()).toBe('PONG');
      // Back, with the key encrypted this time.
      const back = await runCli(qkv.port, ['CONFIG', 'SET', 'tls-cert-file', certs.crt('server-enc'), 'tls-key-file', certs.key('server-enc'), 'tls-key-file-pass', certs.keyPass, 'tls-auth-clients', 'yes']);
      expect(back.stdout).toBe('OK\n');
      expect((await tlsCli(tlsPort, ['PING'])).stdout).toBe('PONG\n');
    } finally {
      kept.disconnect();
    }
  });

  it('tls-session-caching: sessions resume by default, not with no', async () => {
    const resumed = async (): Promise<boolean> => {
      let session: Buffer | undefined;
      const once = (): Promise<boolean> =>
        new Promise((resolve) => {
          const s = tls.connect({ host: '127.0.0.1', port: tlsPort, ca: certs.read(certs.crt('ca')), cert: certs.read(certs.crt('client')), key: certs.read(certs.key('client')), session });
          let reused = false;
          s.on('session', (x: Buffer) => (session = x));
          s.on('secureConnect', () => {
            reused = s.isSessionReused();
            s.write('PING\r\n');
          });
          s.on('data', () => s.end());
          s.on('error', () => undefined);
          s.on('close', () => resolve(reused));
        });
      await once();
      return once();
    };
    expect(await resumed()).toBe(true);
    expect((await runCli(qkv.port, ['CONFIG', 'SET', 'tls-session-caching', 'no'])).stdout).toBe('OK\n');
    expect(await resumed()).toBe(false);
    expect((await runCli(qkv.port, ['CONFIG', 'SET', 'tls-session-caching', 'yes'])).stdout).toBe('OK\n');
    expect(await resumed()).toBe(true);
  });

  it('tls-port can be moved and turned off; the old port stops accepting', async () => {
    const next = await freePort();
    expect((await runCli(qkv.port, ['CONFIG', 'SET', 'tls-port', String(next)])).stdout).toBe('OK\n');
    expect((await tlsCli(next, ['PING'])).stdout).toBe('PONG\n');
    expect((await tlsCli(tlsPort, ['PING'])).stdout).not.toContain('PONG');
    expect((await runCli(qkv.port, ['CONFIG', 'GET', 'tls-port'])).stdout).toBe(`tls-port\n${next}\n`);
    // A port in use is refused and the current one kept, with everything else set alongside.
    const r = await runCli(qkv.port, ['CONFIG', 'SET', 'tls-port', String(qkv.port), 'tls-auth-clients', 'no']);
    expect(r.stdout).toContain('Unable to listen on this port');
    expect((await runCli(qkv.port, ['CONFIG', 'GET', 'tls-port'])).stdout).toBe(`tls-port\n${next}\n`);
    expect((await runCli(qkv.port, ['CONFIG', 'GET', 'tls-auth-clients'])).stdout).toBe('tls-auth-clients\nyes\n');
    expect((await tlsCli(next, ['PING'], null)).stdout).not.toContain('PONG');
    expect((await runCli(qkv.port, ['CONFIG', 'SET', 'tls-port', '0'])).stdout).toBe('OK\n');
    expect((await tlsCli(next, ['PING'])).stdout).not.toContain('PONG');
    expect((await runCli(qkv.port, ['PING'])).stdout).toBe('PONG\n');
    tlsPort = next;
  });

  it('tls-protocols TLSv1.3 refuses a TLSv1.2-only client; tls-ca-cert-dir is read', async () => {
    const port = await freePort();
    const caDir = makeTempDir('qkv-cadir-');
    fs.copyFileSync(certs.crt('ca'), path.join(caDir, 'test-ca.pem'));
    fs.writeFileSync(path.join(caDir, 'README'), 'not a certificate\n');
    const r = await runCli(qkv.port, ['CONFIG', 'SET', 'tls-port', String(port), 'tls-protocols', 'TLSv1.3', 'tls-ca-cert-file', '', 'tls-ca-cert-dir', caDir]);
    expect(r.stdout).toBe('OK\n');
    const v13 = await tlsExchange(port, 'PING\r\n', { until: (d) => d.endsWith('\r\n') });
    expect(v13.data).toBe('+PONG\r\n');
    const v12 = await tlsExchange(port, 'PING\r\n', { tls: { maxVersion: 'TLSv1.2' } });
    expect(v12.data).toBe('');
    expect(v12.error).not.toBeNull();
  });
});

describe('TLS only (port 0) and start-up errors', () => {
  afterAll(async () => {
    await stopAll();
  });

  it('port 0 with a tls-port listens for TLS alone', async () => {
    certs = makeCerts();
    const tlsPort = await freePort();
    const dir = makeTempDir('qkv-tls-only-');
    const child = spawn(process.execPath, [QUORUMKV_MAIN, '--port', '0', '--bind', '127.0.0.1', '--engine', 'memory', '--dir', dir, ...tlsArgs(certs, tlsPort)], { stdio: 'ignore' });
    try {
      await waitFor(async () => (await tlsExchange(tlsPort, 'PING\r\n', { until: (d) => d.endsWith('\r\n'), timeoutMs: 1000 })).data === '+PONG\r\n', 15_000, { what: 'a TLS PING' });
      const info = await tlsCli(tlsPort, ['CONFIG', 'GET', 'port']);
      expect(info.stdout).toBe('port\n0\n');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });

  it('a bad TLS setup stops start-up with the reason redis-server logs', () => {
    certs = makeCerts();
    const cases: string[][] = [
      ['--tls-port', '6390'],
      ['--tls-port', '6390', '--tls-cert-file', certs.crt('server'), '--tls-key-file', certs.key('server')],
      ['--tls-port', '6390', '--tls-cert-file', '/no/such.crt', '--tls-key-file', certs.key('server'), '--tls-ca-cert-file', certs.crt('ca')],
      ['--tls-port', '6390', '--tls-cert-file', certs.crt('server'), '--tls-key-file', '/no/such.key', '--tls-ca-cert-file', certs.crt('ca')],
      ['--tls-port', '6390', '--tls-cert-file', certs.crt('server'), '--tls-key-file', certs.key('server'), '--tls-ca-cert-file', certs.crt('ca'), '--tls-protocols', 'TLSv1.2 TLSv9'],
      ['--tls-port', '6390', '--tls-cert-file', certs.crt('server'), '--tls-key-file', certs.key('server'), '--tls-ca-cert-file', certs.crt('ca'), '--tls-ciphers', 'NOPE'],
      ['--tls-port', '6390', '--tls-cert-file', certs.crt('server'), '--tls-key-file', certs.key('server'), '--tls-ca-cert-file', certs.crt('ca'), '--tls-ciphersuites', 'NOPE'],
    ];
    for (const args of cases) {
      const q = failedStart(args);
      const r = failedRedisStart(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(q.code, `${args.join(' ')}\n${q.output}`).toBe(1);
      // OpenSSL's and node's texts for a missing file differ; the prefix (what failed) agrees.
      const want = reasonLine(r.output).replace(/: error:.*$/, '');
      expect(reasonLine(q.output).startsWith(want), `${args.join(' ')}\n${q.output}`).toBe(true);
    }
    // An encrypted key without (or with the wrong) pass phrase.
    const enc = ['--tls-port', '6390', '--tls-cert-file', certs.crt('server-enc'), '--tls-key-file', certs.key('server-enc'), '--tls-ca-cert-file', certs.crt('ca'), '--tls-key-file-pass', 'wrong'];
    expect(reasonLine(failedStart(enc).output)).toMatch(/^Failed to load private key: /);
    // A bad enum is a config file error, as in Redis.
    const bad = failedStart(['--tls-auth-clients', 'maybe']);
    expect(bad.code).toBe(1);
    expect(bad.output).toContain('argument(s) must be one of the following: no, yes, optional');
    expect(failedRedisStart(['--tls-auth-clients', 'maybe']).output).toContain('argument(s) must be one of the following: no, yes, optional');
  });
});
