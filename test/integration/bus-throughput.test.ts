/**
 * Not a test of correctness: measures pipelined request throughput between two ClusterBus
 * instances in this process over loopback TCP. Skipped unless BUS_BENCH=1 (timed numbers
 * do not belong in assertions; see benchmarks/README.md).
 *
 *   BUS_BENCH=1 npx vitest run test/integration/bus-throughput.test.ts
 *
 * Runs twice: over plain TCP and with tls-cluster's mutually authenticated TLS
 * (config/tls.ts busTlsOptions, certificates from test/support/certs.ts).
 */
import { describe, it } from 'vitest';
import { systemClock } from '../../src/runtime/clock';
import { Logger } from '../../src/runtime/log';
import { realScheduler } from '../../src/runtime/scheduler';
import { ClusterBus } from '../../src/bus/bus';
import { PING } from '../../src/bus/verbs';
import { busTlsOptions } from '../../src/config/tls';
import { defaultSettings } from '../../src/config/settings';
import { makeCerts } from '../support/certs';

const enabled = process.env.BUS_BENCH === '1';

describe.skipIf(!enabled)('bus throughput', () => {
  it.each(['plain', 'tls'] as const)('small pipelined requests (%s)', { timeout: 120_000 }, async (kind) => {
    const log = new Logger(systemClock, 'warning', '');
    let tls: ReturnType<typeof busTlsOptions> | undefined;
    if (kind === 'tls') {
      const c = makeCerts();
      tls = busTlsOptions({ ...defaultSettings(), tlsCluster: 'yes', tlsCertFile: c.crt('server'), tlsKeyFile: c.key('server'), tlsCaCertFile: c.crt('ca') });
    }
    const mk = (id: string): ClusterBus =>
      new ClusterBus({ nodeId: id, host: '127.0.0.1', port: 0, secret: 'sesame', clock: systemClock, scheduler: realScheduler, log, random: Math.random, tls });
    const a = mk('a');
    const b = mk('b');
    await a.start();
    const port = await b.start();
    const peer = { host: '127.0.0.1', port };
    const payload = Buffer.from('0123456789abcdef'); // 16 bytes
    await PING.call(a, peer, payload);
    for (const window of [1, 16, 128, 1024]) {
      const total = window === 1 ? 20_000 : 200_000;
      let sent = 0;
      let done = 0;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await new Promise<void>((resolve, reject) => {
        const one = (): void => {
          sent++;
          PING.call(a, peer, payload).then(() => {
            done++;
            if (done === total) resolve();
            else if (sent < total) one();
          }, reject);
        };
        for (let i = 0; i < window; i++) one();
      });
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const rate = Math.round((total / ms) * 1000);
      const cpuUsPerReq = ((cpu.user + cpu.system) / total).toFixed(2);
      console.log(`${kind} window ${window}: ${total} requests in ${ms.toFixed(0)} ms = ${rate} req/s; ${cpuUsPerReq} µs CPU per request (both ends)`);
    }
    const s = a.stats();
    console.log(`a: sent ${s.requestsSent}, bytes out ${s.bytesSent}, in ${s.bytesReceived}`);
    await a.close();
    await b.close();
  });
});
