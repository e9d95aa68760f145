/**
 * redis-cli smoke test: the stock client must see the server under test exactly as it sees
 * redis-server. Each check runs the same redis-cli invocation against both and compares
 * stdout and exit code, and also pins the expected output so that the redis-vs-redis run
 * (QKV_COMPAT_TARGET=redis) proves the expectations themselves.
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { targetName } from '../support/servers';
import { useServerPair } from '../support/server-pair';

const REDIS_CLI = process.env.REDIS_CLI ?? 'redis-cli';
const CLI_TIMEOUT_MS = 10_000;

interface CliResult {
  stdout: Buffer;
  stderr: string;
  code: number | null;
}

function runCli(port: number, args: string[], input?: Buffer): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...args], {
      stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-cli ${args.join(' ')} did not finish within ${CLI_TIMEOUT_MS} ms`));
    }, CLI_TIMEOUT_MS);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString(), code });
    });
    if (input && child.stdin) child.stdin.end(input);
  });
}

/** Raw bytes in, everything the server writes until `replyBytes` have arrived, out. */
function rawExchange(port: number, request: string, replyBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no ${replyBytes}-byte reply to ${JSON.stringify(request)}`));
    }, CLI_TIMEOUT_MS);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= replyBytes) {
        clearTimeout(timer);
        socket.destroy();
        resolve(Buffer.concat(chunks));
      }
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.write(request);
  });
}

const pair = useServerPair();

/**
 * Run the same invocations, in order, against both servers; every output must equal
 * redis-server's and the expected text.
 */
async function sameOnBoth(steps: Array<{ args: string[]; expect: string | Buffer; input?: Buffer }>): Promise<void> {
  const { reference, target } = pair;
      if (!reference || !target) throw new Error('servers did not start');
  for (const step of steps) {
    const [ref, tgt] = await Promise.all([
      runCli(reference.port, step.args, step.input),
      runCli(target.port, step.args, step.input),
    ]);
    const want = typeof step.expect === 'string' ? Buffer.from(step.expect) : step.expect;
    const show = (r: CliResult): string => JSON.stringify({ stdout: r.stdout.toString('latin1'), stderr: r.stderr, code: r.code });
    expect(show(ref), `redis-server: redis-cli ${step.args.join(' ')}`).toBe(show({ stdout: want, stderr: '', code: 0 }));
    expect(show(tgt), `${targetName()}: redis-cli ${step.args.join(' ')}`).toBe(show(ref));
  }
}

describe(`redis-cli against ${targetName()}`, () => {
  it('PING', async () => {
    await sameOnBoth([
      { args: ['PING'], expect: 'PONG\n' },
      { args: ['PING', 'hello'], expect: 'hello\n' },
    ]);
  });

  it('SET and GET, raw output (the default when stdout is not a tty)', async () => {
    await sameOnBoth([
      { args: ['SET', 'cli:k', 'v'], expect: 'OK\n' },
      { args: ['GET', 'cli:k'], expect: 'v\n' },
      { args: ['GET', 'cli:nokey'], expect: '\n' },
      { args: ['DEL', 'cli:k'], expect: '1\n' },
    ]);
  });

  it('--no-raw output of bulk, nil, integer, array and error replies', async () => {
    await sameOnBoth([
      { args: ['--no-raw', 'SET', 'cli:n', '1'], expect: 'OK\n' },
      { args: ['--no-raw', 'GET', 'cli:n'], expect: '"1"\n' },
      { args: ['--no-raw', 'GET', 'cli:missing'], expect: '(nil)\n' },
      { args: ['--no-raw', 'INCR', 'cli:n'], expect: '(integer) 2\n' },
      { args: ['--no-raw', 'INCRBYFLOAT', 'cli:n', '1.5'], expect: '"3.5"\n' },
      { args: ['--no-raw', 'MGET', 'cli:n', 'cli:missing'], expect: '1) "3.5"\n2) (nil)\n' },
      { args: ['--no-raw', 'MGET', 'cli:missing'], expect: '1) (nil)\n' },
      { args: ['--no-raw', 'KEYS', 'cli:nomatch*'], expect: '(empty array)\n' },
      { args: ['--no-raw', 'TTL', 'cli:n'], expect: '(integer) -1\n' },
      {
        args: ['--no-raw', 'FOO', 'a'],
        expect: "(error) ERR unknown command 'FOO', with args beginning with: 'a' \n",
      },
      { args: ['--no-raw', 'GET'], expect: "(error) ERR wrong number of arguments for 'get' command\n" },
      { args: ['--no-raw', 'DEL', 'cli:n'], expect: '(integer) 1\n' },
    ]);
  });

  it('RESP3 output with -3', async () => {
    await sameOnBoth([
      { args: ['-3', '--no-raw', 'GET', 'cli:missing'], expect: '(nil)\n' },
      { args: ['-3', '--no-raw', 'CONFIG', 'GET', 'proto-max-bulk-len'], expect: '1# "proto-max-bulk-len" => "536870912"\n' },
    ]);
  });

  it('binary values: written with -x from stdin, read raw and escaped', async () => {
    const value = Buffer.from([0x61, 0x00, 0xff, 0x0a, 0x62, 0x0d]);
    await sameOnBoth([
      { args: ['-x', 'SET', 'cli:bin'], input: value, expect: 'OK\n' },
      { args: ['--no-raw', 'GET', 'cli:bin'], expect: '"a\\x00\\xff\\nb\\r"\n' },
      { args: ['GET', 'cli:bin'], expect: Buffer.concat([value, Buffer.from('\n')]) },
      { args: ['--no-raw', 'STRLEN', 'cli:bin'], expect: '(integer) 6\n' },
      { args: ['DEL', 'cli:bin'], expect: '1\n' },
    ]);
  });

  it('an inline command over a plain socket (printf "PING\\r\\n" | nc)', async () => {
    const { reference, target } = pair;
      if (!reference || !target) throw new Error('servers did not start');
    const ref = await rawExchange(reference.port, 'PING\r\n', 7);
    const tgt = await rawExchange(target.port, 'PING\r\n', 7);
    expect(ref.toString()).toBe('+PONG\r\n');
    expect(tgt.toString()).toBe(ref.toString());
    const refEcho = await rawExchange(reference.port, 'ECHO "a b"\r\n', 9);
    const tgtEcho = await rawExchange(target.port, 'ECHO "a b"\r\n', 9);
    expect(refEcho.toString()).toBe('$3\r\na b\r\n');
    expect(tgtEcho.toString()).toBe(refEcho.toString());
  });
});
