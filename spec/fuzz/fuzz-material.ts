// What the in-process fuzz targets are built from: the fixture peers, a trusting identity mapper,
// the TLS context of a handshake, and pools of valid wire bytes (envelopes of every content type,
// handshakes, alive messages, signatures) made once, so that most cases only mutate bytes and
// the expensive part (ECDSA signing) is paid at setup, not per case. The envelopes Fabric v2.5.9
// exchanged with us (spec/fixtures/fabric-vectors/membership) are seeds too.
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  createAliveMessage,
  createIdentityMessage,
  gossip,
  Long,
  MspIdentityMapper,
  MspManager,
  SignedMessage,
  type HandshakeContext,
  type LocalPeer,
} from '../../lib/index.js';
import { craftConnEstablish } from '../helpers/craft.js';
import { FIXTURES, fixturePeer } from '../helpers/peers.js';
import { mutation, mutate, randomGossipMessage, type FuzzPeers } from './arbitraries.js';

export interface FuzzMaterial extends FuzzPeers {
  /** The receiving side of the pipelines (peer0); `as` (peer1) and `other` (peer2) are trusted senders. */
  readonly self: LocalPeer;
  /** A third trusted peer (peer3), so that membership has members to relay alive messages to. */
  readonly third: LocalPeer;
  /** Trusts org1 (the fixtures' MSP); knows self. */
  readonly mapper: MspIdentityMapper;
  /** A server's view of a handshake from `as` over TLS. */
  readonly handshake: HandshakeContext;
  /** Encoded GossipMessages of every content type (random fields), the payloads of envelopes. */
  readonly payloads: readonly Buffer[];
  /** Envelopes: the payloads above, signed by `as` or unsigned, and the data messages the comm specs send. */
  readonly envelopes: readonly Buffer[];
  /** ConnEstablish envelopes: valid, probe, another peer's, and each wrong in one way. */
  readonly handshakes: readonly Buffer[];
  /**
   * Signed alive envelopes of `as` and `other` (valid, with and without identity and endpoint,
   * with a secret envelope carrying the internal endpoint, validly signed or not), the rogue's,
   * and the alive messages of the Fabric membership vectors.
   */
  readonly alives: readonly Buffer[];
  /**
   * PeerIdentity envelopes (what identity pull's DataUpdate carries): valid ones of self, `as` and
   * `other`, and one each with a wrong PKI-ID, signed by another peer, and of the untrusted rogue.
   */
  readonly peerIdentities: readonly Buffer[];
  /** Identity-pull messages (Hello, DataDigest, DataRequest, DataUpdate; IDENTITY_MSG), ours and Fabric's. */
  readonly identityPulls: readonly Buffer[];
  /**
   * Data messages naming their originator: signed by it (`as`, `other`), by another peer, by the
   * rogue, unsigned, and one naming no originator.
   */
  readonly dataMessages: readonly Buffer[];
  /** [data, signature by `as`] pairs. */
  readonly signatures: ReadonlyArray<readonly [Buffer, Buffer]>;
}

let loaded: Promise<FuzzMaterial> | undefined;

/** The material, built once per process (deterministic but for ECDSA's random k). */
export function fuzzMaterial(): Promise<FuzzMaterial> {
  loaded ??= build();
  return loaded;
}

async function build(): Promise<FuzzMaterial> {
  const [self, as, other, rogue, third] = await Promise.all([
    fixturePeer('peer0'),
    fixturePeer('peer1'),
    fixturePeer('peer2'),
    fixturePeer('rogue/peer0'),
    fixturePeer('peer3'),
  ]);
  const mapper = new MspIdentityMapper(new MspManager([self.msp]), { pkiId: self.pkiId, identity: self.identity });
  const handshake: HandshakeContext = {
    mapper,
    tls: true,
    remoteCertificate: new X509Certificate(as.tls.cert).raw,
    tlsRootCerts: self.tlsRootCerts.map((pem) => new X509Certificate(pem)),
  };
  const messages = fc.sample(randomGossipMessage(3), { numRuns: 400, seed: 13 });
  const payloads = messages.map((m) => Buffer.from(gossip.GossipMessage.encode(m).finish()));
  const ownEnvelopes = [
    ...payloads.slice(0, 40).map((payload) => SignedMessage.fromEnvelope({ payload, signature: as.signer.sign(payload) }).bytes),
    ...payloads.slice(40, 200).map((payload) => SignedMessage.fromEnvelope({ payload, signature: new Uint8Array(0) }).bytes),
    SignedMessage.create({ nonce: 1, dataMsg: { payload: { seqNum: 1, data: Buffer.from('hello') } } }).bytes,
    SignedMessage.create({ nonce: 2, empty: {} }).bytes,
    Buffer.alloc(0),
  ];
  const handshakes = [
    craftConnEstablish(as),
    craftConnEstablish(as, { probe: true }),
    craftConnEstablish(other),
    craftConnEstablish(rogue),
    craftConnEstablish(as, { signature: 'high-s' }),
    craftConnEstablish(as, { signature: 'corrupt' }),
    craftConnEstablish(as, { signature: 'empty' }),
    craftConnEstablish(as, { signature: { signer: other } }),
    craftConnEstablish(as, { identity: other.identity }),
    craftConnEstablish(as, { pkiId: other.pkiId }),
    craftConnEstablish(as, { tlsCertHash: other.tls.certHash }),
    craftConnEstablish(as, { notConn: true }),
  ];
  const alives: Buffer[] = [];
  for (const [peer, seq] of [
    [as, 1],
    [as, 2],
    [other, 1],
    [other, 7],
  ] as const) {
    const init = { pkiId: peer.pkiId, endpoint: '127.0.0.1:9', identity: peer.identity, incNum: Long.fromNumber(1_000 + seq, true), seqNum: Long.fromNumber(seq, true) };
    alives.push(createAliveMessage(init, peer.signer).bytes);
    alives.push(createAliveMessage({ ...init, endpoint: '' }, peer.signer).bytes);
    alives.push(createAliveMessage({ ...init, identity: new Uint8Array(0) }, peer.signer).bytes);
  }
  for (const [peer, seq] of [
    [as, 3],
    [other, 8],
  ] as const) {
    const init = { pkiId: peer.pkiId, endpoint: '', internalEndpoint: '127.0.0.1:7', incNum: Long.fromNumber(1_000 + seq, true), seqNum: Long.fromNumber(seq, true) };
    const secretAlive = createAliveMessage(init, peer.signer);
    alives.push(secretAlive.bytes);
    alives.push(createAliveMessage({ ...init, identity: peer.identity }, peer.signer).bytes);
    alives.push(createAliveMessage({ ...init, endpoint: '127.0.0.1:9' }, peer.signer).bytes);
    // The secret envelope signed by someone else, corrupt, or unsigned: the alive message must be refused.
    const { payload, signature, secretEnvelope } = secretAlive.envelope;
    const secret = secretEnvelope!.payload!;
    const forged = peer === as ? other : as;
    for (const secretSignature of [forged.signer.sign(secret), mutate(Buffer.from(secretEnvelope!.signature!), [{ op: 'flip', at: 12, bit: 3 }]), new Uint8Array(0)]) {
      alives.push(SignedMessage.fromEnvelope({ payload, signature, secretEnvelope: { payload: secret, signature: secretSignature } }).bytes);
    }
  }
  alives.push(createAliveMessage({ pkiId: rogue.pkiId, endpoint: '127.0.0.1:9', identity: rogue.identity, incNum: Long.UONE, seqNum: Long.UONE }, rogue.signer).bytes);
  const vectors = membershipVectors();
  alives.push(...vectors.filter((v) => v.content === 'aliveMsg').map((v) => v.bytes));
  const peerIdentities = [
    createIdentityMessage(self.pkiId, self.identity, self.signer).bytes,
    createIdentityMessage(as.pkiId, as.identity, as.signer).bytes,
    createIdentityMessage(other.pkiId, other.identity, other.signer).bytes,
    createIdentityMessage(other.pkiId, as.identity, as.signer).bytes,
    createIdentityMessage(as.pkiId, as.identity, other.signer).bytes,
    createIdentityMessage(rogue.pkiId, rogue.identity, rogue.signer).bytes,
    ...vectors.filter((v) => v.content === 'peerIdentity').map((v) => v.bytes),
  ];
  const identityPulls = vectors.filter((v) => ['hello', 'dataDig', 'dataReq', 'dataUpdate'].includes(v.content ?? '')).map((v) => v.bytes);
  const envelopes = [...ownEnvelopes, ...vectors.map((v) => v.bytes)];
  const signatures = fc.sample(fc.uint8Array({ maxLength: 64 }), { numRuns: 30, seed: 7 }).map((d) => {
    const data = Buffer.from(d);
    return [data, Buffer.from(as.signer.sign(data))] as const;
  });
  const data = (seqNum: number, origin: LocalPeer | undefined, signer: LocalPeer | undefined): Buffer => {
    const payload = { seqNum, data: Buffer.from(`data ${seqNum}`), ...(origin ? { originPkiId: origin.pkiId } : {}) };
    return Buffer.from(SignedMessage.create({ nonce: 0, tag: gossip.GossipMessage.Tag.CHAN_AND_ORG, dataMsg: { payload } }, signer?.signer).bytes);
  };
  const dataMessages = [data(1, as, as), data(2, other, other), data(3, as, other), data(4, rogue, rogue), data(5, as, undefined), data(6, undefined, as)];
  return { self, third, as, other, rogue, mapper, handshake, payloads, envelopes, handshakes, alives, peerIdentities, identityPulls, dataMessages, signatures };
}

/**
 * The envelopes of the Fabric membership vectors, and the PeerIdentity messages inside their
 * DataUpdates (each signed by its owner, as Fabric's cert store keeps them).
 */
function membershipVectors(): Array<{ bytes: Buffer; content: string | undefined }> {
  const dir = join(FIXTURES, 'membership');
  const out: Array<{ bytes: Buffer; content: string | undefined }> = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.envelope.pb')).sort()) {
    const bytes = readFileSync(join(dir, name));
    const msg = SignedMessage.fromBytes(bytes).decode().message;
    out.push({ bytes, content: msg.content });
    for (const env of msg.dataUpdate?.data ?? []) {
      const inner = SignedMessage.fromEnvelope(env);
      out.push({ bytes: Buffer.from(inner.bytes), content: inner.message.content });
    }
  }
  return out;
}

/**
 * Bytes to feed a decoder: mostly a pooled valid value with a few byte mutations, sometimes one
 * unchanged, sometimes short random bytes.
 */
export function mutatedFrom(pool: readonly Buffer[]): fc.Arbitrary<Buffer> {
  const pick = fc.nat({ max: pool.length - 1 }).map((i) => pool[i]!);
  return fc.oneof(
    { arbitrary: fc.tuple(pick, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([base, ms]) => mutate(base, ms)), weight: 7 },
    { arbitrary: pick, weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength: 48 }).map((u) => Buffer.from(u)), weight: 2 },
  );
}
