import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Long from 'long';
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { Comm } from '../../lib/comm/comm.js';
import type { LocalPeer } from '../../lib/identity/peer-dir.js';
import { createAliveMessage, verifyAliveMessage } from '../../lib/gossip/alive-message.js';
import { createMembership, type Membership } from '../../lib/gossip/membership.js';
import type { MembershipChange, MembershipView } from '../../lib/gossip/membership-view.js';
import { MspIdentityMapper } from '../../lib/identity/identity-mapper.js';
import { MspManager } from '../../lib/identity/msp.js';
import { gossip } from '../../lib/proto/messages.js';
import { SignedMessage } from '../../lib/wire/signed-message.js';
import { createComm } from '../../lib/comm/comm.js';
import { activeResources, eventually, expectNoLeaks, fixturePeer, roguePeer } from './cluster.js';
import { FakeComm, connectionInfo } from './fake-comm.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
const U = (n: number) => Long.fromNumber(n, true);
const endpointOf = (i: number) => `peer${i}:7051`;

/** An alive message of `who`, signed by `signer` (by default its own). */
const aliveOf = (who: LocalPeer, i: number, inc: number, seq: number, signer = who.signer, pkiId = who.pkiId, withIdentity = true): SignedMessage =>
  createAliveMessage(
    { pkiId, endpoint: endpointOf(i), ...(withIdentity ? { identity: who.identity } : {}), incNum: U(inc), seqNum: U(seq) },
    signer,
  );

/** An in-memory comm for `self`, with its identity, signer and an identity mapper trusting the fixtures' MSP. */
function fakeComm(self: LocalPeer, i: number, now: () => number): FakeComm {
  const comm = new FakeComm(self.pkiId, endpointOf(i), now);
  comm.identity = self.identity;
  comm.signer = self.signer;
  comm.identityMapper = new MspIdentityMapper(new MspManager([self.msp]), { pkiId: self.pkiId, identity: self.identity });
  return comm;
}

describe('alive messages', () => {
  let peers: LocalPeer[];
  let mapper: MspIdentityMapper;
  before(async () => {
    peers = await Promise.all([0, 1, 2].map(fixturePeer));
    mapper = new MspIdentityMapper(new MspManager([peers[0]!.msp]));
  });

  it('round-trip: the member is what the signed alive message says', () => {
    const member = verifyAliveMessage(aliveOf(peers[1]!, 1, 7, 3), mapper);
    assert.ok(member.pkiId.equals(peers[1]!.pkiId));
    assert.equal(member.endpoint, 'peer1:7051');
    assert.equal(member.time.incNum.toString(), '7');
    assert.equal(member.time.seqNum.toString(), '3');
  });

  it('refuses a signature by someone else, a PKI-ID not of the identity, an untrusted identity', async () => {
    assert.throws(() => verifyAliveMessage(aliveOf(peers[1]!, 1, 1, 1, peers[2]!.signer), mapper), { name: 'SignatureError' });
    assert.throws(() => verifyAliveMessage(aliveOf(peers[1]!, 1, 1, 1, peers[1]!.signer, peers[2]!.pkiId), mapper), {
      name: 'IdentityError',
    });
    const rogue = await roguePeer();
    assert.throws(() => verifyAliveMessage(aliveOf(rogue, 1, 1, 1), mapper), { name: 'IdentityError' });
    const unsigned = SignedMessage.create(aliveOf(peers[1]!, 1, 1, 1).message);
    assert.throws(() => verifyAliveMessage(unsigned, mapper), { name: 'SignatureError' });
    assert.throws(() => verifyAliveMessage(SignedMessage.create({ empty: {} }), mapper), { name: 'DecodeError' });
  });
});

describe('membership (virtual time, in-memory comm, real signatures)', () => {
  let peers: LocalPeer[];
  before(async () => {
    peers = await Promise.all([0, 1, 2].map(fixturePeer));
  });

  it('announces itself, verifies, expires, revives, answers membership requests', () => {
    const [self, p1, p2] = peers as [LocalPeer, LocalPeer, LocalPeer];
    const ts = scheduler();
    const comm = fakeComm(self, 0, () => ts.now());
    const from = (p: LocalPeer) => connectionInfo(p.pkiId, 'somewhere:1', Uint8Array.from(p.identity));
    let membership!: Membership;
    ts.run(({ expectObservable }) => {
      membership = createMembership(comm, {
        bootstrap: ['boot:1', endpointOf(0)],
        aliveIntervalMs: 10,
        aliveExpirationMs: 50,
        expirationCheckMs: 5,
        reconnectIntervalMs: 30,
        publishCertPeriodMs: 25,
        identityPull: { pullIntervalMs: 1_000 },
        random: () => 0, // peers in view order
        incNum: 1000,
        scheduler: ts,
      });
      const name = (m: { pkiId: Buffer }) => `p${peers.findIndex((p) => p.pkiId.equals(m.pkiId))}`;
      const show = (c: MembershipChange) => `${c.type}:${name(c.member)}${c.type === 'dead' ? `(${c.reason})` : ''}`;
      expectObservable(membership.changes$.pipe(map(show))).toBe('3ms a 56ms b 9ms c 9ms d 9ms e 9ms |', {
        a: 'join:p1',
        b: 'dead:p1(expired)', // last seen at 7 (alive without identity): silent for 53 > 50 ms at the check of 60
        c: 'revive:p1',
        d: 'join:p2',
        e: 'dead:p2(presumed-dead)',
      });
      const names = (v: MembershipView) => `${v.alive.map(name).join('+')}/${v.dead.map(name).join('+')}`;
      expectObservable(membership.members$.pipe(map(names))).toBe('a 2ms b 56ms c 9ms d 9ms e 9ms f 9ms |', {
        a: '/',
        b: 'p1/',
        c: '/p1',
        d: 'p1/',
        e: 'p1+p2/',
        f: 'p1/p2',
      });
      ts.schedule(() => comm.receive(aliveOf(p1, 1, 5, 1), from(p1)), 3);
      ts.schedule(() => comm.receive(aliveOf(p2, 2, 5, 1, p1.signer), from(p1)), 4); // forged: p1 signed for p2
      ts.schedule(() => comm.receive(aliveOf(p1, 1, 5, 1), from(p1)), 6); // replayed
      ts.schedule(() => comm.receive(aliveOf(p1, 1, 5, 2, p1.signer, p1.pkiId, false), from(p1)), 7); // no identity: the stored one
      ts.schedule(() => comm.receive(aliveOf(p2, 2, 5, 1, p2.signer, p2.pkiId, false), from(p1)), 8); // unknown identity: pulled from p1
      ts.schedule(() => comm.receive(aliveOf(p1, 1, 6, 1), from(p1)), 70); // restarted: revive
      ts.schedule(() => comm.receive({ nonce: 42, memReq: { selfInformation: aliveOf(p2, 2, 5, 1).envelope } }, from(p2)), 80);
      ts.schedule(() => comm.receive({ nonce: 43, memReq: { selfInformation: aliveOf(p2, 2, 5, 2).envelope } }, from(p1)), 81); // not p1's
      ts.schedule(() => comm.presumeDead(p2.pkiId), 90);
      ts.schedule(() => comm.receive(aliveOf(p2, 2, 5, 1), from(p2)), 95); // replayed: stays dead
      ts.schedule(() => membership.stop(), 100);
    });

    const sent = comm.sent.map((s) => `${s.at} ${s.message.message.content}→${s.peers.map((p) => p.endpoint).join('+')}`);
    // A membership request at once, to the bootstrap peer (not to ourselves); an identity Hello to the
    // peer that relayed an alive message of an unknown PKI-ID; alive messages every 10 ms to the
    // alive; requests every 30 ms to the bootstrap peer until it answers and to dead members.
    assert.deepEqual(sent, [
      '0 memReq→boot:1',
      '8 hello→somewhere:1',
      '10 aliveMsg→peer1:7051',
      '20 aliveMsg→peer1:7051',
      '30 memReq→boot:1',
      '30 aliveMsg→peer1:7051',
      '40 aliveMsg→peer1:7051',
      '50 aliveMsg→peer1:7051',
      '60 memReq→boot:1',
      '60 aliveMsg→peer1:7051', // the expiry check of 60 comes after: p1 is still alive
      '70 aliveMsg→peer1:7051',
      '80 aliveMsg→peer1:7051',
      '80 aliveMsg→peer2:7051',
      '90 memReq→boot:1',
      '90 memReq→peer2:7051', // comm presumed p2 dead (at 90)
      '90 aliveMsg→peer1:7051',
    ]);
    const hello = comm.sent[1]!.message.message;
    assert.equal(hello.tag, gossip.GossipMessage.Tag.EMPTY);
    assert.equal(hello.hello?.msgType, gossip.PullMsgType.IDENTITY_MSG);
    const verifier = new MspIdentityMapper(new MspManager([self.msp]), { pkiId: self.pkiId, identity: self.identity });
    const requests = comm.sent.filter((s) => s.message.message.content === 'memReq').map((s) => s.message.message);
    assert.ok(requests.filter((r) => r.memReq?.selfInformation && r.nonce && !Long.fromValue(r.nonce).isZero()).length === 4, 'bootstrap requests carry a random nonce');
    assert.deepEqual(
      requests.filter((r) => Long.fromValue(r.nonce ?? 0).isZero()).length,
      1,
      'requests to dead members carry nonce 0',
    );
    const ownAlives = comm.sent
      .filter((s) => s.message.message.content !== 'hello')
      .map((s) => (s.message.message.content === 'memReq' ? SignedMessage.fromEnvelope(s.message.message.memReq!.selfInformation!) : s.message));
    let lastSeq = 0;
    for (const alive of ownAlives) {
      const me = verifyAliveMessage(alive, verifier);
      assert.ok(me.pkiId.equals(self.pkiId));
      assert.equal(me.endpoint, endpointOf(0));
      assert.equal(me.internalEndpoint, endpointOf(0), 'the internal endpoint in the secret envelope');
      assert.equal(me.time.incNum.toNumber(), 1000);
      assert.ok(me.time.seqNum.toNumber() >= lastSeq, 'seq_num grows (one alive message may go to several members)');
      assert.equal(alive.message.aliveMsg!.identity?.length ? 'with' : 'without', me.time.seqNum.toNumber() <= 3 ? 'with' : 'without', 'identity only during publishCertPeriod');
      lastSeq = me.time.seqNum.toNumber();
    }
    const seqs = new Set(ownAlives.map((a) => Long.fromValue(a.message.aliveMsg!.timestamp!.seqNum!).toNumber()));
    assert.deepEqual([...seqs], Array.from({ length: lastSeq }, (_, k) => k + 1), 'seq_num counts from 1');
    assert.deepEqual(comm.closed.map((p) => p.endpoint), ['peer1:7051'], 'an expired member’s connection is closed');

    // The request of p2 was answered with its own alive message first, then p1's latest, ours last.
    assert.equal(comm.responded.length, 1);
    const res = comm.responded[0]!.message.message;
    assert.equal(res.content, 'memRes');
    assert.equal(Number(res.nonce), 42);
    assert.equal(res.tag, gossip.GossipMessage.Tag.EMPTY);
    const listed = (res.memRes!.alive ?? []).map((e) => verifyAliveMessage(SignedMessage.fromEnvelope(e), verifier));
    assert.deepEqual(
      listed.map((m) => [m.endpoint, m.time.incNum.toNumber()]),
      [
        [endpointOf(2), 5],
        [endpointOf(1), 6],
        [endpointOf(0), 1000],
      ],
    );
    assert.equal(res.memRes!.dead?.length ?? 0, 0);
    // sent counts targets (the response included); received: the alive messages checked (3, 4, 7, 8, 70,
    // 80; not replays); invalid: the forgery and the request whose self information is not its sender's.
    assert.deepEqual(membership.stats(), { sent: 16, received: 6, invalid: 2, unknownIdentity: 1, relayed: 0 });
  });

  it('learns the alive members listed in a MembershipResponse', () => {
    const [self, p1, p2] = peers as [LocalPeer, LocalPeer, LocalPeer];
    const comm = fakeComm(self, 0, () => Date.now());
    const membership = createMembership(comm, { bootstrap: ['boot:1'], identityPull: false });
    try {
      comm.receive(
        { memRes: { alive: [aliveOf(p1, 1, 1, 1).envelope, aliveOf(p2, 2, 1, 1, p1.signer).envelope, aliveOf(self, 0, 1, 1).envelope] } },
        connectionInfo(p1.pkiId),
      );
      assert.deepEqual(
        membership.view().alive.map((m) => m.endpoint),
        [endpointOf(1)],
        'p1 learned; the forged p2 and ourselves not',
      );
      // Listed as dead: p2 unknown, learned as dead (to reconnect to); p1 known, not made dead.
      comm.receive({ memRes: { dead: [aliveOf(p2, 2, 1, 1).envelope, aliveOf(p1, 1, 1, 2).envelope] } }, connectionInfo(p1.pkiId));
      assert.deepEqual(membership.view().alive.map((m) => m.endpoint), [endpointOf(1)]);
      assert.deepEqual(membership.view().dead.map((m) => m.endpoint), [endpointOf(2)]);
    } finally {
      membership.stop();
    }
    membership.stop();
    assert.equal(comm.observed, false);
  });

  it('refuses a self that is not the comm’s; takes identity and signer from the comm by default', () => {
    const comm = fakeComm(peers[1]!, 1, () => 0);
    assert.throws(() => createMembership(comm, { self: peers[0]! }), TypeError);
    const { msp: _, ...noMsp } = peers[1]!;
    void _;
    createMembership(comm, { self: noMsp, identityPull: false }).stop(); // self is still accepted, its msp is not needed
    createMembership(comm).stop();
  });

  it('completes when the comm stops', async () => {
    const comm = fakeComm(peers[0]!, 0, () => 0);
    const membership = createMembership(comm, { aliveIntervalMs: 10 });
    try {
      let done = 0;
      membership.members$.subscribe({ complete: () => done++, error: () => assert.fail('members$ errored') });
      membership.changes$.subscribe({ complete: () => done++, error: () => assert.fail('changes$ errored') });
      await comm.stop();
      assert.equal(done, 2);
      assert.equal(comm.observed, false);
    } finally {
      membership.stop();
    }
  });
});

describe('membership over loopback TLS (4 peers)', () => {
  const TIMING = { aliveIntervalMs: 150, aliveExpirationMs: 750, expirationCheckMs: 75, reconnectIntervalMs: 300 };
  let selves: LocalPeer[];
  const comms: Comm[] = [];
  const memberships: Membership[] = [];
  const changes: MembershipChange[][] = [];
  let baseline: Map<string, number>;

  const start = async (i: number, listen?: string): Promise<void> => {
    // Patient dials: on a loaded machine a slow handshake must not count as a death (comm presumes
    // a peer it cannot dial dead); a stopped peer still refuses at once.
    const comm = await createComm({ self: selves[i]!, listen: listen ?? '127.0.0.1:0', dialTimeoutMs: 1_000, pingTimeoutMs: 1_000, closeTimeoutMs: 500 });
    const bootstrap = i === 0 ? [] : [comms[0]!.endpoint];
    const membership = createMembership(comm, { self: selves[i]!, bootstrap, ...TIMING });
    comms[i] = comm;
    memberships[i] = membership;
    membership.changes$.subscribe((c) => (changes[i] ??= []).push(c));
  };
  const aliveNames = (i: number): number[] =>
    memberships[i]!.view()
      .alive.map((m) => selves.findIndex((s) => s.pkiId.equals(m.pkiId)))
      .sort();
  const isDead = (i: number, who: number) => memberships[i]!.view().dead.some((m) => m.pkiId.equals(selves[who]!.pkiId));

  before(async () => {
    baseline = activeResources();
    selves = await Promise.all([0, 1, 2, 3].map(fixturePeer));
    for (const i of [0, 1, 2, 3]) await start(i);
  });

  after(async () => {
    for (const m of memberships) m?.stop();
    await Promise.all(comms.map((c) => c?.stop()));
  });

  it('converges: every peer sees the three others alive', async () => {
    await eventually(
      () => [0, 1, 2, 3].every((i) => aliveNames(i).length === 3),
      'every view to hold 3 alive members',
      15_000, // generous: the machine running the suite is loaded
    );
    for (const i of [0, 1, 2, 3]) assert.deepEqual(aliveNames(i), [0, 1, 2, 3].filter((j) => j !== i));
    // Members are known by their advertised endpoints.
    const endpoints = memberships[1]!.view().alive.map((m) => m.endpoint).sort();
    assert.deepEqual(endpoints, [0, 2, 3].map((j) => comms[j]!.endpoint).sort());
  });

  it('finds a stopped peer dead, then alive again when it restarts with a higher inc_num', async () => {
    const oldInc = memberships[3]!.incNum;
    const endpoint = comms[3]!.endpoint;
    memberships[3]!.stop();
    await comms[3]!.stop();
    await eventually(() => [0, 1, 2].every((i) => isDead(i, 3)), 'peers 0-2 to find peer3 dead', 10_000);
    for (const i of [0, 1, 2]) {
      const dead = changes[i]!.filter((c) => c.type === 'dead' && c.member.pkiId.equals(selves[3]!.pkiId));
      assert.ok(dead.length >= 1, `peer${i} reported no dead change`);
    }

    await start(3, endpoint);
    assert.ok(memberships[3]!.incNum.greaterThan(oldInc), 'a restart has a higher inc_num');
    await eventually(
      () => [0, 1, 2].every((i) => aliveNames(i).includes(3)) && aliveNames(3).length === 3,
      'peer3 to be alive again everywhere, and to see the others',
    );
    for (const i of [0, 1, 2]) {
      const revived = changes[i]!.filter((c) => c.type === 'revive' && c.member.pkiId.equals(selves[3]!.pkiId));
      assert.ok(revived.length >= 1, `peer${i} reported no revive`);
      assert.ok(revived.at(-1)!.member.time.incNum.equals(memberships[3]!.incNum));
    }
  });

  it('stops before or after its comm without errors, leaving nothing running', async () => {
    memberships[0]!.stop(); // before its comm
    await Promise.all(comms.map((c) => c.stop()));
    for (const m of memberships) m.stop(); // after theirs
    await expectNoLeaks(baseline);
  });
});
