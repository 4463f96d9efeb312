// Identity bytes kept by reference: a handshake's identity is held once, by its connection, and
// the identity mapper and the MSP's cache keep that same view; any other bytes are copied, so a
// caller reusing its buffer (or a view into a received message) never changes what is stored.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { buildConnEstablish, checkConnEstablish } from '../../lib/comm/handshake.js';
import { MspIdentityMapper } from '../../lib/identity/identity-mapper.js';
import { isKeepable, keepable, markKeepable } from '../../lib/identity/kept-bytes.js';
import { MspManager } from '../../lib/identity/msp.js';
import { createSigner } from '../../lib/identity/signer.js';
import { ORG_CA_PEM, VALID_AT, identityBin, node, signCert, vector } from './vectors.js';

const msp = (): MspManager => new MspManager([{ mspid: 'Org1MSP', rootCerts: [vector(ORG_CA_PEM)] }]);
const pki = (dir: string): Buffer => Buffer.from(node(dir).pki_id_hex, 'hex');
/** A copy in an allocation of its own, as a connection keeps it. */
const owned = (bytes: Uint8Array): Buffer => {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  copy.set(bytes);
  return copy;
};

describe('kept bytes', () => {
  it('keepable() returns marked bytes themselves and copies any other', () => {
    const marked = markKeepable(owned(identityBin('peer1')));
    assert.ok(isKeepable(marked));
    assert.equal(keepable(marked), marked);
    const plain = owned(identityBin('peer1'));
    const copy = keepable(plain);
    assert.notEqual(copy, plain);
    assert.ok(Buffer.from(copy).equals(plain));
    assert.notEqual(copy.buffer, plain.buffer);
  });

  it('the mapper stores a marked identity as it is, and a copy of any other', () => {
    const mapper = new MspIdentityMapper(msp(), undefined, { now: () => VALID_AT });
    const marked = markKeepable(owned(identityBin('peer1')));
    mapper.put(pki('peer1'), marked);
    assert.equal(mapper.get(pki('peer1')), marked);

    const reused = owned(identityBin('peer2'));
    mapper.put(pki('peer2'), reused);
    reused.fill(0);
    assert.ok(Buffer.from(mapper.get(pki('peer2'))!).equals(identityBin('peer2')), 'a caller reusing its buffer changed the stored identity');
  });

  it('an identity validated from kept bytes still shows its certificate, read again on first use', () => {
    const manager = msp();
    const validated = manager.validate(markKeepable(owned(identityBin('peer3'))), VALID_AT);
    const expected = new X509Certificate(signCert('peer3'));
    assert.ok(validated.certificate.raw.equals(expected.raw));
    assert.equal(validated.subject, expected.subject.split('\n').join(', '));
    // And from bytes that are not kept (another MSP, the DER path), the same.
    const other = msp().validate(owned(identityBin('peer3')), VALID_AT);
    assert.ok(other.certificate.raw.equals(expected.raw));
  });

  it("a handshake's identity is one object, shared by the connection and the mapper", () => {
    const mapper = new MspIdentityMapper(msp(), undefined, { now: () => VALID_AT });
    const signer = createSigner(vector(node('peer2').sign_key_pem));
    const bytes = buildConnEstablish({ pkiId: pki('peer2'), identity: identityBin('peer2'), signer }, undefined, false);
    // Received as grpc-js hands it over: a view into a larger buffer.
    const received = Buffer.concat([Buffer.alloc(100), bytes, Buffer.alloc(100)]).subarray(100, 100 + bytes.length);
    const remote = checkConnEstablish(received, { mapper, tls: false });
    assert.equal(mapper.get(pki('peer2')), remote.identity);
    assert.ok(Buffer.from(remote.identity).equals(identityBin('peer2')));
    // Its own allocation, not the received buffer's.
    assert.notEqual(remote.identity.buffer, received.buffer);
    assert.ok(remote.identity.buffer.byteLength < 2 * remote.identity.length);
  });
});
