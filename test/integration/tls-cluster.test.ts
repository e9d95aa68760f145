/**
 * tls-cluster yes: the cluster bus over mutually authenticated TLS. Three nodes with
 * certificates from the test CA form a ring and replicate; a fourth whose certificate comes
 * from another CA is never admitted (no ring shows it, the others log its refused attempts);
 * plain TCP and a foreign certificate get no bus verb served; a valid certificate without
 * cluster-secret still fails the bus's own handshake.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUS_PROTOCOL_VERSION } from '../../src/bus/verbs';
import { makeCerts, type CertSet } from '../support/certs';
import { connect, FAST_GOSSIP, logs, ringNodes, startCluster, waitAllUp, type StartedCluster } from '../support/cluster';
import { startQuorumkv, stopAll, waitFor, type QuorumkvProcess } from '../support/servers';

const SECRET = 'sesame';

function clusterTls(c: CertSet, cert: 'server' | 'rogue'): string[] {
  return ['--tls-cluster', 'yes', '--tls-cert-file', c.crt(cert), '--tls-key-file', c.key(cert), '--tls-ca-cert-file', c.crt('ca')];
}

/** The bus's hello, as an operator would type it (server.ts's header). */
const HELLO = `*5\r\n$5\r\nhello\r\n$1\r\n1\r\n$8\r\noperator\r\n$16\r\n0123456789abcdef\r\n$${String(BUS_PROTOCOL_VERSION).length}\r\n${BUS_PROTOCOL_VERSION}\r\n`;

/** Send the hello over `socket` once connected; what comes back until close or 2 s. */
function exchange(socket: net.Socket | tls.TLSSocket, secure: boolean): Promise<{ data: string; error: string | null }> {
  return new Promise((resolve) => {
    let data = '';
    let error: string | null = null;
    socket.once(secure ? 'secureConnect' : 'connect', () => socket.write(HELLO));
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ data, error });
    };
    const timer = setTimeout(done, 2000);
    socket.on('data', (c: Buffer) => (data += c.toString('latin1')));
    socket.on('error', (e: Error & { code?: string }) => (error = e.code ?? e.message));
    socket.on('close', done);
  });
}

describe('tls-cluster', () => {
  let certs: CertSet;
  let cluster: StartedCluster;
  let rogue: QuorumkvProcess | null = null;

  beforeAll(async () => {
    certs = makeCerts();
    cluster = await startCluster(3, { args: ['--engine', 'memory', ...FAST_GOSSIP, '--cluster-secret', SECRET, ...clusterTls(certs, 'server')] });
    try {
      await waitAllUp(cluster.nodes, cluster.ids, 20_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}${logs(cluster.nodes, cluster.ids)}`);
    }
  });

  afterAll(async () => {
    await stopAll();
  });

  it('three nodes form a ring over TLS and replicate: written via n1, read via n3 at R=all', async () => {
    const [c1, c3] = await Promise.all([connect(cluster.nodes[0].port), connect(cluster.nodes[2].port)]);
    try {
      await c1.call('CONSISTENCY', 'ALL');
      await c3.call('CONSISTENCY', 'ALL');
      for (let i = 0; i < 50; i++) expect(await c1.set(`tls:${i}`, `v${i}`)).toBe('OK');
      expect(await c3.hset('tls:h', 'a', '1', 'b', '2')).toBe(2);
      for (let i = 0; i < 50; i++) expect(await c3.get(`tls:${i}`)).toBe(`v${i}`);
      expect(await c1.hgetall('tls:h')).toEqual({ a: '1', b: '2' });
      const info = (await c1.info('ring')) as string;
      expect(info).toMatch(/bus_peers_connected:2/);
    } finally {
      c1.disconnect();
      c3.disconnect();
    }
  });

  it('a node whose certificate is signed by another CA is never admitted', async () => {
    rogue = await startQuorumkv([
      '--engine', 'memory', ...FAST_GOSSIP, '--cluster-secret', SECRET, ...clusterTls(certs, 'rogue'),
      '--node-id', 'n4', '--seeds', ...cluster.busPorts.map((p) => `127.0.0.1:${p}`),
    ]);
    // Give it many gossip rounds to try (gossip every 100 ms), checking the others' views meanwhile.
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      for (const n of cluster.nodes) {
        const ids = (await ringNodes(n)).map((r) => String(r.id));
        expect(ids, logs([...cluster.nodes, rogue], [...cluster.ids, 'n4'])).not.toContain('n4');
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    // Its attempts are refused in the TLS handshake, and logged (rate-limited) by the others.
    await waitFor(() => cluster.nodes.some((n) => /Refused cluster bus connection from 127\.0\.0\.1:\d+: TLS: /.test(n.output())), 5000, { what: 'a logged TLS refusal' });
    // And it sees nobody: its own ring holds itself alone.
    const own = (await ringNodes(rogue)).filter((r) => r.state === 'up').map((r) => String(r.id));
    expect(own).toEqual(['n4']);
    // The three still serve.
    const c = await connect(cluster.nodes[1].port);
    try {
      await c.call('CONSISTENCY', 'ALL');
      expect(await c.set('after-rogue', 'ok')).toBe('OK');
    } finally {
      c.disconnect();
    }
  });

  it('no bus verb is served over plain TCP or to a foreign certificate; a valid one still needs cluster-secret', async () => {
    const port = cluster.busPorts[0];
    const plain = await exchange(net.connect({ host: '127.0.0.1', port }), false);
    expect(plain.data).not.toContain('ok');
    const ca = certs.read(certs.crt('ca'));
    const opts = { host: '127.0.0.1', port, ca, checkServerIdentity: () => undefined };
    const foreign = await exchange(tls.connect({ ...opts, cert: certs.read(certs.crt('rogue')), key: certs.read(certs.key('rogue')) }), true);
    // In TLS 1.3 the client's handshake completes before the server has checked its
    // certificate: it then sees the connection closed, with nothing served.
    expect(foreign.data).toBe('');
    const none = await exchange(tls.connect(opts), true);
    expect(none.data).toBe('');
    const expired = await exchange(tls.connect({ ...opts, cert: certs.read(certs.crt('expired')), key: certs.read(certs.key('expired')) }), true);
    expect(expired.data).toBe('');
    // A certificate from the CA gets to the bus's handshake: hello is answered, auth is required.
    const valid = await exchange(tls.connect({ ...opts, cert: certs.read(certs.crt('client')), key: certs.read(certs.key('client')) }), true);
    expect(valid.data).toMatch(/^\*\d+\r\n\$1\r\n1\r\n\$2\r\nok\r\n\$2\r\nn1\r\n/);
  });

  it('CONFIG SET of tls-* reloads the bus for new connections; a setup that does not load is refused', async () => {
    const port = cluster.busPorts[0];
    const ca = certs.read(certs.crt('ca'));
    const opts = { host: '127.0.0.1', port, ca, checkServerIdentity: () => undefined };
    const as = (cert: 'client' | 'rogue'): tls.ConnectionOptions => ({ ...opts, cert: certs.read(certs.crt(cert)), key: certs.read(certs.key(cert)) });
    const c = await connect(cluster.nodes[0].port);
    await expect(c.config('SET', 'tls-ca-cert-file', '/no/such/ca.crt')).rejects.toThrow(
      "ERR CONFIG SET failed (possibly related to argument 'tls-ca-cert-file') - Unable to update TLS configuration. Check server logs.",
    );
    try {
      // Trust the other CA alone: now the foreign certificate gets to the bus's hello, ours does not.
      expect(await c.config('SET', 'tls-ca-cert-file', certs.crt('other-ca'))).toBe('OK');
      expect((await exchange(tls.connect(as('rogue')), true)).data).toMatch(/^\*\d+\r\n\$1\r\n1\r\n\$2\r\nok\r\n/);
      expect((await exchange(tls.connect(as('client')), true)).data).toBe('');
      // The connections that were up stay up.
      const c2 = await connect(cluster.nodes[1].port);
      try {
        await c2.call('CONSISTENCY', 'ALL');
        expect(await c2.set('during-reload', '1')).toBe('OK');
      } finally {
        c2.disconnect();
      }
    } finally {
      expect(await c.config('SET', 'tls-ca-cert-file', certs.crt('ca'))).toBe('OK');
      c.disconnect();
    }
    expect((await exchange(tls.connect(as('client')), true)).data).toMatch(/ok/);
  });
});
