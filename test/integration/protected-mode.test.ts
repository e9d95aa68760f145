/**
 * protected-mode, against a real redis-server: with no password, a client that is not on
 * 127.0.0.1 / ::1 gets Redis's -DENIED text and is disconnected before it sends anything.
 * The tests connect from 127.0.0.2 (a loopback address Redis does not count as local).
 * With protected-mode no, or with a password set, such a client is served as usual.
 */
import { describe, expect, it } from 'vitest';
import * as net from 'node:net';
import { useServerPair } from '../support/server-pair';
import { RawClient } from '../support/raw-client';

const pair = useServerPair();

/** Connect from 127.0.0.2, optionally send bytes, and collect what arrives until close or 1 s. */
function fromOtherAddress(port: number, send: string | null): Promise<{ data: string; closed: boolean }> {
  return new Promise((resolve) => {
    let data = '';
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' }, () => {
      if (send !== null) socket.write(send);
    });
    const done = (closed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ data, closed });
    };
    const timer = setTimeout(() => done(false), 1000);
    socket.on('data', (c: Buffer) => {
      data += c.toString('latin1');
      if (send !== null && data.endsWith('\r\n') && !data.startsWith('-DENIED')) done(false);
    });
    socket.on('close', () => done(true));
    socket.on('error', () => undefined);
  });
}

async function configSet(port: number, name: string, value: string): Promise<void> {
  const c = await RawClient.connect(port);
  try {
    expect((await c.send('CONFIG', 'SET', name, value)).toString()).toBe('+OK\r\n');
  } finally {
    c.close();
  }
}

describe('protected-mode (redis-server vs quorumkv)', () => {
  it('refuses a client from another address with the same words, then serves it once turned off or with a password', async () => {
    const { reference, target } = pair;
    if (!reference || !target) throw new Error('servers did not start');
    const sides = [reference.port, target.port];
    const denied = await Promise.all(sides.map((p) => fromOtherAddress(p, null)));
    expect(denied[0].data).toMatch(/^-DENIED Redis is running in protected mode/);
    expect(denied[1]).toEqual(denied[0]);
    // CONFIG GET agrees, and turning it off lets the client in.
    for (const p of sides) {
      const c = await RawClient.connect(p);
      expect((await c.send('CONFIG', 'GET', 'protected-mode')).toString()).toBe('*2\r\n$14\r\nprotected-mode\r\n$3\r\nyes\r\n');
      c.close();
      await configSet(p, 'protected-mode', 'no');
    }
    const open = await Promise.all(sides.map((p) => fromOtherAddress(p, 'PING\r\n')));
    expect(open[0]).toEqual({ data: '+PONG\r\n', closed: false });
    expect(open[1]).toEqual(open[0]);
    // On again, but with a password: not protected; the client must authenticate.
    for (const p of sides) {
      await configSet(p, 'protected-mode', 'yes');
      await configSet(p, 'requirepass', 'secret');
    }
    const auth = await Promise.all(sides.map((p) => fromOtherAddress(p, 'PING\r\n')));
    expect(auth[0].data).toMatch(/^-NOAUTH/);
    expect(auth[1]).toEqual(auth[0]);
    for (const p of sides) {
      const c = await RawClient.connect(p);
      await c.send('AUTH', 'secret');
      await c.send('CONFIG', 'SET', 'requirepass', '');
      c.close();
    }
  });
});
