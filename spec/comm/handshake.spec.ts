// ConnEstablish against Fabric's own bytes: decode and verify the captured handshakes, build ours
// for the same peer and check it is the same message; then each way a handshake can be wrong.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import {
  buildConnEstablish,
  checkConnEstablish,
  certificateHash,
  gossip,
  HandshakeError,
  isLowS,
  MspIdentityMapper,
  MspManager,
  verifySignature,
  type LocalPeer,
} from '../../lib/index.js';
import { FIXTURES, fixturePeer } from '../helpers/peers.js';
import { craftConnEstablish } from '../helpers/craft.js';

let peer0: LocalPeer;
let peer1: LocalPeer;
let peer2: LocalPeer;
let rogue: LocalPeer;
let mapper: () => MspIdentityMapper;

const tlsDer = (p: LocalPeer): Buffer => new X509Certificate(p.tls.cert).raw;

before(async () => {
  [peer0, peer1, peer2, rogue] = await Promise.all(['peer0', 'peer1', 'peer2', 'rogue/peer0'].map(fixturePeer)) as [
    LocalPeer,
    LocalPeer,
    LocalPeer,
    LocalPeer,
  ];
  mapper = () => new MspIdentityMapper(new MspManager([peer0.msp]));
});

describe('Fabric handshake vectors', () => {
  for (const [file, name] of [
    ['peer0-server-conn.envelope.pb', 'peer0'],
    ['peer2-client-conn.envelope.pb', 'peer2'],
  ] as const) {
    it(`${file} decodes and passes every check`, async () => {
      const bytes = readFileSync(join(FIXTURES, 'handshake', file));
      const peer = name === 'peer0' ? peer0 : peer2;
      const remote = checkConnEstablish(bytes, { mapper: mapper(), tls: true, remoteCertificate: tlsDer(peer) });
      assert.equal(remote.pkiId.toString('hex'), readFileSync(join(FIXTURES, name, 'pkiid.hex'), 'utf8').trim());
      assert.deepEqual(Buffer.from(remote.identity), readFileSync(join(FIXTURES, name, 'identity.bin')));
      assert.equal(remote.probe, false);
      const message = gossip.GossipMessage.decode(gossip.Envelope.decode(bytes).payload);
      assert.equal(message.tag, gossip.GossipMessage.Tag.EMPTY);
      assert.equal(message.nonce.toString(), '0');
      assert.equal(
        Buffer.from(message.conn!.tlsCertHash!).toString('hex'),
        readFileSync(join(FIXTURES, name, 'tls_cert_sha256.hex'), 'utf8').trim(),
      );
      assert.ok(isLowS(remote.signature));
    });
  }

  it('our ConnEstablish for peer0 decodes to the fields Fabric sent and verifies the same way', () => {
    const fabric = gossip.Envelope.decode(readFileSync(join(FIXTURES, 'handshake', 'peer0-server-conn.envelope.pb')));
    const fabricMsg = gossip.GossipMessage.decode(fabric.payload);
    const ours = buildConnEstablish(peer0, certificateHash(tlsDer(peer0)), false);
    const env = gossip.Envelope.decode(ours);
    // Same message, so the same payload bytes: Fabric's encoding is canonical for these fields.
    assert.deepEqual(Buffer.from(env.payload), Buffer.from(fabric.payload));
    const ourMsg = gossip.GossipMessage.decode(env.payload);
    assert.equal(ourMsg.content, fabricMsg.content);
    assert.equal(ourMsg.tag, fabricMsg.tag);
    assert.equal(ourMsg.nonce.toString(), fabricMsg.nonce.toString());
    for (const field of ['pkiId', 'identity', 'tlsCertHash'] as const) {
      assert.deepEqual(Buffer.from(ourMsg.conn![field]!), Buffer.from(fabricMsg.conn![field]!), field);
    }
    assert.equal(ourMsg.conn!.probe, fabricMsg.conn!.probe);
    verifySignature(peer0.signer.publicKey, env.payload, env.signature);
    assert.ok(isLowS(env.signature));
    const remote = checkConnEstablish(ours, { mapper: mapper(), tls: true, remoteCertificate: tlsDer(peer0) });
    assert.equal(remote.pkiId.toString('hex'), peer0.pkiId.toString('hex'));
  });

  it('keeps what it returns in one allocation of its own, apart from the bytes received', () => {
    const bytes = buildConnEstablish(peer1, peer1.tls.certHash, false);
    const remote = checkConnEstablish(bytes, { mapper: mapper(), tls: true, remoteCertificate: tlsDer(peer1) });
    const envelope = gossip.Envelope.decode(Buffer.from(bytes));
    const kept = [remote.pkiId, remote.identity, remote.signedData, remote.signature];
    for (const part of kept) assert.equal(part.buffer, remote.signedData.buffer);
    assert.notEqual(remote.signedData.buffer, bytes.buffer);
    assert.equal(remote.signedData.buffer.byteLength, envelope.payload.length + envelope.signature.length + 32);
    const copies = kept.map((part) => Buffer.from(part));
    bytes.fill(0);
    kept.forEach((part, i) => assert.deepEqual(Buffer.from(part), copies[i]));
    assert.deepEqual(Buffer.from(remote.identity), Buffer.from(peer1.identity));
    assert.deepEqual(Buffer.from(remote.signature), Buffer.from(envelope.signature));
    assert.equal(remote.pkiId.toString('hex'), peer1.pkiId.toString('hex'));
  });

  it('a probe ConnEstablish carries probe = true', () => {
    const remote = checkConnEstablish(buildConnEstablish(peer1, peer1.tls.certHash, true), {
      mapper: mapper(),
      tls: true,
      remoteCertificate: tlsDer(peer1),
    });
    assert.equal(remote.probe, true);
  });
});

describe('bad handshakes are refused with the failing reason, in Fabric order', () => {
  const refuse = (bytes: Buffer, reason: HandshakeError['reason'], ctx: Partial<Parameters<typeof checkConnEstablish>[1]> = {}) => {
    assert.throws(
      () => checkConnEstablish(bytes, { mapper: mapper(), tls: true, remoteCertificate: tlsDer(peer1), ...ctx }),
      (err: unknown) => err instanceof HandshakeError && err.reason === reason,
    );
  };

  it('garbage bytes: malformed', () => refuse(Buffer.from('definitely not protobuf \xff\xff\xff'), 'malformed'));
  it('a first message that is not conn: not-conn', () => refuse(craftConnEstablish(peer1, { notConn: true }), 'not-conn'));
  it('an empty PKI-ID: empty-pki-id', () => refuse(craftConnEstablish(peer1, { pkiId: new Uint8Array(0) }), 'empty-pki-id'));
  it("another peer's PKI-ID: pki-id-mismatch", () =>
    refuse(craftConnEstablish(peer1, { pkiId: peer2.pkiId }), 'pki-id-mismatch'));
  it('an identity from an untrusted CA: identity-rejected', () =>
    refuse(craftConnEstablish(rogue), 'identity-rejected', { remoteCertificate: tlsDer(rogue) }));
  it('a wrong TLS hash: tls-binding', () => refuse(craftConnEstablish(peer1, { tlsCertHash: peer2.tls.certHash }), 'tls-binding'));
  it('no TLS certificate: no-client-certificate', () => {
    assert.throws(
      () => checkConnEstablish(craftConnEstablish(peer1), { mapper: mapper(), tls: true }),
      (err: unknown) => err instanceof HandshakeError && err.reason === 'no-client-certificate',
    );
  });
  it('a TLS certificate from an untrusted TLS CA: tls-binding', () =>
    refuse(craftConnEstablish(peer1, { tlsCertHash: rogue.tls.certHash }), 'tls-binding', {
      remoteCertificate: tlsDer(rogue),
      tlsRootCerts: peer1.tlsRootCerts.map((p) => new X509Certificate(p)),
    }));
  it('an empty signature: bad-signature', () => refuse(craftConnEstablish(peer1, { signature: 'empty' }), 'bad-signature'));
  it('a high-S signature: bad-signature', () => refuse(craftConnEstablish(peer1, { signature: 'high-s' }), 'bad-signature'));
  it('a corrupted signature: bad-signature', () => refuse(craftConnEstablish(peer1, { signature: 'corrupt' }), 'bad-signature'));
  it("another peer's signature: bad-signature", () =>
    refuse(craftConnEstablish(peer1, { signature: { signer: peer2 } }), 'bad-signature'));
  it('the right peer but not the one dialed: unexpected-peer', () =>
    refuse(craftConnEstablish(peer1), 'unexpected-peer', { expectedPkiId: peer2.pkiId }));
  it('without TLS the binding is not checked', () => {
    const remote = checkConnEstablish(craftConnEstablish(peer1, { tlsCertHash: new Uint8Array(0) }), {
      mapper: mapper(),
      tls: false,
    });
    assert.equal(remote.pkiId.toString('hex'), peer1.pkiId.toString('hex'));
  });
  it('the checks run in Fabric order: PKI-ID before TLS before signature', () => {
    // Wrong in three ways at once: the PKI-ID mismatch must be the one reported.
    refuse(craftConnEstablish(peer1, { pkiId: peer2.pkiId, tlsCertHash: peer2.tls.certHash, signature: 'empty' }), 'pki-id-mismatch');
    // Wrong TLS hash and signature: TLS first.
    refuse(craftConnEstablish(peer1, { tlsCertHash: peer2.tls.certHash, signature: 'empty' }), 'tls-binding');
  });
});
