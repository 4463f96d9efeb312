import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { IdentityError } from '../../lib/errors.js';
import { parseIdentity, pkiIdOf, serializeIdentity } from '../../lib/identity/serialized-identity.js';
import { msp } from '../../lib/proto/messages.js';
import { ORG_PEERS, identityBin, node, signCert, vector } from './vectors.js';

const ALL = [...ORG_PEERS, 'rogue/peer0'];

describe('serializeIdentity', () => {
  for (const dir of ALL) {
    it(`equals ${dir}/identity.bin byte for byte`, () => {
      const bytes = serializeIdentity('Org1MSP', signCert(dir));
      assert.ok(Buffer.from(bytes).equals(identityBin(dir)));
    });
  }
});

describe('parseIdentity', () => {
  it('gives back the MSP id and the exact PEM file bytes', () => {
    for (const dir of ALL) {
      const { mspid, idBytes } = parseIdentity(identityBin(dir));
      assert.equal(mspid, 'Org1MSP');
      assert.ok(Buffer.from(idBytes).equals(signCert(dir)));
    }
  });

  it('refuses empty, undecodable, and incomplete identities', () => {
    const refuses = (bytes: Uint8Array, pattern: RegExp): void =>
      assert.throws(() => parseIdentity(bytes), (e: unknown) => e instanceof IdentityError && pattern.test(e.message));
    refuses(new Uint8Array(0), /empty identity/);
    refuses(Buffer.from([0x0a, 0xff, 0xff]), /not a msp.SerializedIdentity/);
    refuses(Buffer.from([0x12, 0x05, 0x01]), /not a msp.SerializedIdentity/); // id_bytes longer than the input
    refuses(serializeIdentity('', signCert('peer0')), /empty MSP id/);
    refuses(serializeIdentity('Org1MSP', new Uint8Array(0)), /empty id_bytes/);
    refuses(msp.SerializedIdentity.encode({ mspid: 'Org1MSP' }).finish(), /empty id_bytes/);
  });
});

describe('pkiIdOf', () => {
  for (const dir of ALL) {
    it(`equals ${dir}/pkiid.hex and the manifest`, () => {
      const pkiId = pkiIdOf(identityBin(dir)).toString('hex');
      assert.equal(pkiId, vector(`${dir}/pkiid.hex`).toString('utf8').trim());
      assert.equal(pkiId, node(dir).pki_id_hex);
    });
  }

  it('is SHA-256(mspid || id_bytes), over the exact bytes', () => {
    const cert = signCert('peer1');
    const expected = createHash('sha256').update(Buffer.concat([Buffer.from('Org1MSP'), cert])).digest();
    assert.ok(pkiIdOf(serializeIdentity('Org1MSP', cert)).equals(expected));
    const withNewline = serializeIdentity('Org1MSP', Buffer.concat([cert, Buffer.from('\n')]));
    assert.ok(!pkiIdOf(withNewline).equals(expected));
    assert.ok(!pkiIdOf(serializeIdentity('Org2MSP', cert)).equals(expected));
  });

  it('throws IdentityError for an identity that does not parse', () => {
    assert.throws(() => pkiIdOf(Buffer.from('nope')), IdentityError);
  });
});
