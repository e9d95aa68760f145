/**
 * ACL with real clients and real start-ups (one node):
 * - `user` directives in the config file (several) and requirepass: redis-cli
 *   (`--user --pass`), ioredis (username/password options) and redis-py (Debian's
 *   python3-redis, run with /usr/bin/python3) authenticate as an ACL user, run what it may
 *   and are refused (-NOPERM) what it may not;
 * - `aclfile`: loaded at start-up; ACL SETUSER, ACL SAVE, a restart, and the users are back,
 *   the file in Redis's format (ACL LIST lines);
 * - user and aclfile together stop start-up, as in Redis;
 * - ACL DELUSER disconnects the clients authenticated as the user; a user turned off cannot
 *   authenticate; ACL LOAD replaces the users.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import { makeTempDir, startQuorumkv, stopAll, waitFor, errorOf } from '../support/servers';

const run = promisify(execFile);

afterAll(async () => {
  await stopAll();
});

async function cli(port: number, ...args: string[]): Promise<string> {
  // A failed AUTH is reported on stderr ("AUTH failed: ..."), and the command still runs.
  const { stdout, stderr } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--no-auth-warning', ...args]);
  return (stderr + stdout).trim();
}

describe('ACL users from the config file', () => {
  it('redis-cli, ioredis and redis-py authenticate as an ACL user and are refused the rest', async () => {
    const dir = makeTempDir('qkv-acl-conf-');
    const conf = path.join(dir, 'quorumkv.conf');
    fs.writeFileSync(
      conf,
      ['requirepass topsecret', 'user app on >apppass ~app:* +@read +@write -flushall +publish &events', 'user reader on >rpass %R~* +get +mget', ''].join('\n'),
    );
    const node = await startQuorumkv([conf, '--engine', 'memory']);

    // Unauthenticated: NOAUTH; the default user has requirepass's password.
    expect(await cli(node.port, 'GET', 'x')).toContain('NOAUTH');
    expect(await cli(node.port, '-a', 'topsecret', 'ACL', 'USERS')).toBe('app\ndefault\nreader');
    expect(await cli(node.port, '-a', 'topsecret', 'ACL', 'GETUSER', 'app')).toContain('~app:*');

    // redis-cli --user --pass.
    expect(await cli(node.port, '--user', 'app', '--pass', 'apppass', 'SET', 'app:1', 'v1')).toBe('OK');
    expect(await cli(node.port, '--user', 'app', '--pass', 'apppass', 'GET', 'app:1')).toBe('v1');
    expect(await cli(node.port, '--user', 'app', '--pass', 'apppass', 'SET', 'other', 'v')).toBe('NOPERM this user has no permissions to access one of the keys used as arguments');
    expect(await cli(node.port, '--user', 'app', '--pass', 'apppass', 'FLUSHALL')).toBe("NOPERM this user has no permissions to run the 'flushall' command");
    expect(await cli(node.port, '--user', 'app', '--pass', 'apppass', 'ACL', 'WHOAMI')).toBe("NOPERM this user has no permissions to run the 'acl|whoami' command");
    expect(await cli(node.port, '--user', 'app', '--pass', 'wrong', 'GET', 'app:1')).toContain('WRONGPASS');

    // ioredis with username/password.
    const io = new Redis({ port: node.port, host: '127.0.0.1', username: 'reader', password: 'rpass', lazyConnect: true, maxRetriesPerRequest: 0 });
    await io.connect();
    expect(await io.get('app:1')).toBe('v1');
    expect(await io.mget('app:1', 'nothing')).toEqual(['v1', null]);
    expect(await errorOf(io.set('app:1', 'x'))).toMatch(/^NOPERM this user has no permissions to run the 'set' command/);
    io.disconnect();
    const bad = new Redis({ port: node.port, host: '127.0.0.1', username: 'reader', password: 'nope', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const authError = new Promise<string>((resolve) => bad.on('error', (err: Error) => resolve(err.message)));
    await errorOf(bad.connect());
    expect(await authError).toContain('WRONGPASS');
    bad.disconnect();

    // redis-py 4.3 (Debian's python3-redis).
    const py = [
      'import redis, sys',
      `r = redis.Redis(host="127.0.0.1", port=${node.port}, username="app", password="apppass")`,
      'print(r.set("app:py", "1"))',
      'print(r.get("app:py").decode())',
      'try:',
      '    r.get("nope")',
      '    print("allowed")',
      'except redis.exceptions.NoPermissionError as e:',
      '    print("NoPermissionError", e)',
      'try:',
      '    r.publish("other", "m")',
      'except redis.exceptions.NoPermissionError as e:',
      '    print("NoPermissionError", e)',
      'print(r.publish("events", "m"))',
    ].join('\n');
    const { stdout } = await run('/usr/bin/python3', ['-c', py]);
    expect(stdout.trim().split('\n')).toEqual([
      'True',
      '1',
      'NoPermissionError this user has no permissions to access one of the keys used as arguments',
      'NoPermissionError this user has no permissions to access one of the channels used as arguments',
      '0',
    ]);
  }, 60_000);

  it('refuses to start with both user directives and an aclfile', async () => {
    const dir = makeTempDir('qkv-acl-both-');
    const aclfile = path.join(dir, 'users.acl');
    fs.writeFileSync(aclfile, 'user a on nopass +@all ~*\n');
    const err = await errorOf(startQuorumkv(['--engine', 'memory', '--aclfile', aclfile, '--user', 'b', 'on', 'nopass']));
    expect(err).toContain('users defined in redis.conf and at the same setting an ACL file path is invalid');
  }, 30_000);
});

describe('aclfile', () => {
  it('is loaded at start-up, and ACL SAVE keeps the users over a restart', async () => {
    const dir = makeTempDir('qkv-acl-file-');
    const aclfile = path.join(dir, 'users.acl');
    fs.writeFileSync(aclfile, 'user alice on >p1 ~app:* +get\n');
    const node = await startQuorumkv(['--engine', 'rocksdb', '--aclfile', aclfile]);
    expect(await cli(node.port, 'ACL', 'USERS')).toBe('alice\ndefault');
    expect(await cli(node.port, 'ACL', 'SETUSER', 'bob', 'on', '>pb', '(~b* +set)', '+get', '~x')).toBe('OK');
    const before = await cli(node.port, 'ACL', 'LIST');
    expect(await cli(node.port, 'ACL', 'SAVE')).toBe('OK');
    expect(fs.readFileSync(aclfile, 'latin1')).toBe(before + '\n');
    await node.stop();
    const again = await startQuorumkv(['--engine', 'rocksdb', '--aclfile', aclfile], { dir: node.dir, port: node.port });
    expect(await cli(again.port, 'ACL', 'LIST')).toBe(before);
    expect(await cli(again.port, '--user', 'bob', '--pass', 'pb', 'SET', 'bx', '1')).toBe('OK');
    expect(await cli(again.port, '--user', 'bob', '--pass', 'pb', 'SET', 'x', '1')).toContain('NOPERM');

    // ACL LOAD: a broken file changes nothing; a good one replaces the users.
    fs.writeFileSync(aclfile, 'user carol on nopass +@all ~*\nfoo\n');
    expect(await cli(again.port, 'ACL', 'LOAD')).toBe(
      `ERR ${aclfile}:2 should start with user keyword followed by the username. WARNING: ACL errors detected, no change to the previously active ACL rules was performed`,
    );
    expect(await cli(again.port, 'ACL', 'USERS')).toBe('alice\nbob\ndefault');
    fs.writeFileSync(aclfile, 'user carol on nopass +@all ~*\n');
    expect(await cli(again.port, 'ACL', 'LOAD')).toBe('OK');
    expect(await cli(again.port, 'ACL', 'USERS')).toBe('carol\ndefault');
  }, 60_000);
});

describe('deleted and disabled users', () => {
  it('disconnects the clients of a deleted user; a disabled user cannot authenticate', async () => {
    const node = await startQuorumkv(['--engine', 'memory']);
    const admin = new Redis({ port: node.port, host: '127.0.0.1' });
    await admin.call('ACL', 'SETUSER', 'temp', 'on', '>t', '+@all', '~*');
    const client = new Redis({ port: node.port, host: '127.0.0.1', username: 'temp', password: 't', retryStrategy: () => null });
    expect(await client.call('ACL', 'WHOAMI')).toBe('temp');
    const closed = new Promise<void>((resolve) => client.once('end', () => resolve()));
    expect(await admin.call('ACL', 'DELUSER', 'temp')).toBe(1);
    await closed;

    // Deleting one's own user: the reply comes, then the connection closes.
    await admin.call('ACL', 'SETUSER', 'self', 'on', '>s', '+@all', '~*');
    const self = new Redis({ port: node.port, host: '127.0.0.1', username: 'self', password: 's', retryStrategy: () => null });
    expect(await self.call('ACL', 'WHOAMI')).toBe('self');
    const selfClosed = new Promise<void>((resolve) => self.once('end', () => resolve()));
    expect(await self.call('ACL', 'DELUSER', 'self')).toBe(1);
    await selfClosed;

    await admin.call('ACL', 'SETUSER', 'off1', 'off', '>o', '+@all', '~*');
    expect(await cli(node.port, '--user', 'off1', '--pass', 'o', 'PING')).toContain('WRONGPASS');
    const log = (await admin.call('ACL', 'LOG', '1')) as unknown[][];
    expect(log[0].slice(0, 10)).toEqual(['count', 1, 'reason', 'auth', 'context', 'toplevel', 'object', 'AUTH', 'username', 'off1']);
    // A changed user applies at once to its authenticated clients.
    await admin.call('ACL', 'SETUSER', 'live', 'on', '>l', '+@all', '~*');
    const live = new Redis({ port: node.port, host: '127.0.0.1', username: 'live', password: 'l' });
    expect(await live.set('k', '1')).toBe('OK');
    await admin.call('ACL', 'SETUSER', 'live', '-set');
    expect(await errorOf(live.set('k', '2'))).toMatch(/^NOPERM/);
    await waitFor(async () => (await admin.call('CLIENT', 'LIST') as string).includes('user=live'), 2000, { what: 'CLIENT LIST user=' });
    live.disconnect();
    admin.disconnect();
  }, 30_000);
});
