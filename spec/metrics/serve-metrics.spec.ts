// The /metrics endpoint over node:http.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { serveMetrics } from '../../lib/metrics/index.js';

describe('serveMetrics', () => {
  it('serves the registry at /metrics; 404 elsewhere, 405 for other methods; closes without leaks', async () => {
    const baseline = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').sort();
    const registry = new Registry();
    new Counter({ name: 'test_things', help: 'things', registers: [registry] }).inc(3);
    const server = await serveMetrics(registry, { host: '127.0.0.1', port: 0 });
    try {
      assert.equal(server.url, `http://127.0.0.1:${server.port}/metrics`);
      const ok = await fetch(server.url);
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('content-type'), registry.contentType);
      assert.match(await ok.text(), /^test_things 3$/m);
      const head = await fetch(server.url, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal((await fetch(`${server.url}?x=1`)).status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/`)).status, 404);
      const post = await fetch(server.url, { method: 'POST' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.get('allow'), 'GET, HEAD');
    } finally {
      await server.close();
      await server.close();
    }
    await assert.rejects(fetch(server.url));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').sort(), baseline);
  });

  it('a custom path, and a clear error when the port is taken', async () => {
    const registry = new Registry();
    const first = await serveMetrics(registry, { host: '127.0.0.1', port: 0, path: '/prom' });
    try {
      assert.equal((await fetch(first.url)).status, 200);
      assert.match(first.url, /\/prom$/);
      await assert.rejects(serveMetrics(registry, { host: '127.0.0.1', port: first.port }), /EADDRINUSE/);
    } finally {
      await first.close();
    }
  });
});
