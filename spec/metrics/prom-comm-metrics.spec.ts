// The prom-client CommMetrics: each method moves its series; wired into real comms, the series
// follow what comm does (sends, receives, overflow, failed dials, refused handshakes).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { firstValueFrom, take, timeout, toArray } from 'rxjs';
import { createDialOnlyComm } from '../../lib/cli/cli-comm.js';
import { createComm, gossip, loadPeerDir, type Comm, type CommOptions } from '../../lib/index.js';
import { COMM_METRIC_NAMES, createPromCommMetrics, PromCommMetrics } from '../../lib/metrics/index.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'fabric-vectors');

/** Every sample of a registry as `name{labels}` → value. */
async function samples(registry: Registry): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const v of metric.values) {
      const labels = Object.entries(v.labels)
        .map(([k, l]) => `${k}="${String(l)}"`)
        .join(',');
      out.set(labels ? `${metric.name}{${labels}}` : metric.name, v.value);
    }
  }
  return out;
}

describe('PromCommMetrics', () => {
  it("registers Fabric's names and the others, every drop reason at 0", async () => {
    const registry = new Registry();
    createPromCommMetrics({ registry });
    const s = await samples(registry);
    assert.equal(s.get('gossip_comm_messages_sent'), 0);
    assert.equal(s.get('gossip_comm_messages_received'), 0);
    assert.equal(s.get('gossip_comm_overflow_count'), 0);
    for (const reason of ['overflow', 'connection-closed', 'dial-failed', 'stopped', 'too-large']) {
      assert.equal(s.get(`gossip_comm_messages_dropped{reason="${reason}"}`), 0, reason);
    }
    const text = await registry.metrics();
    for (const name of Object.values(COMM_METRIC_NAMES)) assert.match(text, new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'));
    assert.match(text, /^# TYPE gossip_comm_connections gauge$/m);
    assert.match(text, /^# TYPE gossip_comm_queue_depth gauge$/m);
  });

  it('each method moves its series', async () => {
    const registry = new Registry();
    const m = new PromCommMetrics({ registry });
    m.messageSent();
    m.messageSent();
    m.messageReceived();
    m.messageDropped('overflow');
    m.messageDropped('overflow');
    m.messageDropped('dial-failed');
    m.messageDropped('something-new');
    m.connections(3);
    m.connections(2);
    m.queueDepth(7);
    m.handshakeFailed('identity-rejected');
    m.handshakeFailed('timeout');
    m.handshakeFailed('timeout');
    m.presumedDead();
    const s = await samples(registry);
    assert.equal(s.get('gossip_comm_messages_sent'), 2);
    assert.equal(s.get('gossip_comm_messages_received'), 1);
    assert.equal(s.get('gossip_comm_overflow_count'), 2, 'overflow drops are also the Fabric overflow count');
    assert.equal(s.get('gossip_comm_messages_dropped{reason="overflow"}'), 2);
    assert.equal(s.get('gossip_comm_messages_dropped{reason="dial-failed"}'), 1);
    assert.equal(s.get('gossip_comm_messages_dropped{reason="something-new"}'), 1);
    assert.equal(s.get('gossip_comm_connections'), 2);
    assert.equal(s.get('gossip_comm_queue_depth'), 7);
    assert.equal(s.get('gossip_comm_handshake_failures{reason="identity-rejected"}'), 1);
    assert.equal(s.get('gossip_comm_handshake_failures{reason="timeout"}'), 2);
    assert.equal(s.get('gossip_comm_presumed_dead'), 1);
  });

  it('one instance per registry: a second throws until the first unregisters', () => {
    const registry = new Registry();
    const first = new PromCommMetrics({ registry });
    assert.throws(() => new PromCommMetrics({ registry }), /already been registered/);
    first.unregister();
    assert.equal(registry.getMetricsAsArray().length, 0);
    new PromCommMetrics({ registry });
    new PromCommMetrics({ registry: new Registry() });
  });
});

describe('PromCommMetrics wired into comm', () => {
  const comms: Comm[] = [];
  const stops: (() => Promise<void>)[] = [];
  after(async () => {
    await Promise.all(stops.map((s) => s()));
    await Promise.all(comms.map((c) => c.stop()));
  });

  const FAST = { dialTimeoutMs: 500, connTimeoutMs: 500, pingTimeoutMs: 500, handshakeTimeoutMs: 1_000, closeTimeoutMs: 300 } satisfies Partial<CommOptions>;

  async function start(name: string, registry: Registry, options: Partial<CommOptions> = {}): Promise<Comm> {
    const comm = await createComm({
      self: await loadPeerDir(join(FIXTURES, name)),
      listen: '127.0.0.1:0',
      metrics: createPromCommMetrics({ registry }),
      ...FAST,
      ...options,
    });
    comms.push(comm);
    return comm;
  }

  it('counts messages sent and received, and live connections', async () => {
    const ra = new Registry();
    const rb = new Registry();
    const a = await start('peer0', ra);
    const b = await start('peer1', rb);
    const got = firstValueFrom(b.accept((m) => m.message.content === 'dataMsg').pipe(take(5), toArray(), timeout(5_000)));
    for (let i = 0; i < 5; i++) {
      await a.sendAsync({ tag: gossip.GossipMessage.Tag.CHAN_AND_ORG, dataMsg: { payload: { seqNum: i, data: Buffer.from([i]) } } }, { endpoint: b.endpoint, pkiId: b.getPKIid() });
    }
    await got;
    const sa = await samples(ra);
    const sb = await samples(rb);
    assert.equal(sa.get('gossip_comm_messages_sent'), 5);
    assert.equal(sb.get('gossip_comm_messages_received'), 5);
    assert.equal(sa.get('gossip_comm_connections'), 1);
    assert.equal(sb.get('gossip_comm_connections'), 1);
    assert.equal(a.stats().sent, 5, 'the same as comm.stats()');
  });

  it('counts overflow (Fabric overflow_count), failed dials and presumed-dead peers', async () => {
    const registry = new Registry();
    const a = await start('peer2', registry, { sendBufferSize: 1 });
    const nowhere = { endpoint: '127.0.0.1:1', pkiId: Buffer.alloc(32, 7) };
    const dead = firstValueFrom(a.presumedDead$.pipe(take(1), timeout(5_000)));
    for (let i = 0; i < 4; i++) a.send({ empty: {} }, nowhere);
    assert.equal((await samples(registry)).get('gossip_comm_queue_depth'), 1, 'one message waits for the dial');
    await dead;
    const s = await samples(registry);
    assert.equal(s.get('gossip_comm_queue_depth'), 0);
    assert.equal(s.get('gossip_comm_overflow_count'), 3, 'one message fits the buffer while dialing, three overflow');
    assert.equal(s.get('gossip_comm_messages_dropped{reason="overflow"}'), 3);
    assert.equal(s.get('gossip_comm_messages_dropped{reason="dial-failed"}'), 1);
    assert.equal(s.get('gossip_comm_presumed_dead'), 1);
    assert.equal(s.get('gossip_comm_messages_sent'), 0);
  });

  it('counts refused handshakes by reason', async () => {
    const registry = new Registry();
    const server = await start('peer3', registry);
    const rogue = await createDialOnlyComm(
      { peerDir: join(FIXTURES, 'rogue', 'peer0'), tlsCa: [join(FIXTURES, 'tlsca', 'tlsca.org1.example.com-cert.pem')], timeout: 1_000 },
      { debug() {}, info() {}, warn() {}, error() {} },
    );
    stops.push(rogue.stop);
    await assert.rejects(rogue.comm.handshake({ endpoint: server.endpoint }), /identity rejected/);
    const s = await samples(registry);
    assert.equal(s.get('gossip_comm_handshake_failures{reason="identity-rejected"}'), 1);
  });
});
