// The ConnEstablish envelopes a real Fabric v2.5 peer sent, checked with the identity layer only.
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { SignatureError } from '../../lib/errors.js';
import { MspIdentityMapper } from '../../lib/identity/identity-mapper.js';
import { MspManager } from '../../lib/identity/msp.js';
import { loadPeerDir } from '../../lib/identity/peer-dir.js';
import { pkiIdOf } from '../../lib/identity/serialized-identity.js';
import { isLowS, verifySignature } from '../../lib/identity/signer.js';
import { gossip } from '../../lib/proto/messages.js';
import { join } from 'node:path';
import { ORG_CA_PEM, VALID_AT, VECTORS, identityBin, node, vector } from './vectors.js';

const VECTOR_FILES = [
  { file: 'handshake/peer0-server-conn.envelope.pb', peer: 'peer0' },
  { file: 'handshake/peer2-client-conn.envelope.pb', peer: 'peer2' },
];

for (const { file, peer } of VECTOR_FILES) {
  describe(`Fabric handshake vector ${file}`, () => {
    const envelope = gossip.Envelope.decode(vector(file));
    const message = gossip.GossipMessage.decode(envelope.payload);
    const conn = message.conn!;
    const msp = new MspManager([{ mspid: 'Org1MSP', rootCerts: [vector(ORG_CA_PEM)] }]);

    it('is a ConnEstablish with nonce 0 and tag EMPTY', () => {
      assert.equal(message.content, 'conn');
      assert.equal(Number(message.nonce), 0);
      assert.equal(message.tag, gossip.GossipMessage.Tag.EMPTY);
      assert.equal(conn.probe, false);
    });

    it("carries the peer's identity, which validates with the org CA", () => {
      assert.ok(Buffer.from(conn.identity!).equals(identityBin(peer)));
      const validated = msp.validate(conn.identity!, VALID_AT);
      assert.match(validated.subject, new RegExp(`CN=${peer}\\.org1\\.example\\.com`));
      assert.ok(validated.pkiId.equals(conn.pkiId!));
    });

    it('has the PKI-ID of its identity', () => {
      assert.equal(pkiIdOf(conn.identity!).toString('hex'), node(peer).pki_id_hex);
      assert.equal(Buffer.from(conn.pkiId!).toString('hex'), node(peer).pki_id_hex);
    });

    it("has the SHA-256 of the peer's TLS certificate as tls_cert_hash", async () => {
      const tlsDer = new X509Certificate(vector(node(peer).tls_cert_pem)).raw;
      assert.equal(Buffer.from(conn.tlsCertHash!).toString('hex'), createHash('sha256').update(tlsDer).digest('hex'));
      assert.equal(Buffer.from(conn.tlsCertHash!).toString('hex'), node(peer).tls_cert_sha256_hex);
      const local = await loadPeerDir(join(VECTORS, peer), { now: VALID_AT });
      assert.ok(local.tls.certHash.equals(conn.tlsCertHash!));
      assert.ok(local.pkiId.equals(conn.pkiId!));
      assert.ok(Buffer.from(local.identity).equals(conn.identity!));
    });

    it('is signed over the payload with a low-S signature that verifies', () => {
      assert.equal(isLowS(envelope.signature), true);
      const { publicKey } = msp.validate(conn.identity!, VALID_AT);
      verifySignature(publicKey, envelope.payload, envelope.signature);
      const mapper = new MspIdentityMapper(msp, undefined, { now: () => VALID_AT });
      mapper.verifyByIdentity(conn.identity!, envelope.signature, envelope.payload);
      mapper.put(conn.pkiId!, conn.identity!);
      mapper.verify(conn.pkiId!, envelope.signature, envelope.payload);
    });

    it('does not verify once the payload is changed', () => {
      const { publicKey } = msp.validate(conn.identity!, VALID_AT);
      const tampered = Buffer.from(envelope.payload);
      tampered[tampered.length - 1] ^= 1;
      assert.throws(() => verifySignature(publicKey, tampered, envelope.signature), SignatureError);
    });
  });
}
