/**
 * RawClient against an in-process fake server that writes canned bytes: replies split
 * across writes, pushes kept apart, and the server hanging up at every point.
 */
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionClosedError, RawClient, ReplyTimeoutError } from './raw-client';

type Script = (socket: net.Socket, request: Buffer) => void;

const servers: net.Server[] = [];

/** A server that calls `onData` with each chunk it receives. */
async function fakeServer(onData: Script): Promise<number> {
  const server = net.createServer((socket) => socket.on('data', (chunk) => onData(socket, chunk)));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

describe('RawClient', () => {
  it('returns one whole reply even when the server writes it byte by byte', async () => {
    const reply = Buffer.from('*2\r\n$3\r\nabc\r\n:1\r\n');
    const port = await fakeServer((socket) => {
      for (const byte of reply) socket.write(Buffer.from([byte]));
    });
    const client = await RawClient.connect(port);
    expect((await client.send('X')).equals(reply)).toBe(true);
    client.close();
  });

  it('splits replies that arrive in one chunk, in order', async () => {
    const port = await fakeServer((socket) => socket.write('+ONE\r\n+TWO\r\n'));
    const client = await RawClient.connect(port);
    const first = client.send('A');
    expect((await first).toString()).toBe('+ONE\r\n');
    expect((await client.nextReply()).toString()).toBe('+TWO\r\n');
    client.close();
  });

  it('sends arguments as a binary-safe multibulk request', async () => {
    let seen = Buffer.alloc(0);
    const port = await fakeServer((socket, chunk) => {
      seen = Buffer.concat([seen, chunk]);
      if (seen.length >= 27) socket.write('+OK\r\n');
    });
    const client = await RawClient.connect(port);
    await client.send('SET', Buffer.from([0, 0xff]), '');
    expect(seen.toString('latin1')).toBe('*3\r\n$3\r\nSET\r\n$2\r\n\x00\xff\r\n$0\r\n\r\n');
    client.close();
  });

  it('keeps push frames apart from replies', async () => {
    const port = await fakeServer((socket) => socket.write('>2\r\n+invalidate\r\n*0\r\n:5\r\n'));
    const client = await RawClient.connect(port);
    expect((await client.send('X')).toString()).toBe(':5\r\n');
    expect(client.pushes.map((p) => p.toString())).toEqual(['>2\r\n+invalidate\r\n*0\r\n']);
    client.close();
  });

  it('readFrame returns push frames too', async () => {
    const port = await fakeServer((socket) => socket.write('>1\r\n+hi\r\n'));
    const client = await RawClient.connect(port);
    await client.sendRaw('X', 0);
    expect((await client.readFrame()).toString()).toBe('>1\r\n+hi\r\n');
    client.close();
  });

  it('sendRaw collects the asked number of frames, or fewer if the server hangs up', async () => {
    const port = await fakeServer((socket) => socket.end('-ERR Protocol error: x\r\n'));
    const client = await RawClient.connect(port);
    const frames = await client.sendRaw('*abc\r\n', 3);
    expect(frames.map((f) => f.toString())).toEqual(['-ERR Protocol error: x\r\n']);
    expect(await client.waitClosed(1_000)).toBe(true);
    expect(client.closed).toBe(true);
  });

  it('send rejects with ConnectionClosedError and the torn bytes when the server hangs up', async () => {
    const port = await fakeServer((socket) => socket.end('$10\r\nabc'));
    const client = await RawClient.connect(port);
    const err = await client.send('X').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as ConnectionClosedError).partial.toString()).toBe('$10\r\nabc');
  });

  it('waitClosed is bounded and false while the connection stays open', async () => {
    const port = await fakeServer(() => undefined);
    const client = await RawClient.connect(port);
    expect(await client.waitClosed(50)).toBe(false);
    client.close();
  });

  it('a missing reply times out instead of hanging', async () => {
    const port = await fakeServer(() => undefined);
    const client = await RawClient.connect(port, { timeoutMs: 100 });
    await expect(client.send('X')).rejects.toBeInstanceOf(ReplyTimeoutError);
    client.close();
  });

  it('malformed server output fails the wait', async () => {
    const port = await fakeServer((socket) => socket.write('?what\r\n'));
    const client = await RawClient.connect(port);
    await expect(client.send('X')).rejects.toThrow(/malformed RESP/);
  });
});
