// Membership and identity exchange against the bytes of a real Fabric v2.5.9 gossip node
// (spec/fixtures/fabric-vectors/membership, see its README): rxgossip reads and verifies what
// Fabric sends, accepts Fabric's alive messages in every form, and answers and produces
// messages of the shape Fabric sent and accepted.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import Long from 'long';
import { of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { createAliveMessage, internalEndpointOf, knownSecretOf, verifyAliveMessage } from '../../lib/gossip/alive-message.js';
import { createIdentityPull, verifyIdentityMessage } from '../../lib/gossip/identity-pull.js';
import { createMembership } from '../../lib/gossip/membership.js';
import { MspIdentityMapper } from '../../lib/identity/identity-mapper.js';
import { MspManager } from '../../lib/identity/msp.js';
import type { LocalPeer } from '../../lib/identity/peer-dir.js';
import { verifySignature } from '../../lib/identity/signer.js';
import { gossip } from '../../lib/proto/messages.js';
import { SignedMessage } from '../../lib/wire/signed-message.js';
import { fabricTagError } from '../helpers/fabric-tag-rules.js';
import { FIXTURES, fixturePeer } from '../helpers/peers.js';
import { FakeComm, connectionInfo } from './fake-comm.js';

const DIR = join(FIXTURES, 'membership');
const MANIFEST = JSON.parse(readFileSync(join(DIR, 'membership.json'), 'utf8')) as {
  files: Array<{ file: string; sender: string; decoded: Record<string, unknown> }>;
};
const vector = (name: string): SignedMessage => SignedMessage.fromBytes(readFileSync(join(DIR, `${name}.envelope.pb`)));
const raw = (name: string): Buffer => readFileSync(join(DIR, `${name}.envelope.pb`));
const hex = (b: Uint8Array | null | undefined): string => Buffer.from(b ?? new Uint8Array(0)).toString('hex');
const u64 = (v: number | Long | null | undefined): string => Long.fromValue(v ?? 0).toUnsigned().toString();
const FABRIC = '127.0.0.1:7161';
const CAPTURE = '127.0.0.1:7162';
const EMPTY_TAG = gossip.GossipMessage.Tag.EMPTY;
const IDENTITY_MSG = gossip.PullMsgType.IDENTITY_MSG;

/** The public key of a fixture peer's enrollment certificate (msp/signcerts), straight from the PEM file. */
function certKey(certificate: string): X509Certificate['publicKey'] {
  return new X509Certificate(readFileSync(join(FIXTURES, certificate))).publicKey;
}

/** Checks a signed envelope (and its secret envelope) against the certificate the manifest names. */
function checkSigned(envelope: gossip.IEnvelope, described: { signature: { signed: boolean; verifies_against?: { certificate: string } } }): number {
  if (!described.signature.signed) {
    assert.equal(envelope.signature?.length ?? 0, 0, 'point-to-point messages are unsigned');
    return 0;
  }
  const key = certKey(described.signature.verifies_against!.certificate);
  verifySignature(key, envelope.payload!, envelope.signature!);
  let checked = 1;
  if (envelope.secretEnvelope) {
    verifySignature(key, envelope.secretEnvelope.payload!, envelope.secretEnvelope.signature!);
    checked++;
  }
  return checked;
}

describe('Fabric membership vectors: decode and verify', () => {
  it('every envelope decodes, re-encodes byte for byte, is tagged EMPTY, and every signature verifies', () => {
    let signatures = 0;
    for (const entry of MANIFEST.files) {
      const bytes = readFileSync(join(DIR, entry.file));
      const message = SignedMessage.fromBytes(bytes).decode();
      assert.ok(Buffer.from(gossip.Envelope.encode(message.envelope).finish()).equals(bytes), `${entry.file} re-encodes`);
      assert.equal(message.message.tag, EMPTY_TAG, `${entry.file} is tagged EMPTY`);
      assert.equal(u64(message.message.nonce), entry.decoded['nonce'], `${entry.file}: outer nonce`);
      signatures += checkSigned(message.envelope, entry.decoded as never);
      const nested: Array<[gossip.IEnvelope, unknown]> = [];
      const d = entry.decoded as { self_information?: unknown; alive?: unknown[]; data?: unknown[] };
      if (d.self_information) nested.push([message.message.memReq!.selfInformation!, d.self_information]);
      (d.alive ?? []).forEach((a, i) => nested.push([message.message.memRes!.alive![i]!, a]));
      (d.data ?? []).forEach((a, i) => nested.push([message.message.dataUpdate!.data![i]!, a]));
      for (const [envelope, described] of nested) signatures += checkSigned(envelope, described as never);
    }
    assert.equal(signatures, 32, 'the README counts 32 signatures');
  });

  it('every vector is legal by Fabric’s tag rules, which refuse the untagged block pull rxgossip used to send', () => {
    for (const entry of MANIFEST.files) assert.equal(fabricTagError(SignedMessage.fromBytes(raw(entry.file.replace('.envelope.pb', ''))).message), undefined, entry.file);
    const untagged = SignedMessage.create({ tag: EMPTY_TAG, hello: { nonce: 1, msgType: gossip.PullMsgType.BLOCK_MSG } }).message;
    assert.match(fabricTagError(untagged) ?? '', /requires CHAN_AND_ORG/);
  });

  it('identity-pull messages carry the pull nonce inside, the outer nonce 0, msg_type IDENTITY_MSG and raw PKI-IDs', async () => {
    const [peer0, peer1] = await Promise.all([fixturePeer('peer0'), fixturePeer('peer1')]);
    const hello = vector('identity-hello-from-fabric').message;
    const request = vector('identity-req-from-fabric').message;
    assert.equal(hello.hello?.msgType, IDENTITY_MSG);
    assert.equal(u64(request.dataReq!.nonce), u64(hello.hello!.nonce), 'the request answers the hello');
    assert.deepEqual(request.dataReq!.digests!.map(hex), [hex(peer1.pkiId)]);
    const digest = vector('identity-digest-after-update').message;
    assert.deepEqual(digest.dataDig!.digests!.map(hex).sort(), [hex(peer0.pkiId), hex(peer1.pkiId)].sort());
  });
});

describe('rxgossip accepts Fabric’s alive messages', () => {
  let peer0: LocalPeer;
  let peer1: LocalPeer;
  let mapper: () => MspIdentityMapper;
  before(async () => {
    [peer0, peer1] = await Promise.all([fixturePeer('peer0'), fixturePeer('peer1')]);
    mapper = () => new MspIdentityMapper(new MspManager([peer1.msp]), { pkiId: peer1.pkiId, identity: peer1.identity });
  });

  it('with an identity: verified, the identity stored, the internal endpoint read from the secret envelope', () => {
    const store = mapper();
    const member = verifyAliveMessage(vector('alive-with-identity'), store);
    assert.ok(member.pkiId.equals(peer0.pkiId));
    assert.equal(member.externalEndpoint, FABRIC);
    assert.equal(member.internalEndpoint, FABRIC);
    assert.equal(member.endpoint, FABRIC);
    assert.deepEqual(Buffer.from(store.get(peer0.pkiId)!), Buffer.from(peer0.identity), 'its identity is now stored');
  });

  it('without an identity: refused while the PKI-ID is unknown, verified with the stored identity afterwards', () => {
    const store = mapper();
    assert.throws(() => verifyAliveMessage(vector('alive-without-identity'), store), { name: 'UnknownIdentityError' });
    store.put(peer0.pkiId, peer0.identity); // as the comm handshake does
    const member = verifyAliveMessage(vector('alive-without-identity'), store);
    assert.equal(member.time.seqNum.toString(), '24');
    assert.deepEqual(Buffer.from(member.identity), Buffer.from(peer0.identity));
  });

  it('with an empty endpoint: reached at the internal endpoint of its secret envelope, with or without identity', () => {
    const store = mapper();
    const first = verifyAliveMessage(vector('alive-empty-endpoint'), store);
    assert.equal(first.externalEndpoint, '');
    assert.equal(first.internalEndpoint, FABRIC);
    assert.equal(first.endpoint, FABRIC);
    const later = verifyAliveMessage(vector('alive-empty-endpoint-without-identity'), store);
    assert.equal(later.endpoint, FABRIC);
    assert.equal(later.externalEndpoint, '');
  });

  it('refuses a secret envelope not signed by the alive message’s identity', () => {
    const fabric = vector('alive-empty-endpoint-without-identity');
    const forged = SignedMessage.fromEnvelope({
      ...fabric.envelope,
      secretEnvelope: { payload: fabric.envelope.secretEnvelope!.payload, signature: peer1.signer.sign(fabric.envelope.secretEnvelope!.payload!) },
    });
    const store = mapper();
    store.put(peer0.pkiId, peer0.identity);
    assert.throws(() => verifyAliveMessage(forged, store), { name: 'SignatureError' });
  });

  it('checks a secret envelope once per member: an unchanged secret is trusted, a changed one is verified', () => {
    const fabric = vector('alive-empty-endpoint-without-identity');
    const store = mapper();
    store.put(peer0.pkiId, peer0.identity);
    const first = verifyAliveMessage(fabric, store);
    const known = knownSecretOf(fabric, first);
    assert.ok(known, 'the verified secret is remembered');
    const secret = fabric.envelope.secretEnvelope!;
    const resigned = (payload: Uint8Array) =>
      SignedMessage.fromEnvelope({ ...fabric.envelope, secretEnvelope: { payload, signature: peer1.signer.sign(payload) } });
    // The same internal endpoint under another signature restates what was verified.
    assert.equal(verifyAliveMessage(resigned(secret.payload!), store, known).internalEndpoint, FABRIC);
    // Another internal endpoint must be signed by the member, known secret or not.
    const moved = gossip.Secret.encode({ internalEndpoint: '10.0.0.9:7051' }).finish();
    assert.throws(() => verifyAliveMessage(resigned(moved), store, known), { name: 'SignatureError' });
    // Known under another identity: verified again.
    assert.throws(() => verifyAliveMessage(resigned(secret.payload!), store, { ...known, identity: peer1.identity }), {
      name: 'SignatureError',
    });
  });

  it('membership: Fabric joins from its alive messages, with and without identity, and from its MembershipRequests', () => {
    for (const run of [
      ['alive-with-identity', 'alive-without-identity', 'mem-req-from-fabric-without-identity'],
      ['alive-empty-endpoint', 'alive-empty-endpoint-without-identity', 'mem-req-from-fabric-empty-endpoint-without-identity'],
    ]) {
      const comm = captureComm(peer1);
      const from = connectionInfo(peer0.pkiId, FABRIC, Uint8Array.from(peer0.identity));
      const membership = createMembership(comm, { identityPull: false });
      try {
        comm.receive(vector(run[0]!), from);
        assert.deepEqual(membership.view().alive.map((m) => m.endpoint), [FABRIC]);
        comm.receive(vector(run[1]!), from); // after Fabric's publishCertPeriod: no identity
        comm.receive(vector(run[2]!), from);
        assert.equal(membership.view().alive[0]!.time.seqNum.toString(), u64(vector(run[2]!).message.memReq!.selfInformation && SignedMessage.fromEnvelope(vector(run[2]!).message.memReq!.selfInformation!).message.aliveMsg!.timestamp!.seqNum));
        assert.deepEqual(membership.stats().invalid + membership.stats().unknownIdentity, 0, `${run[0]}: nothing refused`);
        assert.equal(comm.responded.length, 1, 'Fabric’s MembershipRequest was answered');
      } finally {
        membership.stop();
      }
    }
  });

  it('membership: an alive message of an unknown PKI-ID is pulled from its sender; Fabric’s DataUpdate teaches it', () => {
    const ts = new TestScheduler(() => undefined);
    const comm = captureComm(peer1, () => ts.now());
    const from = connectionInfo(peer0.pkiId, FABRIC, Uint8Array.from(peer0.identity));
    const fabricNonce = Long.fromString(u64(vector('identity-digest').message.dataDig!.nonce), true);
    let membership!: ReturnType<typeof createMembership>;
    ts.run(() => {
      membership = createMembership(comm, {
        identityPull: { pullIntervalMs: 60_000, nonce: () => fabricNonce },
        scheduler: ts,
      });
      // A relayed alive message without identity, from a peer whose identity nobody gave us yet.
      ts.schedule(() => comm.receive(vector('alive-without-identity'), from), 1);
      ts.schedule(() => comm.receive(vector('identity-digest'), from), 2);
      ts.schedule(() => comm.receive(vector('identity-update'), from), 3);
      ts.schedule(() => comm.receive(vector('mem-res-without-identity'), from), 4); // now verifiable
      ts.schedule(() => membership.stop(), 10);
    });
    assert.equal(membership.stats().unknownIdentity, 1);
    assert.deepEqual(
      comm.sent.map((s) => s.message.message.content),
      ['hello', 'dataReq'],
      'the identity was pulled from the peer that sent the alive message',
    );
    assert.ok(comm.identityMapper.get(peer0.pkiId), 'the pulled identity is in the comm’s identity mapper');
    assert.deepEqual(membership.view().alive.map((m) => m.pkiId.toString('hex')), [peer0.pkiId.toString('hex')]);
  });
});

describe('rxgossip answers Fabric’s identity pull, and pulls, exactly in Fabric’s shape', () => {
  let peer0: LocalPeer;
  let peer1: LocalPeer;
  before(async () => {
    [peer0, peer1] = await Promise.all([fixturePeer('peer0'), fixturePeer('peer1')]);
  });

  it('responder: Hello{IDENTITY_MSG} → the digest the capture peer sent; DataRequest → its DataUpdate', () => {
    const comm = captureComm(peer1);
    const pull = createIdentityPull(comm, of([]), { pullIntervalMs: 60_000 });
    try {
      const from = connectionInfo(peer0.pkiId, FABRIC, Uint8Array.from(peer0.identity));
      comm.receive(vector('identity-hello-from-fabric'), from);
      comm.receive(vector('identity-req-from-fabric'), from);
      assert.equal(comm.responded.length, 2);
      // The digest is byte for byte the one Fabric accepted (it then asked for our identity).
      assert.ok(comm.responded[0]!.message.bytes.equals(raw('sent-identity-digest')), 'DataDigest as Fabric accepted it');
      const ours = comm.responded[1]!.message.message;
      const accepted = vector('sent-identity-update').message;
      assert.equal(ours.tag, accepted.tag);
      assert.equal(u64(ours.nonce), '0');
      assert.equal(hex(ours.channel), '');
      assert.equal(u64(ours.dataUpdate!.nonce), u64(accepted.dataUpdate!.nonce));
      assert.equal(ours.dataUpdate!.msgType, IDENTITY_MSG);
      assert.equal(ours.dataUpdate!.data!.length, 1);
      const mine = ours.dataUpdate!.data![0]!;
      const theirs = accepted.dataUpdate!.data![0]!;
      assert.equal(hex(mine.payload), hex(theirs.payload), 'the PeerIdentity payload is byte for byte the accepted one');
      verifySignature(certKey('peer1/msp/signcerts/peer1.org1.example.com-cert.pem'), mine.payload!, mine.signature!);
      assert.equal(comm.responded[1]!.message.signature.length, 0, 'the DataUpdate itself is unsigned');
    } finally {
      pull.stop();
    }
  });

  it('does not answer a Hello of another msg_type, nor a DataRequest without its Hello', () => {
    const comm = captureComm(peer1);
    const pull = createIdentityPull(comm, of([]), { pullIntervalMs: 60_000 });
    try {
      const from = connectionInfo(peer0.pkiId, FABRIC, Uint8Array.from(peer0.identity));
      comm.receive({ tag: EMPTY_TAG, hello: { nonce: 5, msgType: gossip.PullMsgType.BLOCK_MSG } }, from);
      comm.receive(vector('identity-req-from-fabric'), from);
      assert.equal(comm.responded.length, 0);
    } finally {
      pull.stop();
    }
  });

  it('initiator: Hello and DataRequest byte for byte those Fabric answered; the update stores Fabric’s identity', () => {
    const ts = new TestScheduler(() => undefined);
    const comm = captureComm(peer1, () => ts.now());
    const nonce = Long.fromString(u64(vector('identity-digest').message.dataDig!.nonce), true);
    const learned: string[] = [];
    ts.run(() => {
      const pull = createIdentityPull(comm, of([{ endpoint: FABRIC, pkiId: peer0.pkiId }]), {
        pullIntervalMs: 1,
        scheduler: ts,
        nonce: () => nonce,
      });
      pull.learned$.subscribe((id) => learned.push(id.toString('hex')));
      const from = connectionInfo(peer0.pkiId, FABRIC, Uint8Array.from(peer0.identity));
      ts.schedule(() => comm.receive(vector('identity-digest'), from), 2);
      ts.schedule(() => comm.receive(vector('identity-update'), from), 3);
      ts.schedule(() => pull.stop(), 4);
    });
    assert.ok(comm.sent[0]!.message.bytes.equals(raw('sent-identity-hello')), 'Hello as Fabric accepted it');
    assert.ok(comm.sent[1]!.message.bytes.equals(raw('sent-identity-req')), 'DataRequest as Fabric accepted it');
    assert.deepEqual(learned, [peer0.pkiId.toString('hex')]);
    assert.deepEqual(Buffer.from(comm.identityMapper.get(peer0.pkiId)!), Buffer.from(peer0.identity));
    const update = vector('identity-update').message.dataUpdate!.data![0]!;
    assert.ok(verifyIdentityMessage(SignedMessage.fromEnvelope(update), comm.identityMapper).pkiId.equals(peer0.pkiId));
  });
});

describe('rxgossip produces membership messages of Fabric’s shape', () => {
  let peer0: LocalPeer;
  let peer1: LocalPeer;
  before(async () => {
    [peer0, peer1] = await Promise.all([fixturePeer('peer0'), fixturePeer('peer1')]);
  });

  /** Fabric's alive message rebuilt by rxgossip from its values, signed with peer0's key. */
  const rebuild = (name: string): { ours: SignedMessage; fabric: SignedMessage } => {
    const fabric = vector(name);
    const alive = fabric.message.aliveMsg!;
    const ours = createAliveMessage(
      {
        pkiId: alive.membership!.pkiId!,
        endpoint: alive.membership!.endpoint ?? '',
        ...(alive.identity?.length ? { identity: alive.identity } : {}),
        internalEndpoint: internalEndpointOf(fabric.envelope.secretEnvelope),
        incNum: Long.fromValue(alive.timestamp!.incNum!).toUnsigned(),
        seqNum: Long.fromValue(alive.timestamp!.seqNum!).toUnsigned(),
      },
      peer0.signer,
    );
    return { ours, fabric };
  };

  for (const name of ['alive-with-identity', 'alive-without-identity', 'alive-empty-endpoint', 'alive-empty-endpoint-without-identity']) {
    it(`alive message: payload and secret payload byte for byte Fabric’s (${name})`, () => {
      const { ours, fabric } = rebuild(name);
      assert.equal(hex(ours.payload), hex(fabric.payload));
      assert.equal(hex(ours.envelope.secretEnvelope!.payload), hex(fabric.envelope.secretEnvelope!.payload));
      const key = certKey('peer0/msp/signcerts/peer0.org1.example.com-cert.pem');
      verifySignature(key, ours.payload, ours.signature);
      verifySignature(key, ours.envelope.secretEnvelope!.payload!, ours.envelope.secretEnvelope!.signature!);
    });
  }

  it('alive messages of a membership: tag EMPTY, outer nonce 0, inc_num in ns, seq_num from 1, identity only during publishCertPeriod, secret envelope for our org', () => {
    const ts = new TestScheduler(() => undefined);
    const comm = captureComm(peer1, () => ts.now(), CAPTURE);
    const from = connectionInfo(peer0.pkiId, FABRIC, Uint8Array.from(peer0.identity));
    const before = BigInt(Date.now()) * 1_000_000n;
    ts.run(() => {
      const membership = createMembership(comm, { aliveIntervalMs: 5, publishCertPeriodMs: 12, identityPull: false, scheduler: ts });
      ts.schedule(() => comm.receive(vector('mem-req-from-fabric'), from), 1);
      ts.schedule(() => membership.stop(), 30);
    });
    const response = comm.responded[0]!.message.message.memRes!.alive!;
    assert.equal(u64(SignedMessage.fromEnvelope(response.at(-1)!).message.aliveMsg!.timestamp!.seqNum), '1', 'seq_num counts from 1');
    const alives = comm.sent.filter((s) => s.message.message.content === 'aliveMsg').map((s) => s.message);
    assert.equal(alives.length, 5, 'every 5 ms from 5 to 25');
    alives.forEach((alive, i) => {
      const m = alive.message;
      assert.equal(m.tag, EMPTY_TAG);
      assert.equal(u64(m.nonce), '0');
      assert.equal(hex(m.channel), '');
      assert.equal(m.aliveMsg!.membership!.endpoint, CAPTURE);
      assert.equal(u64(m.aliveMsg!.timestamp!.seqNum), String(i + 2), 'seq_num 1 went into the MembershipResponse at 1 ms');
      assert.ok(BigInt(u64(m.aliveMsg!.timestamp!.incNum)) >= before, 'inc_num is the start time in ns');
      assert.equal((m.aliveMsg!.identity?.length ?? 0) > 0, i < 2, `identity embedded at ${5 * (i + 1)} ms only if < 12 ms`);
      assert.equal(internalEndpointOf(alive.envelope.secretEnvelope), CAPTURE, 'secret envelope for our org');
    });
  });

  it('MembershipResponse: the request’s nonce, the requester’s alive message as it signed it first, ours last', () => {
    const comm = captureComm(peer0, () => Date.now(), FABRIC);
    const membership = createMembership(comm, { identityPull: false });
    try {
      const from = connectionInfo(peer1.pkiId, CAPTURE, Uint8Array.from(peer1.identity));
      comm.receive(vector('sent-mem-req'), from);
      assert.equal(comm.responded.length, 1);
      const ours = comm.responded[0]!.message;
      const fabric = vector('mem-res');
      assert.equal(ours.signature.length, 0, 'unsigned (Fabric NoopSign)');
      assert.equal(ours.message.tag, fabric.message.tag);
      assert.equal(u64(ours.message.nonce), u64(fabric.message.nonce));
      const alive = ours.message.memRes!.alive!;
      assert.equal(alive.length, fabric.message.memRes!.alive!.length);
      assert.ok(
        Buffer.from(gossip.Envelope.encode(alive[0]!).finish()).equals(gossip.Envelope.encode(fabric.message.memRes!.alive![0]!).finish()),
        'the requester’s alive message, byte for byte as Fabric returned it',
      );
      const self = verifyAliveMessage(SignedMessage.fromEnvelope(alive[1]!), comm.identityMapper);
      assert.ok(self.pkiId.equals(peer0.pkiId));
      assert.equal(self.internalEndpoint, FABRIC);
      assert.deepEqual(ours.message.memRes!.dead ?? [], fabric.message.memRes!.dead ?? []);
    } finally {
      membership.stop();
    }
  });

  it('MembershipRequest: to a bootstrap peer with a random nonce, to a dead member with nonce 0, as Fabric', () => {
    const ts = new TestScheduler(() => undefined);
    const comm = captureComm(peer1, () => ts.now(), CAPTURE);
    const from = connectionInfo(peer0.pkiId, FABRIC, Uint8Array.from(peer0.identity));
    ts.run(() => {
      const membership = createMembership(comm, {
        bootstrap: [FABRIC],
        aliveIntervalMs: 100,
        aliveExpirationMs: 10,
        reconnectIntervalMs: 20,
        identityPull: false,
        scheduler: ts,
      });
      // Fabric's answer to our request (with the nonce we sent): Fabric is alive, the bootstrap peer answered.
      ts.schedule(() => comm.receive({ ...vector('mem-res').message, nonce: comm.sent[0]!.message.message.nonce }, from), 1);
      ts.schedule(() => membership.stop(), 25); // by 20 it is dead (silent for 10 ms): nonce 0
    });
    const requests = comm.sent.filter((s) => s.message.message.content === 'memReq');
    assert.equal(requests.length, 2);
    const [boot, dead] = requests.map((r) => r.message) as [SignedMessage, SignedMessage];
    const accepted = vector('sent-mem-req').message;
    const fabrics = vector('mem-req-from-fabric').message;
    for (const r of [boot, dead]) {
      assert.equal(r.message.tag, accepted.tag);
      assert.equal(r.signature.length, 0);
      assert.deepEqual(r.message.memReq!.known ?? [], fabrics.memReq!.known ?? []);
      const self = verifyAliveMessage(SignedMessage.fromEnvelope(r.message.memReq!.selfInformation!), comm.identityMapper);
      assert.ok(self.pkiId.equals(peer1.pkiId));
      assert.equal(self.internalEndpoint, CAPTURE, 'Fabric adds the secret envelope for its own org');
    }
    assert.notEqual(u64(boot.message.nonce), '0', 'a bootstrap request carries a random nonce (its answer acknowledges it)');
    assert.equal(u64(dead.message.nonce), u64(fabrics.nonce), 'reconnecting to the dead: nonce 0, as Fabric’s');
    assert.equal(requests[1]!.peers[0]!.endpoint, FABRIC, 'to the dead member, not to the acknowledged bootstrap peer');
  });
});

/** An in-memory comm for `self` with its identity, signer and a mapper trusting the fixtures' org. */
function captureComm(self: LocalPeer, now: () => number = () => Date.now(), endpoint = CAPTURE): FakeComm {
  const comm = new FakeComm(self.pkiId, endpoint, now);
  comm.identity = self.identity;
  comm.signer = self.signer;
  comm.identityMapper = new MspIdentityMapper(new MspManager([self.msp]), { pkiId: self.pkiId, identity: self.identity });
  return comm;
}
