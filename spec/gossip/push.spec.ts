import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { BehaviorSubject, firstValueFrom, from, map, of, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { Comm } from '../../lib/comm/comm.js';
import type { RemotePeer } from '../../lib/comm/connection-info.js';
import type { ReceivedMessage } from '../../lib/comm/received-message.js';
import { toDelivery, type DataDelivery } from '../../lib/gossip/data-delivery.js';
import { payloadDigest } from '../../lib/gossip/data-digest.js';
import { originOf, verifyDataMessage, verifyDataMessageAsync } from '../../lib/gossip/data-origin.js';
import { verifyOrigin } from '../../lib/gossip/verify-origin.js';
import { ConnectionClosedError, DecodeError, SignatureError, StoppedError, UnknownOriginError } from '../../lib/errors.js';
import { MspIdentityMapper } from '../../lib/identity/identity-mapper.js';
import { MspManager } from '../../lib/identity/msp.js';
import type { LocalPeer } from '../../lib/identity/peer-dir.js';
import { createPush, type Push } from '../../lib/gossip/push.js';
import { gossip } from '../../lib/proto/messages.js';
import { SignedMessage } from '../../lib/wire/signed-message.js';
import { PATIENT_DIALS, activeResources, eventually, expectNoLeaks, fixturePeer, sleep, startComm } from './cluster.js';
import { FakeComm, connectionInfo } from './fake-comm.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
const peer = (name: string): RemotePeer => ({ endpoint: `${name}:7051`, pkiId: Buffer.from(name) });
const [A, B, C, D] = ['A', 'B', 'C', 'D'].map(peer) as [RemotePeer, RemotePeer, RemotePeer, RemotePeer];
const data = (text: string, seq = 1) => ({ dataMsg: { payload: { seqNum: seq, data: Buffer.from(text) } } });
const textOf = (m: SignedMessage): string => Buffer.from(m.message.dataMsg!.payload!.data!).toString();
const nameOf = (p: RemotePeer): string => Buffer.from(p.pkiId!).toString();
/** comm.sent as `frame text→peer+peer`: the sends of one message at one time merged. */
const sends = (comm: FakeComm): string[] => {
  const out: string[] = [];
  let last = '';
  for (const s of comm.sent) {
    const key = `${s.at} ${textOf(s.message)}`;
    const to = s.peers.map(nameOf).join('+');
    if (key === last) out[out.length - 1] += `+${to}`;
    else out.push(`${key}→${to}`);
    last = key;
  }
  return out;
};
const noDrops = { overflow: 0, 'connection-closed': 0, 'dial-failed': 0, stopped: 0, 'too-large': 0, 'no-peers': 0 };

/** A FakeComm whose sendAsync settles only when the test says so. */
class HeldComm extends FakeComm {
  readonly held: Array<{ to: string; text: string; settle: (err?: Error) => void }> = [];
  override sendAsync(message: SignedMessage, to: RemotePeer): Promise<void> {
    return new Promise((resolve, reject) =>
      this.held.push({ to: nameOf(to), text: textOf(message), settle: (err) => (err ? reject(err) : resolve()) }),
    );
  }
  /** Settles the oldest `n` held sends (all by default), failing them with `err` if given. */
  release(n = this.held.length, err?: Error): void {
    for (const h of this.held.splice(0, n)) h.settle(err);
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("push, Fabric's batching window (virtual time, in-memory comm)", () => {
  const windowed = { batching: 'window' } as const;

  it('delivers each new message once, forwards it in bursts, never back to its sender', () => {
    const ts = scheduler();
    const comm = new FakeComm(Buffer.from('S'), 'S:7051', () => ts.now());
    ts.run(({ expectObservable }) => {
      const push = createPush(comm, of([A, B, C, D]), { ...windowed, fanout: 2, scheduler: ts, random: () => 0 });
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
      const push = createPush(comm, of([A]), { ...windowed, maxBurst: 2, scheduler: ts });
      ts.schedule(() => ['x', 'y', 'z'].forEach((t) => comm.receive(data(t), connectionInfo(B.pkiId!))), 5);
      ts.schedule(() => push.stop(), 50);
    });
    assert.deepEqual(sends(comm), ['5 x→A', '5 y→A', '15 z→A']);
  });

  it('sends to the peers current when a message is admitted, never to itself; nobody to send to is a drop', () => {
    const ts = scheduler();
    const comm = new FakeComm(Buffer.from('S'), 'S:7051', () => ts.now());
    let push!: Push;
    const drops: string[] = [];
    ts.run(() => {
      const peers = new BehaviorSubject<readonly RemotePeer[]>([]);
      push = createPush(comm, { alive$: peers }, { ...windowed, fanout: 5, scheduler: ts, random: () => 0 });
      push.drops$.subscribe((d) => drops.push(`${ts.now()} ${d.reason}`));
      ts.schedule(() => push.publish(Buffer.from('lost')), 0); // nobody to send to
      ts.schedule(() => peers.next([A, peer('S'), { endpoint: 'S:7051' }, B]), 15);
      ts.schedule(() => push.publish(Buffer.from('a')), 20);
      ts.schedule(() => push.stop(), 50);
    });
    assert.deepEqual(sends(comm), ['30 a→A+B']);
    assert.deepEqual(drops, ['0 no-peers']);
  });

  it('drops what validate refuses, and other channels', () => {
    const ts = scheduler();
    const comm = new FakeComm(Buffer.from('S'), 'S:7051', () => ts.now());
    let push!: Push;
    const rejected: string[] = [];
    ts.run(({ expectObservable }) => {
      push = createPush(comm, of([A, B]), {
        ...windowed,
        scheduler: ts,
        channel: Buffer.from('ch1'),
        validate: (m: ReceivedMessage) => textOf(m.signedMessage) !== 'bad',
      });
      push.rejected$.subscribe((r) => rejected.push(`${r.from.pkiId} ${r.error.name}: ${r.error.message}`));
      expectObservable(push.delivered$.pipe(map((d) => Buffer.from(d.data).toString()))).toBe('----g 45ms |', { g: 'good' });
      ts.schedule(() => comm.receive({ ...data('bad'), channel: Buffer.from('ch1') }, connectionInfo(B.pkiId!)), 1);
      ts.schedule(() => comm.receive({ ...data('other'), channel: Buffer.from('ch2') }, connectionInfo(B.pkiId!)), 2);
      ts.schedule(() => comm.receive(data('none'), connectionInfo(B.pkiId!)), 3);
      ts.schedule(() => comm.receive({ ...data('good'), channel: Buffer.from('ch1') }, connectionInfo(B.pkiId!)), 4);
      ts.schedule(() => push.stop(), 50);
    });
    assert.deepEqual(sends(comm), ['14 good→A']);
    assert.deepEqual(rejected, ['B GossipError: refused by validate']);
    // The FakeComm's sendAsync settles in a microtask: the stats are read after the run.
    const { sent, inFlight, ...rest } = push.stats();
    assert.deepEqual(rest, { received: 2, duplicates: 0, invalid: 1, unknownOrigin: 0, published: 0, dropped: noDrops });
    assert.equal(sent + inFlight, 1);
  });

  it('completes and lets go of everything when the comm stops; the pending burst is counted as dropped', async () => {
    const ts = scheduler();
    const comm = new FakeComm(Buffer.from('S'), 'S:7051', () => ts.now());
    const peers = new BehaviorSubject<readonly RemotePeer[]>([A]);
    const push = createPush(comm, peers, { ...windowed, scheduler: ts });
    let completed = false;
    push.delivered$.subscribe({ complete: () => (completed = true), error: () => assert.fail('delivered$ errored') });
    comm.receive(data('pending'), connectionInfo(B.pkiId!)); // a burst is pending
    await comm.stop();
    assert.equal(completed, true);
    assert.equal(comm.observed, false);
    assert.equal(peers.observed, false);
    push.stop();
    ts.flush();
    assert.deepEqual(comm.sent, [], 'the pending burst was not sent');
    assert.deepEqual(push.stats().dropped, { ...noDrops, stopped: 1 });
    assert.equal(push.stats().inFlight, 0);
  });
});

describe('push, immediate sending, honest counts and backpressure (in-memory comm)', () => {
  it('a lone message goes out at once, not after a burst window', () => {
    const ts = scheduler();
    const comm = new FakeComm(Buffer.from('S'), 'S:7051', () => ts.now());
    ts.run(() => {
      const push = createPush(comm, of([A, B]), { scheduler: ts, random: () => 0 });
      ts.schedule(() => push.publish(Buffer.from('p1')), 3);
      ts.schedule(() => comm.receive(data('m1'), connectionInfo(A.pkiId!)), 7);
      ts.schedule(() => push.stop(), 50);
    });
    assert.deepEqual(sends(comm), ['3 p1→A+B', '7 m1→B']);
  });

  it('counts as sent only what the stream took; each failure is a drop with its peer and reason', async () => {
    const comm = new HeldComm(Buffer.from('S'), 'S:7051', () => 0);
    const push = createPush(comm, of([A, B, C]), { random: () => 0 });
    const drops: string[] = [];
    push.drops$.subscribe((d) => drops.push(`${d.digest === digest} ${d.peer ? nameOf(d.peer) : '-'} ${d.reason} ${d.error?.name}`));
    const digest = push.publish(Buffer.from('one'));
    assert.deepEqual(push.stats().inFlight, 3);
    assert.equal(push.stats().sent, 0, 'nothing counted as sent before the stream took it');
    comm.release(1);
    comm.release(1, new ConnectionClosedError('message dropped: dial-failed'));
    comm.release(1, new ConnectionClosedError('message dropped: connection-closed'));
    await turn();
    const stats = push.stats();
    assert.equal(stats.sent, 1);
    assert.equal(stats.inFlight, 0);
    assert.deepEqual(stats.dropped, { ...noDrops, 'dial-failed': 1, 'connection-closed': 1 });
    assert.deepEqual(drops, ['true B dial-failed ConnectionClosedError', 'true C connection-closed ConnectionClosedError']);
    push.stop();
  });

  it('publish() drops for a peer at maxInFlight; publishAsync() and publishAll() wait for room', async () => {
    const comm = new HeldComm(Buffer.from('S'), 'S:7051', () => 0);
    const push = createPush(comm, of([A]), { maxInFlight: 4 });
    for (let i = 0; i < 4; i++) push.publish(Buffer.from(`p${i}`));
    const drops: string[] = [];
    push.drops$.subscribe((d) => drops.push(`${nameOf(d.peer!)} ${d.reason}`));
    push.publish(Buffer.from('too many'));
    assert.deepEqual(drops, ['A overflow']);
    assert.equal(push.stats().dropped.overflow, 1);

    let waited: string | undefined;
    void push.publishAsync(Buffer.from('patient')).then((d) => (waited = d));
    const all: string[] = [];
    let completed = false;
    from(['q0', 'q1', 'q2'].map((t) => Buffer.from(t)))
      .pipe(push.publishAll())
      .subscribe({ next: (d) => all.push(d), complete: () => (completed = true) });
    await turn();
    assert.equal(waited, undefined, 'no room yet');
    assert.equal(comm.held.length, 4);
    comm.release(1); // 3 in flight: above half of 4, still waiting
    await turn();
    assert.equal(waited, undefined);
    comm.release(1); // 2 in flight: resume
    await turn();
    assert.ok(waited !== undefined, 'publishAsync resolved once there was room');
    for (let i = 0; i < 10 && !completed; i++) {
      comm.release();
      await turn();
    }
    assert.equal(completed, true);
    assert.equal(all.length, 3);
    comm.release();
    await turn();
    assert.deepEqual(
      comm.sent.map((s) => textOf(s.message)),
      [],
      'HeldComm records nothing in sent: every send went through sendAsync',
    );
    const stats = push.stats();
    assert.equal(stats.published, 9);
    assert.equal(stats.sent, 8);
    assert.equal(stats.inFlight, 0);
    assert.equal(stats.sent + stats.dropped.overflow, stats.published, 'every publication is sent or dropped');
    push.stop();
  });

  it('stop() rejects publishers waiting for room', async () => {
    const comm = new HeldComm(Buffer.from('S'), 'S:7051', () => 0);
    const push = createPush(comm, of([A]), { maxInFlight: 1 });
    push.publish(Buffer.from('first'));
    const waiting = push.publishAsync(Buffer.from('second'));
    push.stop();
    await assert.rejects(waiting, StoppedError);
    await assert.rejects(push.publishAsync(Buffer.from('third')), StoppedError);
    push.publish(Buffer.from('fourth'));
    assert.equal(push.stats().dropped.stopped, 1);
  });

  it('publishes channelled data messages with growing seq_nums, signed by the comm by default when asked', (t) => {
    const comm = new FakeComm(Buffer.from('S'), 'S:7051', () => 0);
    comm.signer = { sign: (bytes: Uint8Array) => Buffer.from(`sig:${bytes.length}`) };
    const push = createPush(comm, of([]), { sign: true, channel: Buffer.from('ch') });
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
      assert.equal(originOf(m)?.toString(), 'S');
      assert.equal(payloadDigest(m), push.store.digests()[held.indexOf(m)]);
    }
    assert.equal(push.stats().published, 3);
    assert.equal(push.stats().dropped['no-peers'], 3);
    const unsigned = createPush(new FakeComm(Buffer.from('S'), 'S:7051', () => 0), of([]));
    t.after(() => unsigned.stop());
    const plain = unsigned.store.get(unsigned.publish(Buffer.from('plain')))!;
    assert.equal(plain.signature.length, 0, "unsigned by default, as Fabric's data messages");
    assert.equal(originOf(plain), undefined);
  });
});

describe('originator signatures (real identities, in-memory comm)', () => {
  let origin: LocalPeer;
  let relay: LocalPeer;
  let receiver: LocalPeer;
  const mapperOf = (self: LocalPeer) => new MspIdentityMapper(new MspManager([self.msp]), self);
  const signedBy = (signer: LocalPeer, claimed: LocalPeer, text: string) =>
    SignedMessage.create({ dataMsg: { payload: { seqNum: 1, data: Buffer.from(text), originPkiId: claimed.pkiId } } }, signer.signer);

  before(async () => {
    [origin, relay, receiver] = await Promise.all([0, 1, 2].map(fixturePeer)) as [LocalPeer, LocalPeer, LocalPeer];
  });

  it("a decoder with Fabric's Payload (fields 1-3 only) reads a signed data message and skips the origin", () => {
    const fabric = protobuf.parse(`syntax = "proto3"; package g;
      message Payload { uint64 seq_num = 1; bytes data = 2; repeated bytes private_data = 3; }
      message DataMessage { Payload payload = 1; }
      message GossipMessage { uint64 nonce = 1; bytes channel = 2; int32 tag = 3; DataMessage data_msg = 8; }`).root;
    const signed = signedBy(origin, origin, 'for Fabric');
    const decoded = fabric.lookupType('g.GossipMessage').decode(signed.payload).toJSON() as {
      dataMsg: { payload: { seqNum: string; data: string } };
    };
    assert.equal(decoded.dataMsg.payload.seqNum, '1');
    assert.equal(Buffer.from(decoded.dataMsg.payload.data, 'base64').toString(), 'for Fabric');
    // A relay forwards the Envelope as received: the bytes the origin signed, field 1000 included.
    assert.ok(originOf(SignedMessage.fromBytes(Buffer.from(signed.bytes)))?.equals(origin.pkiId));
  });

  it('verifyDataMessageAsync: the same answers, off the main thread', async () => {
    const mapper = mapperOf(receiver);
    const good = signedBy(origin, origin, 'hello');
    await assert.rejects(verifyDataMessageAsync(good, mapper), UnknownOriginError);
    mapper.put(origin.pkiId, origin.identity);
    assert.ok((await verifyDataMessageAsync(good, mapper)).equals(origin.pkiId));
    await assert.rejects(verifyDataMessageAsync(signedBy(relay, origin, 'forged'), mapper), SignatureError);
  });

  it('verifyDataMessage returns the originator, or a typed error', () => {
    const mapper = mapperOf(receiver);
    const good = signedBy(origin, origin, 'hello');
    assert.throws(() => verifyDataMessage(good, mapper), (e: unknown) => e instanceof UnknownOriginError && e.pkiId.equals(origin.pkiId));
    mapper.put(origin.pkiId, origin.identity);
    mapper.put(relay.pkiId, relay.identity);
    assert.ok(verifyDataMessage(good, mapper).equals(origin.pkiId));
    assert.throws(() => verifyDataMessage(signedBy(relay, origin, 'forged'), mapper), SignatureError);
    assert.throws(() => verifyDataMessage(SignedMessage.create(data('no origin'), origin.signer), mapper), SignatureError);
    const unsigned = SignedMessage.create({ dataMsg: { payload: { seqNum: 1, data: Buffer.from('x'), originPkiId: origin.pkiId } } });
    assert.throws(() => verifyDataMessage(unsigned, mapper), SignatureError);
    assert.throws(() => verifyDataMessage(SignedMessage.create({ empty: {} }, origin.signer), mapper), DecodeError);
    // Relayed as received: the envelope's bytes are the origin's, so a second hop verifies alike.
    const relayed = SignedMessage.fromBytes(Buffer.from(good.bytes));
    assert.ok(verifyDataMessage(relayed, mapper).equals(origin.pkiId));
  });

  for (const offThread of [true, 'threadpool', false] as const) {
    const where = offThread === true ? 'on a worker thread' : offThread === 'threadpool' ? "on libuv's threadpool" : 'in line';
    it(`push with verifyOrigin (${where}) delivers verified messages and refuses the rest, asking for unknown identities`, async () => {
      const comm = new FakeComm(receiver.pkiId, 'R:7051', () => 0);
      comm.identityMapper = mapperOf(receiver);
      comm.identityMapper.put(relay.pkiId, relay.identity);
      const asked: string[] = [];
      const push = createPush(comm, of([]), {
        verifyOrigin: true,
        verifyOffThread: offThread,
        onUnknownOrigin: (pkiId, from) => asked.push(`${pkiId.equals(origin.pkiId)} via ${from.pkiId.equals(relay.pkiId)}`),
      });
      const delivered: string[] = [];
      const rejected: string[] = [];
      push.delivered$.subscribe((d) => delivered.push(`${Buffer.from(d.data).toString()} from origin ${d.origin?.equals(origin.pkiId)}`));
      push.rejected$.subscribe((r) => rejected.push(r.error.name));
      const via = connectionInfo(relay.pkiId);
      comm.receive(signedBy(origin, origin, 'early'), via);
      comm.identityMapper.put(origin.pkiId, origin.identity); // e.g. membership learned it
      comm.receive(signedBy(relay, origin, 'early'), via); // the same payload, forged: must not shadow the next
      comm.receive(signedBy(origin, origin, 'early'), via);
      comm.receive(signedBy(origin, origin, 'early'), via); // a duplicate
      comm.receive(data('unsigned'), via);
      await eventually(() => delivered.length + rejected.length >= 4, 'every verification to finish');
      assert.deepEqual(asked, ['true via true']);
      assert.deepEqual(delivered, ['early from origin true']);
      assert.deepEqual([...rejected].sort(), ['SignatureError', 'SignatureError', 'UnknownOriginError']);
      const stats = push.stats();
      assert.equal(stats.unknownOrigin, 1);
      assert.equal(stats.invalid, 2);
      assert.equal(stats.duplicates, 1);
      push.stop();
    });
  }

  it('verifyOrigin() checks deliveries of other pipelines', async () => {
    const mapper = mapperOf(receiver);
    mapper.put(origin.pkiId, origin.identity);
    const rejected: string[] = [];
    const deliveries = [signedBy(origin, origin, 'ok'), signedBy(relay, origin, 'forged')].map((m) =>
      toDelivery(payloadDigest(m)!, m, connectionInfo(relay.pkiId)),
    );
    const passed = await firstValueFrom(
      from(deliveries).pipe(
        verifyOrigin(mapper, (_, err) => rejected.push(err.name)),
        toArray(),
      ),
    );
    assert.deepEqual(passed.map((d) => Buffer.from(d.data).toString()), ['ok']);
    assert.deepEqual(rejected, ['SignatureError']);
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
    comms.push(...(await Promise.all(selves.map((s) => startComm(s, undefined, PATIENT_DIALS)))));
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
    await eventually(() => delivered.every((d, i) => d.size === expected(i)), 'every peer to get every message').catch(
      (err: unknown) => {
        // What each side counted, so that a failure says where messages went.
        const counts = pushes.map((p, i) => `peer${i}: ${delivered[i]!.size}/${expected(i)} ${JSON.stringify(p.stats())}`);
        const drops = comms.map((c, i) => `peer${i} comm drops ${JSON.stringify(c.stats().dropped)}`);
        throw new Error(`${String(err)}\n${[...counts, ...drops].join('\n')}`);
      },
    );
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

describe('originator signatures over two hops (loopback TLS, a line of 3 peers)', () => {
  const comms: Comm[] = [];
  const pushes: Push[] = [];
  let baseline: Map<string, number>;

  before(async () => {
    baseline = activeResources();
    const selves = await Promise.all([0, 1, 2].map(fixturePeer));
    comms.push(...(await Promise.all(selves.map((s) => startComm(s, undefined, PATIENT_DIALS)))));
    const at = (i: number): RemotePeer => ({ endpoint: comms[i]!.endpoint, pkiId: comms[i]!.getPKIid() });
    // 0 — 1 — 2: peer2 only hears from peer1, never from the originator.
    const lines = [[at(1)], [at(0), at(2)], [at(1)]];
    comms.forEach((comm, i) =>
      pushes.push(createPush(comm, of(lines[i]!), { sign: i === 0, verifyOrigin: i > 0, channel: Buffer.from('line') })),
    );
    // What membership does from alive messages: peer2 learns the originator's identity.
    comms[2]!.identityMapper.put(selves[0]!.pkiId, selves[0]!.identity);
  });

  after(async () => {
    for (const p of pushes) p.stop();
    await Promise.all(comms.map((c) => c.stop()));
    await expectNoLeaks(baseline);
  });

  it('the last peer verifies the originator signature on a message relayed untouched', async () => {
    const got: DataDelivery[] = [];
    pushes[2]!.delivered$.subscribe((d) => got.push(d));
    const digest = await pushes[0]!.publishAsync(Buffer.from('signed at the origin'));
    await eventually(() => got.length === 1, 'peer2 to get the message');
    assert.equal(got[0]!.digest, digest);
    assert.ok(got[0]!.origin?.equals(comms[0]!.getPKIid()), 'verified origin is peer0');
    assert.ok(got[0]!.from.pkiId.equals(comms[1]!.getPKIid()), 'it came from peer1');
    assert.ok(verifyDataMessage(got[0]!.message, comms[2]!.identityMapper).equals(comms[0]!.getPKIid()));
    assert.equal(pushes[2]!.stats().invalid + pushes[2]!.stats().unknownOrigin, 0);
    await eventually(() => pushes[0]!.stats().sent === 1, 'the stream to take the message');
  });
});

describe('push counts over loopback TLS when the connection closes mid-flight', () => {
  it('every (message, peer) pair ends sent or dropped, once, and waiting publishers are released', async () => {
    const baseline = activeResources();
    const [s0, s1] = await Promise.all([fixturePeer(0), fixturePeer(1)]);
    const [a, b] = await Promise.all([startComm(s0!), startComm(s1!)]);
    const push = createPush(a, of([{ endpoint: b.endpoint, pkiId: b.getPKIid() }]), { fanout: 1, maxInFlight: 100 });
    try {
      await a.connect({ endpoint: b.endpoint, pkiId: b.getPKIid() });
      const drops: string[] = [];
      push.drops$.subscribe((d) => drops.push(d.reason));
      const n = 1_000;
      // Not awaited one by one: most wait for room when the receiver goes away.
      const published: Array<Promise<string>> = [];
      for (let i = 0; i < n; i++) {
        published.push(push.publishAsync(Buffer.alloc(512, i % 251)));
        if (i === 150) void b.stop();
      }
      const settled = await Promise.allSettled(published);
      assert.equal(settled.filter((r) => r.status === 'rejected').length, 0, 'no publisher is left failing while push runs');
      await eventually(() => push.stats().inFlight === 0, 'every message in flight to be settled', 15_000);
      const stats = push.stats();
      const dropped = Object.values(stats.dropped).reduce((x, y) => x + y, 0);
      assert.equal(stats.published, n);
      assert.equal(stats.sent + dropped, n, `sent ${stats.sent} + dropped ${JSON.stringify(stats.dropped)}`);
      assert.ok(dropped > 0, 'the receiver went away before everything was sent');
      assert.equal(drops.length, dropped, 'every drop is on drops$');
      assert.equal(stats.dropped.overflow, 0, 'publishAsync waits instead of overflowing');
    } finally {
      push.stop();
      await Promise.all([a.stop(), b.stop()]);
    }
    await expectNoLeaks(baseline);
  });
});
