import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BehaviorSubject, map, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { Comm } from '../../lib/comm/comm.js';
import type { RemotePeer } from '../../lib/comm/connection-info.js';
import type { ReceivedMessage } from '../../lib/comm/received-message.js';
import { payloadDigest } from '../../lib/gossip/data-digest.js';
import { createPush, type Push } from '../../lib/gossip/push.js';
import { gossip } from '../../lib/proto/messages.js';
import type { SignedMessage } from '../../lib/wire/signed-message.js';
import { activeResources, eventually, expectNoLeaks, fixturePeer, sleep, startComm } from './cluster.js';
import { FakeComm, connectionInfo } from './fake-comm.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
const peer = (name: string): RemotePeer => ({ endpoint: `${name}:7051`, pkiId: Buffer.from(name) });
const [A, B, C, D] = ['A', 'B', 'C', 'D'].map(peer) as [RemotePeer, RemotePeer, RemotePeer, RemotePeer];
const data = (text: string, seq = 1) => ({ dataMsg: { payload: { seqNum: seq, data: Buffer.from(text) } } });
const textOf = (m: SignedMessage): string => Buffer.from(m.message.dataMsg!.payload!.data!).toString();
/** comm.sent as `frame text→peer+peer`. */
const sends = (comm: FakeComm): string[] =>
  comm.sent.map((s) => `${s.at} ${textOf(s.message)}→${s.peers.map((p) => Buffer.from(p.pkiId!).toString()).join('+')}`);

describe('push (virtual time, in-memory comm)', () => {
  it('delivers each new message once, forwards it in bursts, never back to its sender', () => {
    const ts = scheduler();
    const comm = new FakeComm(Buffer.from('S'), 'S:7051', () => ts.now());
    ts.run(({ expectObservable }) => {
      const push = createPush(comm, of([A, B, C, D]), { fanout: 2, scheduler: ts, random: () => 0 });
      expectObservable(push.delivered$.pipe(map((d) => `${Buffer.from(d.data).toString()}<${d.from.pkiId}`))).toBe(
        'a 29ms b 69ms |',
        { a: 'm1<A', b: 'm2<C' },
      );
      ts.schedule(() => comm.receive(data('m1'), connectionInfo(A.pkiId!)), 0);
      ts.schedule(() => comm.receive(data('m1'), connectionInfo(B.pkiId!)), 2); // a duplicate
      ts.schedule(() => push.publish(Buffer.from('p1')), 3); // same burst as m1
      ts.schedule(() => comm.receive(data('m2'), connectionInfo(C.pkiId!)), 30);
      ts.schedule(() => push.stop(), 100);
    });
    // random() = 0 picks the first eligible peers: A is m1's sender, C is m2's.
    assert.deepEqual(sends(comm), ['10 m1→B+C', '10 p1→A+B', '40 m2→A+B']);
  });

  it('a full burst goes at once', () => {
    const ts = scheduler();
    const comm = new FakeComm(Buffer.from('S'), 'S:7051', () => ts.now());
    ts.run(() => {
      const push = createPush(comm, of([A]), { maxBurst: 2, scheduler: ts });
      ts.schedule(() => ['x', 'y', 'z'].forEach((t) => comm.receive(data(t), connectionInfo(B.pkiId!))), 5);
      ts.schedule(() => push.stop(), 50);
    });
    assert.deepEqual(sends(comm), ['5 x→A', '5 y→A', '15 z→A']);
  });

  it('sends to the peers current when the burst goes, never to itself', () => {
    const ts = scheduler();
    const comm = new FakeComm(Buffer.from('S'), 'S:7051', () => ts.now());
    ts.run(() => {
      const peers = new BehaviorSubject<readonly RemotePeer[]>([]);
      const push = createPush(comm, { alive$: peers }, { fanout: 5, scheduler: ts, random: () => 0 });
      ts.schedule(() => push.publish(Buffer.from('lost')), 0); // nobody to send to
      ts.schedule(() => push.publish(Buffer.from('a')), 20);
      ts.schedule(() => peers.next([A, peer('S'), { endpoint: 'S:7051' }, B]), 25);
      ts.schedule(() => push.stop(), 50);
    });
    assert.deepEqual(sends(comm), ['30 a→A+B']);
  });

  it('drops what validate refuses, and other channels', () => {
    const ts = scheduler();
    const comm = new FakeComm(Buffer.from('S'), 'S:7051', () => ts.now());
    let push!: Push;
    ts.run(({ expectObservable }) => {
      push = createPush(comm, of([A, B]), {
        scheduler: ts,
        channel: Buffer.from('ch1'),
        validate: (m: ReceivedMessage) => textOf(m.signedMessage) !== 'bad',
      });
      expectObservable(push.delivered$.pipe(map((d) => Buffer.from(d.data).toString()))).toBe('----g 45ms |', { g: 'good' });
      ts.schedule(() => comm.receive({ ...data('bad'), channel: Buffer.from('ch1') }, connectionInfo(B.pkiId!)), 1);
      ts.schedule(() => comm.receive({ ...data('other'), channel: Buffer.from('ch2') }, connectionInfo(B.pkiId!)), 2);
      ts.schedule(() => comm.receive(data('none'), connectionInfo(B.pkiId!)), 3);
      ts.schedule(() => comm.receive({ ...data('good'), channel: Buffer.from('ch1') }, connectionInfo(B.pkiId!)), 4);
      ts.schedule(() => push.stop(), 50);
    });
    assert.deepEqual(sends(comm), ['14 good→A']);
    assert.deepEqual(push.stats(), { received: 2, duplicates: 0, invalid: 1, published: 0, sent: 1 });
  });

  it('publishes signed, channelled data messages with growing seq_nums', (t) => {
    const comm = new FakeComm(Buffer.from('S'), 'S:7051', () => 0);
    const signer = { sign: (bytes: Uint8Array) => Buffer.from(`sig:${bytes.length}`) };
    const push = createPush(comm, of([]), { signer, channel: Buffer.from('ch') });
    t.after(() => push.stop());
    const d1 = push.publish(Buffer.from('one'));
    push.publish(Buffer.from('two'), 41);
    push.publish(Buffer.from('three'));
    assert.equal(push.publish(Buffer.from('one'), 1), d1, 'same message, same digest');
    const held = push.store.digests().map((d) => push.store.get(d)!);
    assert.deepEqual(held.map((m) => Number(m.message.dataMsg!.payload!.seqNum)), [1, 41, 42]);
    for (const m of held) {
      assert.equal(m.message.tag, gossip.GossipMessage.Tag.CHAN_AND_ORG);
      assert.equal(Buffer.from(m.message.channel).toString(), 'ch');
      assert.equal(Buffer.from(m.signature).toString(), `sig:${m.payload.length}`);
      assert.equal(payloadDigest(m), push.store.digests()[held.indexOf(m)]);
    }
    assert.equal(push.stats().published, 3);
    push.stop();
  });

  it('completes and lets go of everything when the comm stops; stop() after that is fine', async () => {
    const ts = scheduler();
    const comm = new FakeComm(Buffer.from('S'), 'S:7051', () => ts.now());
    const peers = new BehaviorSubject<readonly RemotePeer[]>([A]);
    const push = createPush(comm, peers, { scheduler: ts });
    let completed = false;
    push.delivered$.subscribe({ complete: () => (completed = true), error: () => assert.fail('delivered$ errored') });
    comm.receive(data('pending'), connectionInfo(B.pkiId!)); // a burst is pending
    await comm.stop();
    assert.equal(completed, true);
    assert.equal(comm.observed, false);
    assert.equal(peers.observed, false);
    push.stop();
    ts.flush();
    assert.deepEqual(comm.sent, [], 'the pending burst was dropped');
  });
});

describe('push over loopback TLS (4 peers, fanout 2)', () => {
  const comms: Comm[] = [];
  const pushes: Push[] = [];
  /** Every data message each peer received, as `from → digest`. */
  const receipts: { from: string; digest: string }[][] = [];
  let baseline: Map<string, number>;

  before(async () => {
    baseline = activeResources();
    const selves = await Promise.all([0, 1, 2, 3].map(fixturePeer));
    comms.push(...(await Promise.all(selves.map((s) => startComm(s)))));
    const everyone = comms.map((c) => ({ endpoint: c.endpoint, pkiId: c.getPKIid() }));
    for (const comm of comms) {
      const log: { from: string; digest: string }[] = [];
      receipts.push(log);
      comm.accept((m) => m.message.content === 'dataMsg').subscribe((m) =>
        log.push({ from: m.connectionInfo.pkiId.toString('hex'), digest: payloadDigest(m.signedMessage)! }),
      );
      pushes.push(createPush(comm, of(everyone.filter((p) => !p.pkiId.equals(comm.getPKIid()))), { fanout: 2 }));
    }
  });

  after(async () => {
    for (const p of pushes) p.stop();
    await Promise.all(comms.map((c) => c.stop()));
  });

  it('reaches every peer exactly once, over more than one hop, never echoing to the sender', async () => {
    const delivered = pushes.map(() => new Map<string, string>());
    pushes.forEach((p, i) =>
      p.delivered$.subscribe((d) => {
        assert.equal(delivered[i]!.has(d.digest), false, `peer${i} got ${d.digest} twice`);
        delivered[i]!.set(d.digest, d.from.pkiId.toString('hex'));
      }),
    );
    const published: { origin: number; digest: string }[] = [];
    for (let n = 0; n < 12; n++) {
      const origin = n % 3 === 2 ? 2 : 0;
      published.push({ origin, digest: pushes[origin]!.publish(Buffer.from(`message ${n}`)) });
    }
    const expected = (i: number) => published.filter((p) => p.origin !== i).length;
    await eventually(() => delivered.every((d, i) => d.size === expected(i)), 'every peer to get every message');
    await sleep(200); // time for stray copies, if any, to arrive
    delivered.forEach((d, i) => assert.equal(d.size, expected(i), `peer${i} deliveries`));
    for (const { origin, digest } of published) {
      for (let i = 0; i < 4; i++) if (i !== origin) assert.ok(delivered[i]!.has(digest), `peer${i} misses ${digest}`);
      assert.equal(delivered[origin]!.has(digest), false, 'the originator does not deliver its own message');
    }

    // Fanout 2 out of 3 others: for each message, one peer got its first copy from a relay.
    const originId = (o: number) => comms[o]!.getPKIid().toString('hex');
    for (const { origin, digest } of published) {
      const viaRelay = delivered.filter((d, i) => i !== origin && d.get(digest) !== originId(origin));
      assert.ok(viaRelay.length >= 1, `${digest} went straight to everyone`);
    }

    // No echo: a peer never sends a message to the peer it first got it from.
    const ids = comms.map((c) => c.getPKIid().toString('hex'));
    receipts.forEach((log, y) => {
      for (const { from, digest } of log) {
        const x = ids.indexOf(from);
        assert.notEqual(delivered[x]!.get(digest), ids[y], `peer${x} sent ${digest} back to peer${y}, its sender`);
      }
    });
    const duplicates = pushes.reduce((n, p) => n + p.stats().duplicates, 0);
    const total = receipts.reduce((n, log) => n + log.length, 0);
    assert.equal(total, published.length * 3 + duplicates, 'every receipt is a delivery or a counted duplicate');
  });

  it('with two peers, the receiver sends nothing back', async () => {
    // A second dissemination on its own channel, between peer0 and peer1 only, fanout 3.
    const channel = Buffer.from('pair');
    const [p0, p1] = [0, 1].map((i) => {
      const other = comms[1 - i]!;
      const p = createPush(comms[i]!, of([{ endpoint: other.endpoint, pkiId: other.getPKIid() }]), { channel });
      pushes.push(p);
      return p;
    }) as [Push, Push];
    const got: string[] = [];
    p1.delivered$.subscribe((d) => got.push(d.digest));
    const digest = p0.publish(Buffer.from('no echo, please'));
    await eventually(() => got.length === 1, 'peer1 to get the message');
    await sleep(150);
    assert.deepEqual(got, [digest]);
    assert.equal(receipts[0]!.filter((r) => r.digest === digest).length, 0, 'peer1 echoed the message to peer0');
    assert.equal(p1.stats().sent, 0);
  });

  it('stop() after comm.stop() is harmless, and nothing is left running', async () => {
    await Promise.all(comms.map((c) => c.stop()));
    for (const p of pushes) p.stop();
    await expectNoLeaks(baseline);
  });
});
