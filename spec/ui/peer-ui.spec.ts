// `rxgossip peer --ui`: the peer process serves its live page, and stops it with itself.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { TopologySnapshot } from '../../lib/index.js';
import { fixtureDir, fixturePeer, killAll, startCli, type CliProcess } from '../cli/helpers.js';

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('rxgossip peer --ui', () => {
  const clis: CliProcess[] = [];
  after(() => killAll());

  it('serves the page of its view (two peers in gossip mode see each other), refuses a busy port, closes on SIGTERM', async () => {
    const common = ['--alive-interval', '200', '--alive-expiration', '1000', '--json', '--log-level', 'warn'];
    const a = startCli(['peer', '--peer-dir', fixtureDir('peer0'), '--listen', '127.0.0.1:0', '--ui', '127.0.0.1:0', ...common]);
    clis.push(a);
    const listening = JSON.parse((await a.waitFor(/^\{"event":"listening".*$/m))[0]) as { endpoint: string; ui: string };
    assert.match(listening.ui, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const b = startCli(['peer', '--peer-dir', fixtureDir('peer1'), '--listen', '127.0.0.1:0', '--bootstrap', listening.endpoint, ...common]);
    clis.push(b);
    const bId = (await fixturePeer('peer1')).pkiId.toString('hex');
    await a.waitFor(new RegExp(`"event":"membership","change":"join","pkiId":"${bId}"`));

    const page = await get(listening.ui);
    assert.equal(page.status, 200);
    assert.match(page.body, /rxgossip/);
    let snapshot: TopologySnapshot | undefined;
    const deadline = Date.now() + 10_000;
    do {
      snapshot = JSON.parse((await get(new URL('/api/topology', listening.ui).href)).body) as TopologySnapshot;
      if (snapshot.edges.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    } while (Date.now() < deadline);
    assert.equal(snapshot.title, `peer ${listening.endpoint}`);
    assert.equal(snapshot.aliveExpirationMs, 1_000);
    assert.deepEqual(
      snapshot.nodes.map((n) => [n.state, n.self === true]),
      [
        ['alive', true],
        ['alive', false],
      ],
    );
    assert.equal(snapshot.nodes[1]!.id, bId);
    assert.equal(snapshot.edges[0]!.to, bId);
    // Read-only: the CLI gives the page no controls.
    const kill = await new Promise<number>((resolve, reject) =>
      request(new URL(`/api/peers/${bId}/kill`, listening.ui), { method: 'POST', agent: false, headers: { 'x-rxgossip-control': '1' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
        .on('error', reject)
        .end(),
    );
    assert.equal(kill, 404);

    // A third peer asked to serve its page on the same port: a clear exit 1.
    const port = new URL(listening.ui).port;
    const c = startCli(['peer', '--peer-dir', fixtureDir('peer2'), '--listen', '127.0.0.1:0', '--ui', `127.0.0.1:${port}`, '--log-level', 'warn']);
    clis.push(c);
    const refused = await c.exited;
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`--ui: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));

    for (const cli of [b, a]) {
      cli.child.kill('SIGTERM');
      const result = await cli.exited;
      assert.equal(result.code, 0, result.stderr);
    }
    await assert.rejects(get(listening.ui), /ECONNREFUSED/);
  });
});
