import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Long from 'long';
import { map, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { Comm } from '../../lib/comm/comm.js';
import type { RemotePeer } from '../../lib/comm/connection-info.js';
import type { LocalPeer } from '../../lib/identity/peer-dir.js';
import { payloadDigest } from '../../lib/gossip/data-digest.js';
import { MessageStore } from '../../lib/gossip/message-store.js';
import { createPull, type Pull } from '../../lib/gossip/pull.js';
import { createPush, type Push } from '../../lib/gossip/push.js';
import { verifySignature } from '../../lib/identity/signer.js';
import { gossip } from '../../lib/proto/messages.js';
import { SignedMessage } from '../../lib/wire/signed-message.js';
import { PATIENT_DIALS, activeResources, eventually, expectNoLeaks, fixturePeer, sleep, startComm } from './cluster.js';
import { FakeComm, connectionInfo } from './fake-comm.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
const peer = (name: string): RemotePeer => ({ endpoint: `${name}:7051`, pkiId: Buffer.from(name) });
const A = peer('A');
const B = peer('B');
const dataMessage = (text: string) => SignedMessage.create({ dataMsg: { payload: { seqNum: 1, data: Buffer.from(text) } } });
const textOf = (m: SignedMessage) => Buffer.from(m.message.dataMsg!.payload!.data!).toString();
const BLOCK = gossip.PullMsgType.BLOCK_MSG;
const utf8 = (digests: Iterable<Uint8Array>) => [...digests].map((d) => Buffer.from(d).toString());

describe('pull (virtual time, in-memory comm)', () => {
  it('answers a Hello with its digests and a DataRequest of that Hello’s sender with the envelopes, unchanged', () => {
    const ts = scheduler();
    const comm = new FakeComm(Buffer.from('S'), 'S:7051', () => ts.now());
    const store = new MessageStore({ scheduler: ts });
    const held = dataMessage('held');
    const digest = payloadDigest(held)!;
    store.add(digest, held);
    ts.run(() => {
      const pull = createPull(comm, of([]), { store, digestWaitMs: 10, requestWaitMs: 15, scheduler: ts });
      const from = (p: RemotePeer) => connectionInfo(p.pkiId!);
      const request = (nonce: number) => ({ dataReq: { nonce, digests: [Buffer.from(digest), Buffer.from('unknown')], msgType: BLOCK } });
      ts.schedule(() => comm.receive({ hello: { nonce: 9, msgType: gossip.PullMsgType.IDENTITY_MSG } }, from(A)), 0); // identity pull: not ours
      ts.schedule(() => comm.receive({ hello: { nonce: 7, msgType: BLOCK } }, from(A)), 1);
      ts.schedule(() => comm.receive(request(7), from(B)), 3); // B did not say hello
      ts.schedule(() => comm.receive(request(8), from(A)), 4); // nobody said hello with 8
      ts.schedule(() => comm.receive(request(7), from(A)), 5); // answered
      ts.schedule(() => comm.receive(request(7), from(A)), 26); // 25 ms after the Hello: expired
      ts.schedule(() => pull.stop(), 40);
    });
    const answers = comm.responded.map((r) => `${r.at} ${r.message.message.content}→${r.to}`);
    assert.deepEqual(answers, ['1 dataDig→A', '5 dataUpdate→A']);
    const dig = comm.responded[0]!.message.message.dataDig!;
    assert.equal(Number(dig.nonce), 7);
    assert.deepEqual(utf8(dig.digests ?? []), [digest]);
    assert.equal(dig.msgType, gossip.PullMsgType.BLOCK_MSG);
    // Fabric drops block-pull messages not tagged CHAN_AND_ORG as illegal.
    for (const r of comm.responded) assert.equal(r.message.message.tag, gossip.GossipMessage.Tag.CHAN_AND_ORG);
    const update = comm.responded[1]!.message.message.dataUpdate!;
    assert.equal(Number(update.nonce), 7);
    assert.equal(update.data?.length, 1);
    assert.ok(Buffer.from(update.data![0]!.payload!).equals(held.payload), 'the payload bytes are forwarded as held');
  });

  it('runs a round every pullInterval and delivers what it pulled', () => {
    const ts = scheduler();
    const comm = new FakeComm(Buffer.from('S'), 'S:7051', () => ts.now());
    const store = new MessageStore({ scheduler: ts });
    const missing = dataMessage('missing');
    const digest = payloadDigest(missing)!;
    let n = 100;
    ts.run(({ expectObservable }) => {
      const pull = createPull(comm, of([A, peer('S')]), {
        store,
        pullIntervalMs: 20,
        digestWaitMs: 10,
        requestWaitMs: 15,
        scheduler: ts,
        nonce: () => Long.fromNumber(n++, true),
      });
      expectObservable(pull.delivered$.pipe(map((d) => `${textOf(d.message)}<${d.from.pkiId}`))).toBe('25ms m 74ms |', {
        m: 'missing<A',
      });
      // Round 1 at 20: A answers at once. Rounds at 40, 60, 80: nobody answers, each ends after digestWait.
      expectObservable(pull.rounds$.pipe(map((r) => `${r.peers.length}:${r.pulled}`))).toBe('25ms a 24ms b 19ms b 19ms b 9ms |', {
        a: '1:1',
        b: '1:0',
      });
      const from = connectionInfo(A.pkiId!);
      ts.schedule(() => comm.receive({ dataDig: { nonce: 100, digests: [Buffer.from(digest)], msgType: BLOCK } }, from), 22);
      ts.schedule(() => comm.receive({ dataUpdate: { nonce: 100, data: [missing.envelope], msgType: BLOCK } }, from), 25);
      ts.schedule(() => pull.stop(), 100);
    });
    const sent = comm.sent.map((s) => `${s.at} ${s.message.message.content}→${s.peers.map((p) => p.endpoint).join('+')}`);
    assert.deepEqual(sent, ['20 hello→A:7051', '22 dataReq→A:7051', '40 hello→A:7051', '60 hello→A:7051', '80 hello→A:7051']);
    assert.equal(Number(comm.sent[1]!.message.message.dataReq!.nonce), 100);
    for (const s of comm.sent) assert.equal(s.message.message.tag, gossip.GossipMessage.Tag.CHAN_AND_ORG);
    assert.equal(store.has(digest), true);
  });

  it('pullNow() starts a round at once, unless one is running', () => {
    const ts = scheduler();
    const comm = new FakeComm(Buffer.from('S'), 'S:7051', () => ts.now());
    ts.run(() => {
      const pull = createPull(comm, of([A, B]), { store: new MessageStore(), pullIntervalMs: 1_000, digestWaitMs: 10, scheduler: ts });
      ts.schedule(() => pull.pullNow(), 1);
      ts.schedule(() => pull.pullNow(), 5); // still waiting for digests: ignored
      ts.schedule(() => pull.pullNow(), 12);
      ts.schedule(() => pull.stop(), 20);
    });
    assert.deepEqual(
      comm.sent.map((s) => `${s.at} ${s.message.message.content}`),
      ['1 hello', '1 hello', '12 hello', '12 hello'],
    );
  });

  it('completes when the comm stops, abandoning its round', async () => {
    const ts = scheduler();
    const comm = new FakeComm(Buffer.from('S'), 'S:7051', () => ts.now());
    const pull = createPull(comm, of([A]), { store: new MessageStore(), pullIntervalMs: 10, scheduler: ts });
    let completed = 0;
    pull.delivered$.subscribe({ complete: () => completed++ });
    pull.rounds$.subscribe({ complete: () => completed++ });
    ts.flush(); // nothing scheduled beyond 'now' yet
    pull.pullNow();
    await comm.stop();
    assert.equal(completed, 2);
    assert.equal(comm.observed, false);
    pull.stop();
  });
});

describe('pull over loopback TLS: a peer that was down catches up', () => {
  const TIMING = { pullIntervalMs: 150, digestWaitMs: 100, requestWaitMs: 300 };
  let selves: LocalPeer[];
  const comms: Comm[] = [];
  const pushes: Push[] = [];
  const pulls: Pull[] = [];
  const stores: MessageStore[] = [];
  const pulled: string[][] = [[], [], []];
  const pushed: string[][] = [[], [], []];
  let everyone: RemotePeer[];
  let baseline: Map<string, number>;

  const start = async (i: number, listen?: string): Promise<void> => {
    // Push to peer2 must not fail on a slow first dial: then pull would fetch what push missed twice.
    comms[i] = await startComm(selves[i]!, listen, PATIENT_DIALS);
    const others = of(everyone.filter((_, j) => j !== i));
    stores[i] = new MessageStore();
    pushes[i] = createPush(comms[i]!, others, { store: stores[i], signer: selves[i]!.signer });
    pulls[i] = createPull(comms[i]!, others, { store: stores[i]!, ...TIMING });
    pushes[i]!.delivered$.subscribe((d) => pushed[i]!.push(d.digest));
    pulls[i]!.delivered$.subscribe((d) => pulled[i]!.push(d.digest));
  };

  before(async () => {
    baseline = activeResources();
    selves = await Promise.all([0, 1, 2].map(fixturePeer));
    const first = await Promise.all(selves.map((s) => startComm(s)));
    everyone = first.map((c) => ({ endpoint: c.endpoint, pkiId: c.getPKIid() }));
    await Promise.all(first.map((c) => c.stop())); // only to pick three free ports
    for (const i of [0, 1, 2]) await start(i, everyone[i]!.endpoint);
  });

  after(async () => {
    for (const p of [...pushes, ...pulls]) p.stop();
    await Promise.all(comms.map((c) => c.stop()));
  });

  it('gets by pull what it missed by push, byte for byte', async () => {
    const before = [pushes[0]!.publish(Buffer.from('before 1')), pushes[0]!.publish(Buffer.from('before 2'))];
    await eventually(() => before.every((d) => stores[2]!.has(d)), 'peer2 to get the first messages');

    // peer2 goes down; peer0 and peer1 write on. Their pushes to peer2 wait for a dial, which
    // fails (at once: nothing listens): then they are dropped and peer2 is presumed dead.
    const gaveUp = [false, false];
    [0, 1].forEach((i) =>
      comms[i]!.presumedDead$.subscribe((id) => (gaveUp[i] ||= id.equals(everyone[2]!.pkiId!))),
    );
    pushes[2]!.stop();
    pulls[2]!.stop();
    await comms[2]!.stop();
    const during = [0, 1, 0, 1, 0].map((o, n) => pushes[o]!.publish(Buffer.from(`during ${n}`)));
    await eventually(() => during.every((d) => stores[0]!.has(d) && stores[1]!.has(d)), 'peers 0 and 1 to hold everything');
    await eventually(() => gaveUp[0]! && gaveUp[1]!, 'peers 0 and 1 to give up on peer2');
    // Let every push still on its way (bursts, forwards between 0 and 1) fail too, so that none
    // reaches the restarted peer2.
    await sleep(500);

    // peer2 restarts, empty: nobody pushes those again, so only pull can bring them.
    await start(2, everyone[2]!.endpoint);
    const all = [...before, ...during];
    await eventually(() => all.every((d) => stores[2]!.has(d)), 'peer2 to catch up by pull', 5_000);
    assert.deepEqual([...pulled[2]!].sort(), [...all].sort(), 'each message pulled once');
    assert.ok(pulls[2]!.stats().rounds >= 1);

    for (const d of all) {
      const mine = stores[2]!.get(d)!;
      const origin = all.indexOf(d) < 2 || during.indexOf(d) % 2 === 0 ? 0 : 1;
      const theirs = stores[origin]!.get(d)!;
      assert.ok(Buffer.from(mine.payload).equals(theirs.payload), 'payload forwarded unchanged');
      assert.ok(Buffer.from(mine.signature).equals(theirs.signature), 'signature forwarded unchanged');
      verifySignature(selves[origin]!.signer.publicKey, mine.payload, mine.signature);
    }

    // A message published now still arrives by push, once, everywhere.
    const after = pushes[1]!.publish(Buffer.from('after'));
    await eventually(() => pushed[2]!.includes(after) || pulled[2]!.includes(after), 'peer2 to get a new message');
    await sleep(300);
    assert.equal([...pushed[2]!, ...pulled[2]!].filter((d) => d === after).length, 1);
  });

  it('stops before or after its comm without errors, leaving nothing running', async () => {
    pulls[0]!.stop();
    await Promise.all(comms.map((c) => c.stop()));
    for (const p of [...pushes, ...pulls]) p.stop();
    await expectNoLeaks(baseline);
  });
});
