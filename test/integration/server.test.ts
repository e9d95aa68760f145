/**
 * The server over real TCP with ioredis and raw sockets: pipelining, binary values, limits
 * (maxclients, query buffer, output back-pressure), authentication, protocol errors that
 * close one connection and leave the others alone, and start-up refusing bad directives.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as net from 'node:net';
import Redis, { type RedisOptions } from 'ioredis';
import { QUORUMKV_MAIN, startQuorumkv, stopAll, waitFor } from '../support/servers';

afterAll(async () => {
  await stopAll();
});

async function connect(port: number, extra: RedisOptions = {}): Promise<Redis> {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...extra });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

function rawSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Collect everything a socket receives until it closes (bounded by timeoutMs). */
function readUntilClosed(s: net.Socket, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const t = setTimeout(() => reject(new Error('socket not closed in time')), timeoutMs);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('close', () => {
      clearTimeout(t);
      resolve(Buffer.concat(chunks));
    });
  });
}

describe('ioredis over TCP', () => {
  it('runs a long pipeline in order with binary keys and values', async () => {
    const node = await startQuorumkv(['--engine', 'rocksdb']);
    const c = await connect(node.port);
    const value = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const key = Buffer.from([0, 0xff, 0x0d, 0x0a, 0x20]);
    await c.set(key, value);
    expect((await c.getBuffer(key))?.equals(value)).toBe(true);
    const p = c.pipeline();
    for (let i = 0; i < 2000; i++) p.incr('counter');
    const results = (await p.exec()) ?? [];
    expect(results.map(([, n]) => n)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    // ioredis sends CLIENT SETINFO on connect (Redis 7.2); quorumkv records it.
    const list = await c.client('LIST');
    expect(String(list)).toMatch(/lib-name=ioredis/);
    c.disconnect();
    await node.stop();
  });
});

describe('limits', () => {
  it('refuses clients beyond maxclients with Redis\'s error', async () => {
    const node = await startQuorumkv(['--engine', 'memory', '--maxclients', '2']);
    const a = await rawSocket(node.port);
    const b = await rawSocket(node.port);
    a.write('PING\r\n');
    const third = await rawSocket(node.port);
    const got = await readUntilClosed(third);
    expect(got.toString()).toBe('-ERR max number of clients reached\r\n');
    a.destroy();
    b.destroy();
    await node.stop();
  });

  it('closes a client past client-query-buffer-limit and keeps serving others', async () => {
    const node = await startQuorumkv(['--engine', 'memory', '--client-query-buffer-limit', '1mb']);
    const other = await connect(node.port);
    await other.set('k', 'v');
    const s = await rawSocket(node.port);
    const closed = readUntilClosed(s, 10_000);
    // A bulk announced within proto-max-bulk-len but never finished fills the query buffer.
    s.write(`*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$${4 * 1024 * 1024}\r\n`);
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    for (let i = 0; i < 8 && !s.destroyed; i++) s.write(chunk);
    await closed;
    expect(await other.get('k')).toBe('v');
    expect(await other.exists('x')).toBe(0);
    other.disconnect();
    await node.stop();
  });

  it('answers a protocol error, closes only that connection, and loses nothing', async () => {
    const node = await startQuorumkv(['--engine', 'rocksdb']);
    const other = await connect(node.port);
    const s = await rawSocket(node.port);
    const closed = readUntilClosed(s);
    s.write('*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nSET\r\n$abc\r\n');
    expect((await closed).toString()).toBe('+PONG\r\n-ERR Protocol error: invalid bulk length\r\n');
    expect(await other.ping()).toBe('PONG');
    other.disconnect();
    await node.stop();
  });

  it('stops reading from a client that does not read its replies, then catches up', async () => {
    const node = await startQuorumkv(['--engine', 'memory', '--output-buffer-limit', '1mb']);
    const c = await connect(node.port);
    await c.set('big', Buffer.alloc(256 * 1024, 0x62));
    const s = await rawSocket(node.port);
    s.pause(); // read nothing
    const n = 400; // 400 × 256 KB = 100 MB of replies
    const req = Buffer.from('*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n');
    s.write(Buffer.concat(Array.from({ length: n }, () => req)));
    // The server must hold back: its output for this client stays near the limit, far
    // below the 100 MB the client asked for, while other clients are served.
    await waitFor(async () => /omem=[1-9]/.test(String(await c.client('LIST'))), 10_000);
    const omems = [...String(await c.client('LIST')).matchAll(/omem=(\d+)/g)].map((m) => Number(m[1]));
    expect(Math.max(...omems)).toBeLessThan(16 * 1024 * 1024);
    expect(await c.ping()).toBe('PONG');
    // Now read everything: every reply arrives, complete.
    let received = 0;
    const want = n * (Buffer.byteLength('$262144\r\n') + 256 * 1024 + 2);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`only ${received} of ${want} bytes`)), 30_000);
      s.on('data', (d: Buffer) => {
        received += d.length;
        if (received >= want) {
          clearTimeout(t);
          resolve();
        }
      });
      s.resume();
    });
    expect(received).toBe(want);
    s.destroy();
    c.disconnect();
    await node.stop();
  });
});

describe('authentication', () => {
  it('requires AUTH when requirepass is set, with Redis\'s errors', async () => {
    const node = await startQuorumkv(['--engine', 'memory', '--requirepass', 's3cret']);
    const noCheck = { enableReadyCheck: false };
    const c = await connect(node.port, noCheck);
    await expect(c.get('k')).rejects.toThrow('NOAUTH Authentication required.');
    await expect(c.auth('wrong')).rejects.toThrow('WRONGPASS invalid username-password pair or user is disabled.');
    expect(await c.auth('s3cret')).toBe('OK');
    expect(await c.set('k', 'v')).toBe('OK');
    const d = await connect(node.port, noCheck);
    const hello = (await d.call('HELLO', '2', 'AUTH', 'default', 's3cret')) as unknown[];
    expect(hello).toContain('proto');
    expect(await d.get('k')).toBe('v');
    // Changing the password at run time applies to new authentications.
    expect(await c.config('SET', 'requirepass', 'other')).toBe('OK');
    const e = await connect(node.port, noCheck);
    await expect(e.auth('s3cret')).rejects.toThrow('WRONGPASS');
    expect(await e.auth('other')).toBe('OK');
    c.disconnect();
    d.disconnect();
    e.disconnect();
    await node.stop();
  });
});

describe('configuration errors', () => {
  const run = (args: string[]): { status: number | null; stderr: string } => {
    const r = spawnSync(process.execPath, [QUORUMKV_MAIN, ...args], { encoding: 'utf8', timeout: 20_000 });
    return { status: r.status, stderr: r.stderr };
  };

  it('refuses an unknown directive, naming it and the line', () => {
    const r = run(['--port', '0', '--no-such-thing', 'yes']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("unknown directive 'no-such-thing'");
    expect(r.stderr).toContain('at line 2');
  });

  it('refuses a bad value, naming the directive and the reason', () => {
    const r = run(['--port', 'abc']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("directive 'port': argument couldn't be parsed into an integer");
  });

  it('refuses a bad config file line, naming the file', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'qkv-conf-')), 'bad.conf');
    fs.writeFileSync(file, '# comment\nport 7000\nappendfsync sometimes\n');
    const r = run([file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('at line 3');
    expect(r.stderr).toContain("directive 'appendfsync'");
  });
});
