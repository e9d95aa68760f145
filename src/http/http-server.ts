/**
 * The node's HTTP listeners (node:http): `metrics-port` serves /metrics (Prometheus text
 * format), `http-port` the status page (/, /app.js, /style.css) and /status.json, which
 * the page polls every second. Both listen on every `bind` address; 0 turns either off,
 * and when both name the same port one listener serves everything.
 *
 * Every request passes auth.ts first (HTTP Basic with the requirepass, protected mode). The
 * page is static text from static/ and talks to nothing but this node: its
 * Content-Security-Policy allows only same-origin loads.
 */
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../runtime/log';
import type { Clock } from '../runtime/clock';
import { authorize, basicCredentials, deniedByHostCheck } from './auth';
import { deniedByProtectedMode } from '../server/protected-mode';
import { buildRegistry } from './metrics';
import { buildStatus } from './status';
import type { NodeSources } from './sources';
import type { BusTransport, PeerAddress } from '../bus/transport';
import { NODE_STATUS } from '../bus/verbs';
import { encodeLoad, localLoad, PeerLoads } from './peer-status';
import { APP_JS } from './static/app-js';
import { INDEX_HTML } from './static/index-html';
import { STYLE_CSS } from './static/style-css';

export interface HttpDeps {
  sources: NodeSources;
  log: Logger;
  clock: Clock;
  /** Cluster mode: the bus (this node answers node.status; its page asks its peers). */
  bus: { transport: BusTransport; address(id: string): PeerAddress | null; timeoutMs(): number } | null;
}

type Route = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
};

function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...SECURITY_HEADERS, ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** Most connections one HTTP listener keeps open (a dashboard, Prometheus, a few browsers). */
export const HTTP_MAX_CONNECTIONS = 256;

export class HttpEndpoints {
  private readonly servers: HttpServer[] = [];
  private registry: Registry | null = null;

  private readonly peers: PeerLoads | null = null;

  constructor(private readonly deps: HttpDeps) {
    const bus = deps.bus;
    if (bus !== null) {
      NODE_STATUS.handle(bus.transport, () => encodeLoad(localLoad(deps.sources)));
      this.peers = new PeerLoads({ ...bus, nowMs: () => deps.clock.nowMs() });
    }
  }

  /** The Prometheus registry (a node without metrics-port builds none). */
  metrics(): Registry {
    if (this.registry === null) this.registry = buildRegistry(this.deps.sources);
    return this.registry;
  }

  private routes(metrics: boolean, page: boolean): Map<string, Route> {
    const r = new Map<string, Route>();
    if (metrics) {
      r.set('/metrics', async (_req, res) => {
        const reg = this.metrics();
        send(res, 200, reg.contentType, await reg.metrics());
      });
    }
    if (page) {
      r.set('/', (_req, res) => send(res, 200, 'text/html; charset=utf-8', INDEX_HTML));
      r.set('/index.html', (_req, res) => send(res, 200, 'text/html; charset=utf-8', INDEX_HTML));
      r.set('/app.js', (_req, res) => send(res, 200, 'text/javascript; charset=utf-8', APP_JS));
      r.set('/style.css', (_req, res) => send(res, 200, 'text/css; charset=utf-8', STYLE_CSS));
      r.set('/status.json', async (_req, res) => {
        const src = this.deps.sources;
        const others = src.cluster.nodes().filter((n) => !n.self);
        const up = new Set(others.filter((n) => n.up).map((n) => n.id));
        const remote = this.peers === null || others.length === 0 ? new Map() : await this.peers.get(others.map((n) => n.id), (id) => up.has(id));
        send(res, 200, 'application/json; charset=utf-8', JSON.stringify(buildStatus(src, this.deps.clock.nowMs(), remote)));
      });
      r.set('/favicon.ico', (_req, res) => {
        res.writeHead(204, SECURITY_HEADERS);
        res.end();
      });
    }
    return r;
  }

  private async handle(routes: Map<string, Route>, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const settings = this.deps.sources.settings;
    if (deniedByProtectedMode(settings, this.deps.sources.acl, req.socket.remoteAddress)) {
      send(res, 403, 'text/plain; charset=utf-8', 'quorumkv is running in protected mode: set requirepass (or protected-mode no) to serve other machines\n');
      return;
    }
    if (deniedByHostCheck(this.deps.sources.acl, req.socket.remoteAddress, req.headers.host)) {
      send(res, 403, 'text/plain; charset=utf-8', 'without a password, name this node by its address or localhost (Host header)\n');
      return;
    }
    const { user, pass } = basicCredentials(req.headers.authorization);
    if (!authorize(this.deps.sources.acl, user, pass)) {
      send(res, 401, 'text/plain; charset=utf-8', 'authentication required\n', { 'WWW-Authenticate': 'Basic realm="quorumkv", charset="UTF-8"' });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { Allow: 'GET, HEAD' });
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    const route = routes.get(path);
    if (route === undefined) {
      send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
      return;
    }
    await route(req, res);
  }

  /** Open the listeners the settings ask for. */
  async start(): Promise<void> {
    const s = this.deps.sources.settings;
    // Built now, so the process metrics (event-loop lag) have data by the first scrape.
    if (s.metricsPort !== 0) this.metrics();
    const ports = new Map<number, { metrics: boolean; page: boolean }>();
    if (s.metricsPort !== 0) ports.set(s.metricsPort, { metrics: true, page: false });
    if (s.httpPort !== 0) ports.set(s.httpPort, { metrics: ports.has(s.httpPort), page: true });
    for (const [port, what] of ports) {
      const routes = this.routes(what.metrics, what.page);
      for (const host of s.bind) {
        // Bounded like the client port: slow or idle HTTP clients are timed out, and at most
        // HTTP_MAX_CONNECTIONS are open per listener (more are closed at once).
        const srv = createServer({ headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000, maxHeaderSize: 16 * 1024 }, (req, res) => {
          this.handle(routes, req, res).catch((err: Error) => {
            this.deps.log.warning(`HTTP ${req.url ?? ''}: ${err.message}`);
            if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
            else res.destroy();
          });
        });
        await new Promise<void>((resolve, reject) => {
          srv.once('error', reject);
          srv.listen({ port, host }, () => {
            srv.off('error', reject);
            resolve();
          });
        });
        srv.maxConnections = HTTP_MAX_CONNECTIONS;
        srv.on('error', (err) => this.deps.log.warning(`HTTP listener error on ${host}:${port}: ${err.message}`));
        this.servers.push(srv);
        this.deps.log.notice(`HTTP ${[what.metrics ? '/metrics' : '', what.page ? 'status page' : ''].filter((x) => x !== '').join(' and ')} on http://${host.includes(':') ? `[${host}]` : host}:${port}/`);
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.servers.map(
        (srv) =>
          new Promise<void>((resolve) => {
            srv.close(() => resolve());
            srv.closeAllConnections();
          }),
      ),
    );
    this.servers.length = 0;
  }
}
