import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdentityError, SignatureError } from '../../lib/errors.js';
import { MspIdentityMapper, type IdentityMapper } from '../../lib/identity/identity-mapper.js';
import { MspManager } from '../../lib/identity/msp.js';
import { pkiIdOf, serializeIdentity } from '../../lib/identity/serialized-identity.js';
import { createSigner, encodeDerSignature, curveOrder, parseDerSignature } from '../../lib/identity/signer.js';
import { NOT_AFTER, ORG_CA_PEM, VALID_AT, identityBin, node, signCert, vector } from './vectors.js';

const msp = (): MspManager => new MspManager([{ mspid: 'Org1MSP', rootCerts: [vector(ORG_CA_PEM)] }]);
const pki = (dir: string): Buffer => Buffer.from(node(dir).pki_id_hex, 'hex');
const signerOf = (dir: string) => createSigner(vector(node(dir).sign_key_pem));
const self = { pkiId: pki('peer0'), identity: identityBin('peer0') };
const atValidTime = { now: () => VALID_AT };
const mapperOf = (me?: typeof self): MspIdentityMapper => new MspIdentityMapper(msp(), me, atValidTime);

const isIdentityError = (pattern: RegExp) => (e: unknown) => e instanceof IdentityError && pattern.test(e.message);
const isSignatureError = (pattern: RegExp) => (e: unknown) => e instanceof SignatureError && pattern.test(e.message);

describe('MspIdentityMapper', () => {
  it('holds its own identity from the start', () => {
    const mapper: IdentityMapper = mapperOf(self);
    assert.equal(mapper.size, 1);
    assert.ok(Buffer.from(mapper.get(self.pkiId)!).equals(self.identity));
  });

  it('put / get / verify / delete round trip', () => {
    const mapper = mapperOf(self);
    const id = identityBin('peer1');
    mapper.put(pki('peer1'), id);
    assert.equal(mapper.size, 2);
    assert.ok(Buffer.from(mapper.get(pki('peer1'))!).equals(id));

    const message = Buffer.from('alive message');
    const signature = signerOf('peer1').sign(message);
    mapper.verify(pki('peer1'), signature, message);
    assert.throws(() => mapper.verify(pki('peer1'), signature, Buffer.from('alive messagE')), isSignatureError(/does not verify/));
    // peer0's signature is not peer1's.
    assert.throws(() => mapper.verify(pki('peer1'), signerOf('peer0').sign(message), message), isSignatureError(/does not verify/));
    mapper.verify(pki('peer0'), signerOf('peer0').sign(message), message);

    mapper.delete(pki('peer1'));
    assert.equal(mapper.get(pki('peer1')), undefined);
    assert.equal(mapper.size, 1);
    assert.throws(() => mapper.verify(pki('peer1'), signature, message), isSignatureError(/unknown PKI-ID/));
  });

  it('stores a copy of the identity', () => {
    const mapper = mapperOf();
    const id = Buffer.from(identityBin('peer2'));
    mapper.put(pki('peer2'), id);
    id.fill(0);
    assert.ok(Buffer.from(mapper.get(pki('peer2'))!).equals(identityBin('peer2')));
  });

  it('refuses a PKI-ID that does not match the identity, and stores nothing', () => {
    const mapper = mapperOf();
    assert.throws(() => mapper.put(pki('peer2'), identityBin('peer1')), isIdentityError(/PKI-ID does not match identity/));
    assert.throws(() => mapper.put(new Uint8Array(0), identityBin('peer1')), isIdentityError(/empty PKI-ID/));
    assert.equal(mapper.get(pki('peer2')), undefined);
    assert.equal(mapper.get(pki('peer1')), undefined);
    assert.equal(mapper.size, 0);
  });

  it('refuses untrusted identities, even with their correct PKI-ID', () => {
    const mapper = mapperOf();
    assert.throws(() => mapper.put(pki('rogue/peer0'), identityBin('rogue/peer0')), isIdentityError(/cannot be validated/));
    const withNewline = serializeIdentity('Org1MSP', Buffer.concat([signCert('peer1'), Buffer.from('\n')]));
    assert.throws(() => mapper.put(pkiIdOf(withNewline), withNewline), isIdentityError(/trailing bytes/));
    assert.equal(mapper.size, 0);
  });

  it('refuses an untrusted self identity at construction', () => {
    assert.throws(
      () => mapperOf({ pkiId: pki('rogue/peer0'), identity: identityBin('rogue/peer0') }),
      IdentityError,
    );
    assert.throws(() => mapperOf({ pkiId: pki('peer1'), identity: self.identity }), /does not match/);
  });

  it('refuses to verify with an unknown PKI-ID', () => {
    const mapper = mapperOf(self);
    const message = Buffer.from('m');
    assert.throws(() => mapper.verify(pki('peer3'), signerOf('peer3').sign(message), message), isSignatureError(/unknown PKI-ID/));
  });

  it('refuses high-S signatures', () => {
    const mapper = mapperOf(self);
    const message = Buffer.from('m');
    const { r, s } = parseDerSignature(signerOf('peer0').sign(message));
    const high = encodeDerSignature(r, curveOrder('P-256') - s);
    assert.throws(() => mapper.verify(self.pkiId, high, message), isSignatureError(/Invalid S/));
  });

  it('verifies by identity without storing it', () => {
    const mapper = mapperOf();
    const message = Buffer.from('conn');
    mapper.verifyByIdentity(identityBin('peer3'), signerOf('peer3').sign(message), message);
    assert.equal(mapper.size, 0);
    assert.throws(() => mapper.verifyByIdentity(identityBin('peer3'), signerOf('peer2').sign(message), message), SignatureError);
    assert.throws(
      () => mapper.verifyByIdentity(identityBin('rogue/peer0'), signerOf('rogue/peer0').sign(message), message),
      IdentityError,
    );
  });

  it('drops identities once they expire', () => {
    let now = VALID_AT;
    const mapper = new MspIdentityMapper(msp(), undefined, { now: () => now, usageThresholdMs: Infinity });
    mapper.put(pki('peer1'), identityBin('peer1'));
    mapper.put(pki('peer2'), identityBin('peer2'));
    const message = Buffer.from('m');
    const sig = signerOf('peer1').sign(message);
    mapper.verify(pki('peer1'), sig, message);
    now = NOT_AFTER;
    assert.equal(mapper.size, 2, 'still valid at notAfter');
    now = new Date(NOT_AFTER.getTime() + 1000);
    assert.throws(() => mapper.verify(pki('peer1'), sig, message), isSignatureError(/unknown PKI-ID/));
    assert.equal(mapper.get(pki('peer2')), undefined);
    assert.equal(mapper.size, 0);
    assert.throws(() => mapper.put(pki('peer1'), identityBin('peer1')), isIdentityError(/expired/));
  });

  it('forgets identities unused for the usage threshold (Fabric: an hour), never its own', () => {
    let now = VALID_AT;
    const later = (ms: number) => (now = new Date(now.getTime() + ms));
    const own = { pkiId: pki('peer0'), identity: identityBin('peer0') };
    const mapper = new MspIdentityMapper(msp(), own, { now: () => now });
    mapper.put(pki('peer1'), identityBin('peer1'));
    mapper.put(pki('peer2'), identityBin('peer2'));
    later(40 * 60_000);
    assert.ok(mapper.get(pki('peer1')), 'a lookup is a use');
    assert.equal(mapper.has(pki('peer2')), true, 'has() is not a use');
    later(40 * 60_000); // peer1 used 40 min ago, peer2 80 min ago
    assert.ok(mapper.get(pki('peer1')));
    assert.equal(mapper.has(pki('peer2')), false);
    assert.equal(mapper.get(pki('peer2')), undefined);
    later(2 * 60 * 60_000);
    assert.equal(mapper.size, 1, 'only our own identity is left');
    assert.ok(mapper.get(own.pkiId));
  });

  it('keeps its own identity on delete', () => {
    const mapper = mapperOf(self);
    mapper.delete(self.pkiId);
    assert.equal(mapper.size, 1);
    assert.ok(mapper.get(self.pkiId) !== undefined);
  });

  it('computes PKI-IDs like Fabric', () => {
    const mapper = mapperOf();
    for (const dir of ['peer0', 'peer1', 'peer2', 'peer3', 'rogue/peer0']) {
      assert.equal(mapper.pkiIdOf(identityBin(dir)).toString('hex'), node(dir).pki_id_hex);
    }
  });
});
