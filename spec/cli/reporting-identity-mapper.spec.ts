// The diagnostic commands' identity mapper: lenient by default (report, do not refuse), or strict.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ReportingIdentityMapper } from '../../lib/cli/reporting-identity-mapper.js';
import { IdentityError, MspManager, SignatureError, serializeIdentity, type LocalPeer } from '../../lib/index.js';
import { fixturePeer } from './helpers.js';

let peer0: LocalPeer;
let peer1: LocalPeer;
let rogue: LocalPeer;
const data = Buffer.from('ConnEstablish payload');

before(async () => {
  [peer0, peer1, rogue] = await Promise.all([fixturePeer('peer0'), fixturePeer('peer1'), fixturePeer('rogue/peer0')]);
});

const mapper = (strict = false): ReportingIdentityMapper =>
  new ReportingIdentityMapper(new MspManager([peer0.msp]), peer1, { strict });

describe('ReportingIdentityMapper, lenient', () => {
  it('stores a trusted identity with a trusted verdict', () => {
    const m = mapper();
    m.put(peer0.pkiId, peer0.identity);
    assert.deepEqual(m.verdictOf(peer0.pkiId), { trusted: true });
    assert.deepEqual(Buffer.from(m.get(peer0.pkiId)!), Buffer.from(peer0.identity));
    m.verify(peer0.pkiId, peer0.signer.sign(data), data);
  });

  it('stores an untrusted identity with the reason, and still checks its signatures', () => {
    const m = mapper();
    m.put(rogue.pkiId, rogue.identity);
    const verdict = m.verdictOf(rogue.pkiId);
    assert.equal(verdict?.trusted, false);
    assert.match(verdict?.reason ?? '', /cannot be validated: it does not chain to a root CA of the MSP/);
    m.verifyByIdentity(rogue.identity, rogue.signer.sign(data), data);
    m.verify(rogue.pkiId, rogue.signer.sign(data), data);
    assert.throws(() => m.verifyByIdentity(rogue.identity, peer0.signer.sign(data), data), SignatureError);
    assert.throws(() => m.verify(rogue.pkiId, rogue.signer.sign(data), Buffer.from('other')), SignatureError);
    assert.equal(m.size, 1);
    m.delete(rogue.pkiId);
    assert.equal(m.verdictOf(rogue.pkiId), undefined);
    assert.equal(m.size, 0);
  });

  it('refuses what is not an identity at all: empty or mismatched PKI-ID, not a certificate', () => {
    const m = mapper();
    assert.throws(() => m.put(Buffer.alloc(0), peer0.identity), IdentityError);
    assert.throws(() => m.put(peer1.pkiId, peer0.identity), /PKI-ID does not match identity/);
    const junk = serializeIdentity('Org1MSP', Buffer.from('not a certificate'));
    assert.throws(() => m.put(m.pkiIdOf(junk), junk), /is not an X\.509 certificate/);
    assert.equal(m.verdictOf(peer1.pkiId), undefined);
  });
});

describe('ReportingIdentityMapper, strict', () => {
  it('refuses an untrusted identity like the MSP mapper', () => {
    const m = mapper(true);
    assert.throws(() => m.put(rogue.pkiId, rogue.identity), (e: unknown) => e instanceof IdentityError && /cannot be validated/.test(e.message));
    assert.throws(() => m.verifyByIdentity(rogue.identity, rogue.signer.sign(data), data), IdentityError);
    m.put(peer0.pkiId, peer0.identity);
    m.verifyByIdentity(peer0.identity, peer0.signer.sign(data), data);
    assert.deepEqual(m.verdictOf(peer0.pkiId), { trusted: true });
  });
});
