// One peer's view for the live page, over three real peers (loopback mutual TLS, real
// membership with short timings, real push).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Subject, filter, firstValueFrom, lastValueFrom, take, timeout, toArray } from 'rxjs';
import {
  createMembership,
  createPeerTopology,
  createPush,
  type Comm,
  type Membership,
  type PeerTopology,
  type Push,
  type TopologySnapshot,
} from '../../lib/index.js';
import { eventually, fixturePeer, startComm } from '../gossip/cluster.js';

interface Peer {
  readonly comm: Comm;
  readonly membership: Membership;
  readonly push: Push;
  readonly id: string;
}

describe('createPeerTopology', () => {
  const peers: Peer[] = [];
  const published = new Subject<string>();
  let topology: PeerTopology;
  let latest: TopologySnapshot | undefined;
  let watching: { unsubscribe(): void } | undefined;

  before(async () => {
    for (let i = 0; i < 3; i++) {
      const self = await fixturePeer(i);
      const comm = await startComm(self);
      const bootstrap = peers.length > 0 ? [peers[0]!.comm.endpoint] : [];
      const membership = createMembership(comm, { self, bootstrap, aliveIntervalMs: 200, aliveExpirationMs: 1_000 });
      peers.push({ comm, membership, push: createPush(comm, membership), id: comm.getPKIid().toString('hex') });
    }
    const [p0] = peers as [Peer];
    topology = createPeerTopology(p0.comm, {
      membership: p0.membership,
      push: p0.push,
      published$: published,
      aliveExpirationMs: 1_000,
      sampleMs: 300,
    });
    watching = topology.snapshots$.subscribe((s) => (latest = s));
  });

  after(async () => {
    watching?.unsubscribe();
    topology.stop();
    for (const p of peers) {
      p.push.stop();
      p.membership.stop();
      await p.comm.stop();
    }
  });

  const node = (id: string) => latest?.nodes.find((n) => n.id === id);

  it('shows itself and the members alive, with when each was last heard from, and its connections', async () => {
    const [p0, p1, p2] = peers as [Peer, Peer, Peer];
    await eventually(() => node(p1.id)?.state === 'alive' && node(p2.id)?.state === 'alive', 'both members alive in the view', 10_000);
    await eventually(() => latest!.edges.length === 2, 'connections to both', 10_000);
    const snapshot = latest!;
    assert.equal(snapshot.title, `peer ${p0.comm.endpoint}`);
    assert.equal(snapshot.aliveExpirationMs, 1_000);
    const self = node(p0.id)!;
    assert.equal(self.self, true);
    assert.equal(self.endpoint, p0.comm.endpoint);
    for (const p of [p1, p2]) {
      const n = node(p.id)!;
      assert.equal(n.endpoint, p.comm.endpoint);
      assert.ok(n.lastSeen !== undefined && snapshot.at - n.lastSeen < 1_000, `heard from ${n.endpoint} within the expiration`);
      assert.equal(typeof n.queued, 'number');
    }
    assert.deepEqual(new Set(snapshot.edges.map((e) => `${e.from}>${e.to}`)), new Set([`${p0.id}>${p1.id}`, `${p0.id}>${p2.id}`]));
  });

  it('measures message rates: alive messages flow every 200 ms', async () => {
    const [p0, p1] = peers as [Peer, Peer];
    await eventually(() => (node(p0.id)?.sentPerSec ?? 0) > 0 && (node(p1.id)?.receivedPerSec ?? 0) > 0, 'non-zero rates', 5_000);
    // Each member sends us about 5 alive messages a second; generous bounds for a loaded machine.
    const fromP1 = node(p1.id)!.receivedPerSec!;
    assert.ok(fromP1 > 0.5 && fromP1 < 50, `received ${fromP1}/s from peer1`);
  });

  it('reports its own publications and the messages pushed to it', async () => {
    const [p0, p1] = peers as [Peer, Peer];
    const events = lastValueFrom(topology.deliveries$.pipe(take(2), toArray(), timeout(10_000)));
    published.next('d1');
    p1.push.publish(Buffer.from('hello'));
    const [mine, pushed] = await events;
    assert.deepEqual({ ...mine!, time: 0 }, { message: 'd1', at: p0.id, origin: p0.id, via: 'publish', latencyMs: 0, time: 0 });
    assert.equal(pushed!.at, p0.id);
    assert.equal(pushed!.from, p1.id);
    assert.equal(pushed!.via, 'push');
  });

  it('shows a member dead once it stops', async () => {
    const [, , p2] = peers as [Peer, Peer, Peer];
    p2.push.stop();
    p2.membership.stop();
    await p2.comm.stop();
    await eventually(() => node(p2.id)?.state === 'dead', 'peer2 dead', 10_000);
  });

  it('a late watcher gets the latest snapshot and the recent deliveries at once; stop() completes both streams', async () => {
    const second = await firstValueFrom(topology.snapshots$);
    assert.ok(second.at >= latest!.at - 1, 'the latest, replayed');
    const completed = lastValueFrom(topology.deliveries$.pipe(toArray()));
    const snapshotsDone = lastValueFrom(topology.snapshots$.pipe(filter(() => false), toArray()));
    topology.stop();
    // A late watcher got the recent deliveries at once (a page opened later is not empty).
    assert.deepEqual(
      (await completed).map((d) => d.via),
      ['publish', 'push'],
    );
    assert.deepEqual(await snapshotsDone, []);
  });
});
