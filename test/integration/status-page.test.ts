/**
 * The status page (http-port) in a real browser: puppeteer-core drives Debian's chromium
 * headless against a 3-node cluster (rocksdb, fast gossip). The page of n1 must
 *
 * - show the three nodes up, and the ring with an arc per node;
 * - turn n2 `down` within the failure-detection time after n2 is SIGKILLed (fail-timeout
 *   1s, the page polls every second);
 * - show n2 up again once restarted, after keys were written while it was down with its
 *   hints expired (hint-window 1s), and then show the anti-entropy repair started with
 *   RING REPAIR START on n1 (anti-entropy-rate 1000 keys/s, so it takes seconds) with a
 *   progress strictly between 0 and 100 %, then done at 100 %;
 * - on the page of a fourth node that joins (transfer-rate 256 kB/s, 1 MB of values), show
 *   an incoming range transfer running, then the node normal, also on n1's page;
 * - make no request to anything but the node's own HTTP port (puppeteer's request log).
 *
 * Skipped only when /usr/bin/chromium is missing (CI installs it).
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'puppeteer-core';
import type Redis from 'ioredis';
import { connect, FAST_GOSSIP, logs, startCluster, waitAllUp } from '../support/cluster';
import { freePort, startQuorumkv, stopAll, waitFor, type QuorumkvProcess } from '../support/servers';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = fs.existsSync(CHROMIUM);
const IDS = ['n1', 'n2', 'n3'];
const UP_TIMEOUT_MS = 15_000;
/** fail-timeout (1 s) + one poll of the page (1 s) + slack for a loaded machine. */
const DOWN_WITHIN_MS = 6_000;
const KEYS = 4000;

afterAll(async () => {
  await stopAll();
});

/** The little of the DOM the page functions below use: they run in chromium; the test tsconfig has no DOM lib. */
interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
}
declare const document: { querySelector(selector: string): PageElement | null; querySelectorAll(selector: string): Iterable<PageElement> & { length: number } };

describe.skipIf(!HAVE_CHROMIUM)('the status page in chromium', () => {
  let nodes: QuorumkvProcess[] = [];
  let nodeArgs: string[][] = [];
  let busPorts: number[] = [];
  let common: string[] = [];
  const httpPorts: number[] = [];
  let browser: Browser;
  let page: Page;
  let c: Redis;
  const requests: string[] = [];
  /** Uncaught errors of the page's script, and console errors (a refused resource, CSP). */
  const pageErrors: string[] = [];

  /** The page's text of a node's `data-field` cell. */
  const field = (id: string, name: string): Promise<string> =>
    page.$eval(`#nodes tr[data-node="${id}"] [data-field="${name}"]`, (e) => e.textContent ?? '');

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) httpPorts.push(await freePort());
    common = [...FAST_GOSSIP, '--engine', 'rocksdb', '--replicas', '3', '--write-quorum', '2', '--read-quorum', '2', '--hint-window', '1s', '--anti-entropy-interval', '0', '--anti-entropy-rate', '1000'];
    const cluster = await startCluster(3, {
      args: common,
      perNode: (i) => ['--http-port', String(httpPorts[i])],
    });
    nodes = cluster.nodes;
    nodeArgs = cluster.nodeArgs;
    busPorts = cluster.busPorts;
    await waitAllUp(nodes, IDS, UP_TIMEOUT_MS);
    c = await connect(nodes[0].port);
    const puppeteer = await import('puppeteer-core');
    browser = await puppeteer.default.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    page = await browser.newPage();
    page.on('request', (r) => {
      requests.push(r.url());
    });
    page.on('pageerror', (err) => {
      pageErrors.push(String(err));
    });
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
  });

  afterAll(async () => {
    c?.disconnect();
    await browser?.close();
  });

  it('shows three nodes up and the ring', async () => {
    await page.goto(`http://127.0.0.1:${httpPorts[0]}/`, { waitUntil: 'load' });
    await page.waitForFunction(
      () => {
        const rows = document.querySelectorAll('#nodes tbody tr[data-node]');
        return rows.length === 3 && [...rows].every((r) => r.querySelector('[data-field="state"]')?.textContent === 'up');
      },
      { timeout: 10_000 },
    );
    for (const id of IDS) {
      expect(await field(id, 'status')).toBe('normal');
      expect(await field(id, 'primary')).toMatch(/^\d+\.\d%$/);
    }
    expect(await field('n1', 'id')).toBe('n1 (this node)');
    expect(await field('n1', 'load')).toMatch(/keys/);
    // Other nodes' load, asked over the bus.
    await page.waitForFunction(() => [...document.querySelectorAll('#nodes [data-field="load"]')].every((e) => /keys/.test(e.textContent ?? '')), { timeout: 5_000 });
    expect(await field('n2', 'held')).toBe('0');
    const arcs = await page.$$eval('#ring path[data-node]', (ps) => ps.map((p) => p.getAttribute('data-node')).sort());
    expect(arcs).toEqual(IDS);
    expect(await page.$$eval('#ring path[data-owner]', (ps) => new Set(ps.map((p) => p.getAttribute('data-owner'))).size)).toBe(3);
  });

  it('turns a SIGKILLed node down within the failure-detection time', async () => {
    const t0 = performance.now();
    await nodes[1].kill();
    await page.waitForFunction(() => document.querySelector('#nodes tr[data-node="n2"] [data-field="state"]')?.textContent === 'down', { timeout: DOWN_WITHIN_MS, polling: 50 });
    expect(performance.now() - t0).toBeLessThan(DOWN_WITHIN_MS);
    expect(await field('n1', 'state')).toBe('up');
    expect(await field('n3', 'state')).toBe('up');
  });

  it('shows a repair of the restarted node in progress, then done', async () => {
    // Keys n2 misses, with no hint left to bring them: the hint window is 1 s.
    for (let i = 0; i < KEYS; i += 500) {
      const p = c.pipeline();
      for (let j = i; j < i + 500; j++) p.set(`page:${j}`, `v${j}`);
      const res = (await p.exec()) ?? [];
      expect(res.every(([err]) => err === null)).toBe(true);
    }
    await waitFor(
      async () => {
        for (const n of [nodes[0], nodes[2]]) {
          const h = await connect(n.port);
          try {
            if (((await h.call('RING', 'HINTS')) as unknown[]).length > 0) return false;
          } finally {
            h.disconnect();
          }
        }
        return true;
      },
      20_000,
      { intervalMs: 200, what: 'the hints for n2 to expire' },
    );
    const old = nodes[1];
    nodes[1] = await startQuorumkv(nodeArgs[1], { dir: old.dir, port: old.port });
    await page.waitForFunction(() => document.querySelector('#nodes tr[data-node="n2"] [data-field="state"]')?.textContent === 'up', { timeout: UP_TIMEOUT_MS, polling: 100 });
    await waitAllUp(nodes, IDS, UP_TIMEOUT_MS);

    expect(await c.call('RING', 'REPAIR', 'START')).toBe('OK');
    const seen = await page
      .waitForFunction(
        () => {
          const run = document.querySelector('#repair .repair-run');
          const p = Number(run?.getAttribute('data-percent'));
          return run?.getAttribute('data-state') === 'running' && p > 0 && p < 100 ? p : false;
        },
        { timeout: 30_000, polling: 50 },
      )
      .then((h) => h.jsonValue() as Promise<number | false>)
      .catch((err: Error) => {
        throw new Error(err.message + logs(nodes, IDS));
      });
    expect(seen).toBeGreaterThan(0);
    expect(seen).toBeLessThan(100);
    expect(await page.$eval('#repair .bar', (b) => Number(b.getAttribute('aria-valuenow')))).toBeGreaterThan(0);
    await page.waitForFunction(
      () => {
        const run = document.querySelector('#repair .repair-run');
        return run?.getAttribute('data-state') === 'done' && run.getAttribute('data-percent') === '100.0';
      },
      { timeout: 60_000, polling: 100 },
    );
    expect(Number(await page.$eval('#repair [data-field="state"]', (e) => e.textContent?.split(' ')[0] === 'done' ? 1 : 0))).toBe(1);
    // The repair reached n2: a key written while it was down is there now.
    const c2 = await connect(nodes[1].port);
    try {
      expect(await c2.call('RING', 'LOCAL', 'page:0')).not.toBeNull();
    } finally {
      c2.disconnect();
    }
  });

  it('shows the range transfers of a joining node on its page, then the node normal', async () => {
    // Bigger values, and a transfer-rate of 256 kB/s, so that streaming takes seconds.
    const big = 'x'.repeat(500);
    const p = c.pipeline();
    for (let j = 0; j < 2000; j++) p.set(`join:${j}`, big);
    expect(((await p.exec()) ?? []).every(([err]) => err === null)).toBe(true);
    const http4 = await freePort();
    const args4 = [...common, '--bus-port', String(await freePort()), '--node-id', 'n4', '--seeds', ...busPorts.map((b) => `127.0.0.1:${b}`), '--http-port', String(http4), '--transfer-rate', '256kb'];
    const n4 = await startQuorumkv(args4);
    nodes.push(n4);
    const page4 = await browser.newPage();
    const requests4: string[] = [];
    page4.on('request', (r) => {
      requests4.push(r.url());
    });
    try {
      await page4.goto(`http://127.0.0.1:${http4}/`, { waitUntil: 'load' });
      const row = await page4
        .waitForFunction(
          () => {
            for (const tr of document.querySelectorAll('#transfers tr.transfer')) {
              const state = tr.getAttribute('data-state');
              if (state === 'running') return tr.textContent;
            }
            return false;
          },
          { timeout: 20_000, polling: 50 },
        )
        .then((h) => h.jsonValue() as Promise<string | false>)
        .catch((err: Error) => {
          throw new Error(err.message + logs(nodes, [...IDS, 'n4']));
        });
      expect(row).toMatch(/^in(n1|n2|n3)n4/);
      await page4.waitForFunction(
        () => [...document.querySelectorAll('#transfers dd')][0]?.textContent === 'normal' && document.querySelectorAll('#transfers tr.transfer').length === 0,
        { timeout: 60_000, polling: 100 },
      );
      // n1's page sees n4 join the ring.
      await page.waitForFunction(
        () => document.querySelector('#nodes tr[data-node="n4"] [data-field="status"]')?.textContent === 'normal' && document.querySelector('#nodes tr[data-node="n4"] [data-field="state"]')?.textContent === 'up',
        { timeout: 15_000, polling: 100 },
      );
      expect(requests4.filter((u) => !u.startsWith(`http://127.0.0.1:${http4}/`))).toEqual([]);
    } finally {
      await page4.close();
    }
  });

  it('shows a standalone node as a cluster of one', async () => {
    const http1 = await freePort();
    const alone = await startQuorumkv(['--engine', 'memory', '--http-port', String(http1)]);
    const p1 = await browser.newPage();
    const errors: string[] = [];
    p1.on('pageerror', (err) => {
      errors.push(String(err));
    });
    try {
      await p1.goto(`http://127.0.0.1:${http1}/`, { waitUntil: 'load' });
      await p1.waitForFunction(() => document.querySelectorAll('#nodes tbody tr[data-node]').length === 1, { timeout: 10_000 });
      expect(await p1.$eval('#summary', (e) => e.textContent)).toBe('standalone node');
      expect(await p1.$eval('#repair .body', (e) => e.textContent)).toMatch(/standalone/);
      expect(await p1.$$eval('#ring path[data-node]', (ps) => ps.length)).toBe(1);
      expect(errors).toEqual([]);
    } finally {
      await p1.close();
      await alone.stop();
    }
  });

  it('made no request outside the node, and the page raised no error', () => {
    expect(pageErrors).toEqual([]);
    expect(requests.length).toBeGreaterThan(3);
    const origin = `http://127.0.0.1:${httpPorts[0]}/`;
    const outside = requests.filter((u) => !u.startsWith(origin));
    expect(outside).toEqual([]);
    expect(requests).toContain(`${origin}status.json`);
    expect(requests).toContain(`${origin}app.js`);
  });
});
