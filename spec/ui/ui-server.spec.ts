// The live page's HTTP server on 127.0.0.1: assets, Server-Sent Events tied to subscriptions,
// controls only when given, and nothing left open after close().
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BehaviorSubject, Subject, defer, finalize } from 'rxjs';
import { UiAssetsMissingError, serveUi, type DeliveryEvent, type TopologySnapshot, type TopologySource, type UiServer } from '../../lib/index.js';

const snapshot = (n: number): TopologySnapshot => ({
  at: 1_000 + n,
  title: `test ${n}`,
  nodes: [{ id: 'aa', label: 'a', endpoint: '127.0.0.1:1', state: 'alive', self: true }],
  edges: [],
});

/** A source whose subscriptions are counted. */
function countingSource() {
  const snapshots = new BehaviorSubject(snapshot(0));
  const deliveries = new Subject<DeliveryEvent>();
  const counts = { subscribed: 0, unsubscribed: 0 };
  const source: TopologySource = {
    snapshots$: defer(() => {
      counts.subscribed++;
      return snapshots.pipe(finalize(() => counts.unsubscribed++));
    }),
    deliveries$: deliveries.asObservable(),
  };
  return { source, snapshots, deliveries, counts };
}

interface Reply {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** One request with no keep-alive agent (so no socket outlives it). */
function call(url: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** An open event stream: the events parsed as they come, and a way to hang up. */
function openEvents(url: string) {
  const events: Array<{ event: string; data: unknown }> = [];
  let ended = false;
  let buffer = '';
  let response: IncomingMessage | undefined;
  const waiters = new Set<() => void>();
  const wake = (): void => waiters.forEach((w) => w());
  const req = request(new URL('/events', url), { agent: false }, (res) => {
    response = res;
    res.setEncoding('utf8').on('data', (s: string) => {
      buffer += s;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
      }
      wake();
    });
    res.on('end', () => {
      ended = true;
      wake();
    });
  });
  req.on('error', () => {
    ended = true;
    wake();
  });
  req.end();
  const until = async (what: string, condition: () => boolean): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!condition()) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}; got ${JSON.stringify(events)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, 100);
        function done(): void {
          clearTimeout(t);
          waiters.delete(done);
          resolve();
        }
        waiters.add(done);
      });
    }
  };
  return {
    events,
    ended: () => ended,
    contentType: () => response?.headers['content-type'],
    until,
    hangUp: () => req.destroy(),
  };
}

describe('serveUi, read-only', () => {
  const { source, snapshots, deliveries, counts } = countingSource();
  let server: UiServer;
  let baseline: string[];

  before(async () => {
    baseline = process.getActiveResourcesInfo();
    server = await serveUi(source, { heartbeatMs: 60_000 });
  });
  after(() => server.close());

  it('binds to 127.0.0.1 and serves the page and its bundle, with a strict CSP', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await call(server.url);
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type']!, /^text\/html/);
    assert.match(page.body, /<script defer src="\/assets\/app\.js"><\/script>/);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|https?:/);
    const app = await call(new URL('/assets/app.js', server.url).href);
    assert.equal(app.status, 200);
    assert.match(app.headers['content-type']!, /^text\/javascript/);
    assert.ok(app.body.length > 100_000, 'the graph library is bundled in');
    const licences = await call(new URL('/assets/LICENSES.txt', server.url).href);
    assert.match(licences.body, /== cytoscape [\d.]+ \(MIT\) ==/);
    assert.equal((await call(new URL('/assets/../../ui-server.ts', server.url).href)).status, 404);
    assert.equal((await call(new URL('/nothing', server.url).href)).status, 404);
    assert.equal((await call(server.url, { method: 'DELETE' })).status, 405);
    assert.equal((await call(new URL('/events', server.url).href, { method: 'HEAD' })).status, 405);
  });

  it('has no control endpoints: POST kill is 404', async () => {
    const reply = await call(new URL('/api/peers/aa/kill', server.url).href, { method: 'POST', headers: { 'x-rxgossip-control': '1' } });
    assert.equal(reply.status, 404);
  });

  it('refuses a Host header naming another host (DNS rebinding)', async () => {
    const reply = await call(server.url, { headers: { host: `attacker.example:${server.port}` } });
    assert.equal(reply.status, 421);
    assert.equal((await call(server.url, { headers: { host: `localhost:${server.port}` } })).status, 200);
    assert.equal(server.stats().refused, 1);
  });

  it('serves the current snapshot as JSON', async () => {
    const reply = await call(new URL('/api/topology', server.url).href);
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.body), snapshot(0));
  });

  it('streams hello, snapshots and deliveries; a client that leaves is unsubscribed', async () => {
    const before = { ...counts };
    const stream = openEvents(server.url);
    await stream.until('the first snapshot', () => stream.events.length >= 2);
    assert.match(stream.contentType()!, /^text\/event-stream/);
    assert.deepEqual(stream.events[0], { event: 'hello', data: { controls: false } });
    assert.deepEqual(stream.events[1], { event: 'topology', data: snapshot(0) });
    snapshots.next(snapshot(1));
    const delivery: DeliveryEvent = { message: '7', at: 'aa', via: 'push', latencyMs: 3.5, time: 2_000 };
    deliveries.next(delivery);
    await stream.until('both events', () => stream.events.length >= 4);
    assert.deepEqual(stream.events.slice(2), [
      { event: 'topology', data: snapshot(1) },
      { event: 'deliveries', data: { items: [delivery], skipped: 0 } },
    ]);
    assert.equal(server.stats().clients, 1);
    assert.equal(counts.subscribed, before.subscribed + 1);
    stream.hangUp();
    const deadline = Date.now() + 5_000;
    while (counts.unsubscribed < before.unsubscribed + 1) {
      assert.ok(Date.now() < deadline, 'the source subscription ended with the client');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(server.stats().clients, 0);
  });

  it('close() ends open streams, unsubscribes them and leaves no handle behind', async () => {
    const streams = [openEvents(server.url), openEvents(server.url)];
    for (const s of streams) await s.until('the first snapshot', () => s.events.length >= 2);
    assert.equal(server.stats().clients, 2);
    const open = counts.subscribed - counts.unsubscribed;
    assert.equal(open, 2);
    await server.close();
    for (const s of streams) await s.until('the stream to end', s.ended);
    assert.equal(counts.subscribed - counts.unsubscribed, 0);
    await assert.rejects(call(server.url), /ECONNREFUSED/);
    await server.close(); // idempotent
    const deadline = Date.now() + 5_000;
    while (process.getActiveResourcesInfo().length > baseline.length) {
      assert.ok(Date.now() < deadline, `leaked: ${process.getActiveResourcesInfo().join(', ')} vs ${baseline.join(', ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });
});

describe('serveUi with controls (the demo)', () => {
  const { source } = countingSource();
  const calls: string[] = [];
  let server: UiServer;

  before(async () => {
    server = await serveUi(source, {
      controls: {
        kill: async (id) => void calls.push(`kill ${id}`),
        restart: async (id) => {
          throw new Error(`peer ${id} is already running`);
        },
      },
    });
  });
  after(() => server.close());

  it('says so in hello', async () => {
    const stream = openEvents(server.url);
    await stream.until('hello', () => stream.events.length >= 1);
    assert.deepEqual(stream.events[0], { event: 'hello', data: { controls: true } });
    stream.hangUp();
  });

  it('runs a kill sent with the control header, and reports a refused restart', async () => {
    const kill = await call(new URL('/api/peers/ab12/kill', server.url).href, { method: 'POST', headers: { 'x-rxgossip-control': '1' } });
    assert.equal(kill.status, 200, kill.body);
    assert.deepEqual(calls, ['kill ab12']);
    const restart = await call(new URL('/api/peers/ab12/restart', server.url).href, { method: 'POST', headers: { 'x-rxgossip-control': '1' } });
    assert.equal(restart.status, 409);
    assert.deepEqual(JSON.parse(restart.body), { ok: false, error: 'peer ab12 is already running' });
  });

  it('refuses a control request without the header (a cross-site form), a GET, and a bad id', async () => {
    const path = (id: string, action = 'kill'): string => new URL(`/api/peers/${id}/${action}`, server.url).href;
    assert.equal((await call(path('ab12'), { method: 'POST' })).status, 403);
    assert.equal((await call(path('ab12'))).status, 405);
    assert.equal((await call(path('not-hex'), { method: 'POST', headers: { 'x-rxgossip-control': '1' } })).status, 400);
    assert.equal((await call(path('ab12', 'explode'), { method: 'POST', headers: { 'x-rxgossip-control': '1' } })).status, 404);
    assert.deepEqual(calls, ['kill ab12']);
  });
});

describe('serveUi under a flood of deliveries', () => {
  it('batches them and says how many each batch left out', async () => {
    const { source, deliveries } = countingSource();
    const server = await serveUi(source, { deliveryBatchMs: 50, maxDeliveriesPerBatch: 3 });
    try {
      const stream = openEvents(server.url);
      await stream.until('the first snapshot', () => stream.events.length >= 2);
      const d = (n: number): DeliveryEvent => ({ message: String(n), at: 'aa', time: n });
      for (let n = 0; n < 5; n++) deliveries.next(d(n));
      await stream.until('a batch', () => stream.events.some((e) => e.event === 'deliveries'));
      assert.deepEqual(stream.events.find((e) => e.event === 'deliveries')!.data, { items: [d(2), d(3), d(4)], skipped: 2 });
      stream.hangUp();
    } finally {
      await server.close();
    }
  });
});

describe('serveUi without built assets', () => {
  it('rejects with UiAssetsMissingError naming npm run build:ui', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'rxgossip-ui-'));
    try {
      await assert.rejects(
        serveUi(countingSource().source, { assetsDir: pathToFileURL(`${empty}/`) }),
        (err: unknown) => err instanceof UiAssetsMissingError && /npm run build:ui/.test(err.message),
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
