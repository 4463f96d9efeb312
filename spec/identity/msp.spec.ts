import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { IdentityError } from '../../lib/errors.js';
import { MspManager } from '../../lib/identity/msp.js';
import { serializeIdentity } from '../../lib/identity/serialized-identity.js';
import { NOT_AFTER, NOT_BEFORE, ORG_CA_PEM, ORG_PEERS, VALID_AT, identityBin, node, signCert, vector } from './vectors.js';
import { buildCert, issue, name, subjectOf, toPem } from './x509-builder.js';

const orgCa = vector(ORG_CA_PEM);
const org1 = (): MspManager => new MspManager([{ mspid: 'Org1MSP', rootCerts: [orgCa] }]);
const DAY = 24 * 3600 * 1000;

function refuses(manager: MspManager, identity: Uint8Array, pattern: RegExp, now = VALID_AT): void {
  assert.throws(
    () => manager.validate(identity, now),
    (e: unknown) => e instanceof IdentityError && pattern.test(e.message),
  );
}

describe('MspManager.validate with the Fabric vectors', () => {
  for (const dir of ORG_PEERS) {
    it(`accepts ${dir}`, () => {
      const v = org1().validate(identityBin(dir), VALID_AT);
      assert.equal(v.mspid, 'Org1MSP');
      assert.equal(v.pkiId.toString('hex'), node(dir).pki_id_hex);
      assert.match(v.subject, new RegExp(`CN=${dir}\\.org1\\.example\\.com`));
      assert.ok(v.certificate.raw.equals(new X509Certificate(signCert(dir)).raw));
      assert.ok(
        v.publicKey.export({ type: 'spki', format: 'der' }).equals(v.certificate.publicKey.export({ type: 'spki', format: 'der' })),
      );
      assert.equal(v.notAfter.toISOString(), NOT_AFTER.toISOString());
      assert.equal(v.notBefore.toISOString(), NOT_BEFORE.toISOString());
    });
  }

  it('refuses the rogue peer (same MSP id, other CA) as untrusted', () => {
    refuses(org1(), identityBin('rogue/peer0'), /cannot be validated/);
  });

  it('refuses an unknown MSP id', () => {
    refuses(org1(), serializeIdentity('Org2MSP', signCert('peer0')), /MSP "Org2MSP" is unknown/);
  });

  it('refuses an identity with one extra trailing newline', () => {
    refuses(org1(), serializeIdentity('Org1MSP', Buffer.concat([signCert('peer0'), Buffer.from('\n')])), /has trailing bytes/);
  });

  it('refuses identities that do not parse or are not certificates', () => {
    refuses(org1(), Buffer.from([0xff]), /not a msp.SerializedIdentity/);
    refuses(org1(), serializeIdentity('Org1MSP', Buffer.from('hello')), /not a PEM certificate/);
    refuses(org1(), serializeIdentity('Org1MSP', vector('peer0/msp/keystore/priv_sk')), /not a PEM certificate/);
  });

  it('refuses a CA certificate as identity', () => {
    refuses(org1(), serializeIdentity('Org1MSP', orgCa), /is a CA certificate/);
  });

  it('refuses an expired certificate and one not yet valid', () => {
    const id = identityBin('peer1');
    refuses(org1(), id, /expired on 2036-11-22T15:16:00.000Z/, new Date(NOT_AFTER.getTime() + 1000));
    refuses(org1(), id, /expired/, new Date('2040-01-01T00:00:00Z'));
    refuses(org1(), id, /not valid before 2026-11-25T15:16:00.000Z/, new Date(NOT_BEFORE.getTime() - 1000));
    // The bounds themselves are inside the validity period, as in Go's x509.
    org1().validate(id, NOT_AFTER);
    org1().validate(id, NOT_BEFORE);
  });

  it('refuses a certificate naming the Org1 CA as issuer but signed by another key', () => {
    const forger = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const leaf = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const der = buildCert({
      subject: name([['OU', 'peer'], ['CN', 'forged.org1.example.com']]),
      issuer: subjectOf(new X509Certificate(orgCa).raw),
      publicKey: leaf.publicKey,
      signingKey: forger.privateKey,
      notBefore: NOT_BEFORE,
      notAfter: NOT_AFTER,
    });
    assert.equal(new X509Certificate(der).checkIssued(new X509Certificate(orgCa)), true, 'the names do match');
    refuses(org1(), serializeIdentity('Org1MSP', toPem(der)), /cannot be validated/);
  });
});

describe('MspManager cache', () => {
  it('returns the cached validation, but still re-checks expiry', () => {
    const manager = org1();
    const id = identityBin('peer0');
    const first = manager.validate(id, VALID_AT);
    assert.equal(manager.cachedCount, 1);
    assert.equal(manager.validate(Buffer.from(id), VALID_AT), first);
    assert.equal(manager.cachedCount, 1);
    refuses(manager, id, /expired/, new Date('2037-01-01T00:00:00Z'));
    refuses(manager, id, /not valid before/, new Date('2020-01-01T00:00:00Z'));
    assert.notEqual(manager.validate(id, VALID_AT), first, 'an entry found expired is dropped and validated afresh');
  });

  it('does not cache failures', () => {
    const manager = org1();
    refuses(manager, identityBin('rogue/peer0'), /cannot be validated/);
    assert.equal(manager.cachedCount, 0);
  });

  it('is bounded, evicting the least recently used entry', () => {
    const manager = new MspManager([{ mspid: 'Org1MSP', rootCerts: [orgCa] }], { cacheSize: 2 });
    const [a, b, c] = [identityBin('peer0'), identityBin('peer1'), identityBin('peer2')];
    const va = manager.validate(a, VALID_AT);
    const vb = manager.validate(b, VALID_AT);
    assert.equal(manager.validate(a, VALID_AT), va); // a becomes most recent
    manager.validate(c, VALID_AT); // evicts b
    assert.equal(manager.cachedCount, 2);
    assert.equal(manager.validate(a, VALID_AT), va);
    assert.notEqual(manager.validate(b, VALID_AT), vb);
  });

  it('can be disabled', () => {
    const manager = new MspManager([{ mspid: 'Org1MSP', rootCerts: [orgCa] }], { cacheSize: 0 });
    const id = identityBin('peer3');
    assert.notEqual(manager.validate(id, VALID_AT), manager.validate(id, VALID_AT));
    assert.equal(manager.cachedCount, 0);
  });
});

describe('MspManager chains', () => {
  const now = new Date();
  const root = issue('root', { ca: true });
  const inter = issue('intermediate', { ca: true, issuer: root });
  const leaf = issue('leaf', { issuer: inter });
  const id = serializeIdentity('OrgX', leaf.pem);

  it('validates a leaf through an intermediate', () => {
    const manager = new MspManager([{ mspid: 'OrgX', rootCerts: [root.pem], intermediateCerts: [inter.pem] }]);
    assert.match(manager.validate(id, now).subject, /CN=leaf/);
  });

  it('accepts roots and intermediates as strings, bundles and DER', () => {
    const bundle = Buffer.concat([orgCa, root.pem]).toString();
    const manager = new MspManager([{ mspid: 'OrgX', rootCerts: [bundle], intermediateCerts: [inter.der] }]);
    manager.validate(id, now);
  });

  it('refuses a leaf whose intermediate is not configured', () => {
    refuses(new MspManager([{ mspid: 'OrgX', rootCerts: [root.pem] }]), id, /cannot be validated/, now);
  });

  it('refuses a leaf issued directly by a root of another MSP', () => {
    const manager = new MspManager([
      { mspid: 'OrgX', rootCerts: [orgCa] },
      { mspid: 'OrgY', rootCerts: [root.pem], intermediateCerts: [inter.pem] },
    ]);
    refuses(manager, id, /cannot be validated/, now);
    manager.validate(serializeIdentity('OrgY', leaf.pem), now);
  });

  it('refuses a leaf that expired or is not yet valid under a valid chain', () => {
    // In the vectors the CA expires with the leaves; here only the leaf is out of its period.
    const manager = new MspManager([{ mspid: 'OrgX', rootCerts: [root.pem], intermediateCerts: [inter.pem] }]);
    const old = issue('old-leaf', {
      issuer: inter,
      notBefore: new Date(now.getTime() - 2 * DAY),
      notAfter: new Date(now.getTime() - DAY),
    });
    refuses(
      manager,
      serializeIdentity('OrgX', old.pem),
      /^identity "O=builder.example.com, CN=old-leaf" of MSP "OrgX" is not valid: certificate "[^"]*" expired on/,
      now,
    );
    const young = issue('young-leaf', { issuer: inter, notBefore: new Date(now.getTime() + DAY) });
    refuses(manager, serializeIdentity('OrgX', young.pem), /is not valid: certificate "[^"]*CN=young-leaf" is not valid before/, now);
  });

  it('refuses a chain with an expired or not yet valid intermediate, and ends validity at the chain', () => {
    const expiring = issue('expiring', { ca: true, issuer: root, notAfter: new Date(now.getTime() + DAY) });
    const leaf2 = issue('leaf2', { issuer: expiring });
    const manager = new MspManager([{ mspid: 'OrgX', rootCerts: [root.pem], intermediateCerts: [expiring.pem] }]);
    const id2 = serializeIdentity('OrgX', leaf2.pem);
    const v = manager.validate(id2, now);
    assert.equal(v.notAfter.getTime(), Math.floor(now.getTime() / 1000 + 24 * 3600) * 1000);
    refuses(manager, id2, /CA certificate "O=builder.example.com, CN=expiring" expired/, new Date(now.getTime() + 2 * DAY));

    const future = issue('future', { ca: true, issuer: root, notBefore: new Date(now.getTime() + DAY) });
    const leaf3 = issue('leaf3', { issuer: future });
    const manager3 = new MspManager([{ mspid: 'OrgX', rootCerts: [root.pem], intermediateCerts: [future.pem] }]);
    refuses(manager3, serializeIdentity('OrgX', leaf3.pem), /CA certificate .*CN=future.* is not valid before/, now);
  });

  it('refuses a chain whose root has expired', () => {
    const oldRoot = issue('old-root', { ca: true, notBefore: new Date('2000-01-01Z'), notAfter: new Date('2001-01-01Z') });
    const leaf4 = issue('leaf4', { issuer: oldRoot });
    const manager = new MspManager([{ mspid: 'OrgX', rootCerts: [oldRoot.pem] }]);
    refuses(manager, serializeIdentity('OrgX', leaf4.pem), /CN=old-root" expired on 2001-01-01/, now);
  });

  it('validates a leaf under an intermediate issued by the real Org1 CA', () => {
    const caKey = createPrivateKey(vector('ca/priv_sk'));
    const around = { notBefore: new Date(VALID_AT.getTime() - DAY), notAfter: new Date(VALID_AT.getTime() + DAY) };
    const orgInter = issue('org1-intermediate', {
      ca: true,
      issuer: { subject: subjectOf(new X509Certificate(orgCa).raw), privateKey: caKey },
      ...around,
    });
    const orgLeaf = issue('peer9.org1.example.com', { issuer: orgInter, ...around });
    const withInter = new MspManager([{ mspid: 'Org1MSP', rootCerts: [orgCa], intermediateCerts: [orgInter.pem] }]);
    const leafId = serializeIdentity('Org1MSP', orgLeaf.pem);
    withInter.validate(leafId, VALID_AT);
    refuses(org1(), leafId, /cannot be validated/);
    refuses(withInter, serializeIdentity('Org1MSP', orgInter.pem), /is a CA certificate/);
  });

  it('refuses a leaf with CA:TRUE even when it chains', () => {
    const caLeaf = issue('sub-ca', { ca: true, issuer: inter });
    const manager = new MspManager([{ mspid: 'OrgX', rootCerts: [root.pem], intermediateCerts: [inter.pem] }]);
    refuses(manager, serializeIdentity('OrgX', caLeaf.pem), /is a CA certificate/, now);
  });

  it('validates P-384 identities', () => {
    const root384 = issue('root384', { ca: true, curve: 'secp384r1' });
    const leaf384 = issue('leaf384', { issuer: root384, curve: 'secp384r1' });
    const manager = new MspManager([{ mspid: 'OrgX', rootCerts: [root384.pem] }]);
    assert.equal(manager.validate(serializeIdentity('OrgX', leaf384.pem), now).publicKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');
  });
});

describe('MspManager configuration', () => {
  const bad = (configs: ConstructorParameters<typeof MspManager>[0], pattern: RegExp): void =>
    assert.throws(() => new MspManager(configs), (e: unknown) => e instanceof IdentityError && pattern.test(e.message));

  it('refuses non-CA roots or intermediates, garbage, empty and duplicate MSPs', () => {
    bad([{ mspid: 'Org1MSP', rootCerts: [signCert('peer0')] }], /root CA of MSP "Org1MSP" .* is not a CA certificate/);
    bad([{ mspid: 'Org1MSP', rootCerts: [orgCa], intermediateCerts: [signCert('peer0')] }], /intermediate CA .* is not a CA/);
    bad([{ mspid: 'Org1MSP', rootCerts: ['garbage'] }], /root CA of MSP "Org1MSP" #1 is unusable/);
    bad([{ mspid: 'Org1MSP', rootCerts: [] }], /has no root CA/);
    bad([{ mspid: '', rootCerts: [orgCa] }], /empty MSP id/);
    bad(
      [
        { mspid: 'Org1MSP', rootCerts: [orgCa] },
        { mspid: 'Org1MSP', rootCerts: [orgCa] },
      ],
      /configured twice/,
    );
  });

  it('lists its MSPs', () => {
    const manager = new MspManager([
      { mspid: 'Org1MSP', rootCerts: [orgCa] },
      { mspid: 'RogueMSP', rootCerts: [vector('rogue/ca/ca.rogue.example.com-cert.pem')] },
    ]);
    assert.deepEqual(manager.mspids, ['Org1MSP', 'RogueMSP']);
    assert.equal(manager.has('RogueMSP'), true);
    assert.equal(manager.has('Org2MSP'), false);
    // The rogue peer claims Org1MSP, so trusting the rogue CA under another id does not help it.
    refuses(manager, identityBin('rogue/peer0'), /cannot be validated/);
    manager.validate(serializeIdentity('RogueMSP', signCert('rogue/peer0')), VALID_AT);
  });
});
