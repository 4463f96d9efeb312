import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Subscription, bufferTime, filter, firstValueFrom, map, merge, of, timeout, type Observable } from 'rxjs';
import type { Logger } from '../comm/logger.js';
import { pipeServerSentEvents, type ServerSentEvent } from './server-sent-events.js';
import type { PeerControls, TopologySource } from './topology.js';
import { loadUiAssets } from './ui-assets.js';

/** Where and how to serve the live page. */
export interface UiServerOptions {
  /** Interface to bind. Default 127.0.0.1: the page shows the network's inner workings. */
  readonly host?: string;
  /** Port to bind; 0 (the default) picks a free one. */
  readonly port?: number;
  /**
   * Kill and restart of peers. Without them the page is read-only: the POST endpoints do not
   * exist (404) and the page shows no buttons.
   */
  readonly controls?: PeerControls;
  /**
   * Deliveries go out in batches this often (default 100 ms), at most `maxDeliveriesPerBatch`
   * (default 500) each: a busy network must not swamp the browser. What a batch leaves out is
   * counted in its `skipped` field, and shown.
   */
  readonly deliveryBatchMs?: number;
  readonly maxDeliveriesPerBatch?: number;
  /** SSE heartbeat period. Default 15 s. */
  readonly heartbeatMs?: number;
  /** Where the built assets are (default: ./assets/ next to this module). */
  readonly assetsDir?: URL;
  readonly logger?: Logger;
}

/** Counters of a running page server. */
export interface UiServerStats {
  /** Event streams open right now. */
  readonly clients: number;
  /** Event streams opened since start. */
  readonly opened: number;
  /** Event streams cut off because their client did not read fast enough. */
  readonly slowClients: number;
  /** Requests refused: unknown Host header, missing control header, bad peer id. */
  readonly refused: number;
}

/** A running page server. */
export interface UiServer {
  /** The page's URL, with the bound port. */
  readonly url: string;
  readonly port: number;
  stats(): UiServerStats;
  /** Ends every event stream, stops listening, closes open connections. Idempotent. */
  close(): Promise<void>;
}

/**
 * Everything comes from this server: no inline script, nothing from elsewhere. The one inline
 * style allowed, by its hash, is the rule cytoscape injects (`position: relative` on its container).
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self' 'sha256-pgvDUBa4IjFA2yuSJ2cqcyxmNYJMborsd0ORcRv9vw8='",
  "object-src 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The header the page sends with control requests; a cross-site form cannot set it. */
export const CONTROL_HEADER = 'x-rxgossip-control';

/**
 * Serves the live topology page of `source` over node:http:
 *
 * - `GET /` and `/assets/*`: the page, from files built into the package (no CDN);
 * - `GET /events`: Server-Sent Events: `hello` (whether controls exist), then `topology`
 *   snapshots and `deliveries` batches (`{ items: DeliveryEvent[], skipped }`), each stream a
 *   subscription to the source's Observables that ends when the client leaves or the server closes;
 * - `GET /api/topology`: the current snapshot as JSON;
 * - `POST /api/peers/<id>/kill|restart`: only with `controls`, and only with the
 *   `x-rxgossip-control` header (so another site's page cannot drive it through the browser).
 *
 * Requests whose Host header names another host are refused, so a DNS-rebinding page cannot
 * read the stream when the server binds to loopback.
 */
export async function serveUi(source: TopologySource, options: UiServerOptions = {}): Promise<UiServer> {
  const assets = await loadUiAssets(options.assetsDir);
  const host = options.host ?? '127.0.0.1';
  const streams = new Subscription();
  const counters = { clients: 0, opened: 0, slowClients: 0, refused: 0 };
  let port = 0;
  const loopback = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(host);

  const hostAllowed = (req: IncomingMessage): boolean => {
    if (!loopback) return true; // bound to a routable address on purpose: any name may reach it
    const name = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(req.headers.host ?? '');
    return name !== null && /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(name[1]!) && Number(name[2] ?? 80) === port;
  };

  const events = (): Observable<ServerSentEvent> =>
    merge(
      of<ServerSentEvent>({ event: 'hello', data: { controls: options.controls !== undefined } }),
      source.snapshots$.pipe(map((data): ServerSentEvent => ({ event: 'topology', data }))),
      source.deliveries$.pipe(
        bufferTime(options.deliveryBatchMs ?? 100),
        filter((batch) => batch.length > 0),
        map((batch): ServerSentEvent => {
          const max = options.maxDeliveriesPerBatch ?? 500;
          return { event: 'deliveries', data: { items: batch.slice(-max), skipped: Math.max(0, batch.length - max) } };
        }),
      ),
    );

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (!hostAllowed(req)) {
      counters.refused++;
      return text(res, 421, 'unknown host\n');
    }
    const control = /^\/api\/peers\/([^/]+)\/(kill|restart)$/.exec(path);
    if (control && options.controls) {
      if (req.method !== 'POST') return text(res, 405, 'method not allowed\n', { allow: 'POST' });
      if (req.headers[CONTROL_HEADER] !== '1') {
        counters.refused++;
        return text(res, 403, `control requests need the ${CONTROL_HEADER} header\n`);
      }
      const id = control[1]!;
      if (!/^[0-9a-f]{1,256}$/.test(id)) {
        counters.refused++;
        return text(res, 400, 'bad peer id\n');
      }
      try {
        await (control[2] === 'kill' ? options.controls.kill(id) : options.controls.restart(id));
        return json(res, 200, { ok: true });
      } catch (err: unknown) {
        return json(res, 409, { ok: false, error: err instanceof Error ? err.message : String(err) });
      }
    }
    if (path === '/favicon.ico') return void res.writeHead(204).end();
    const asset = assets.get(path === '/index.html' ? '/' : path);
    if (!asset && path !== '/events' && path !== '/api/topology') return text(res, 404, 'not found\n');
    if (req.method !== 'GET' && (req.method !== 'HEAD' || !asset)) return text(res, 405, 'method not allowed\n', { allow: asset ? 'GET, HEAD' : 'GET' });
    if (asset) {
      res.writeHead(200, {
        'content-type': asset.contentType,
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        'content-security-policy': CONTENT_SECURITY_POLICY,
      });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
      return;
    }
    if (path === '/api/topology') {
      const snapshot = await firstValueFrom(source.snapshots$.pipe(timeout({ first: 5_000 })), { defaultValue: undefined }).catch(() => undefined);
      return snapshot ? json(res, 200, snapshot) : text(res, 503, 'no snapshot (stopped?)\n');
    }
    counters.opened++;
    counters.clients++;
    const stream = pipeServerSentEvents(events(), res, {
      ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
      onSlowClient: () => {
        counters.slowClients++;
        options.logger?.warn({ remote: req.socket.remoteAddress }, 'ui: event stream cut off: client too slow');
      },
    });
    stream.add(() => {
      counters.clients--;
      streams.remove(stream);
    });
    streams.add(stream);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      options.logger?.warn({ err: String(err) }, 'ui: request failed');
      if (!res.headersSent) text(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(options.port ?? 0, host, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}/`,
    port,
    stats: () => ({ ...counters }),
    close: () => (closing ??= closeServer(server, streams)),
  };
}

function closeServer(server: Server, streams: Subscription): Promise<void> {
  return new Promise((resolve) => {
    // Ending the event streams first lets server.close() see idle connections only.
    streams.unsubscribe();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}
