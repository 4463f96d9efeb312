import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { IdentityError } from '../../lib/errors.js';
import { jwkOf, readDerCertificate, type DerCertificate } from '../../lib/identity/der-certificate.js';
import { MspManager } from '../../lib/identity/msp.js';
import { serializeIdentity } from '../../lib/identity/serialized-identity.js';
import { ORG_CA_PEM, ORG_PEERS, VALID_AT, signCert, vector } from './vectors.js';
import { buildCert, der, extension, issue, name, subjectOf, toPem } from './x509-builder.js';

const orgCa = new X509Certificate(vector(ORG_CA_PEM));
const DAY = 24 * 3600 * 1000;

function read(bytes: Buffer): DerCertificate {
  const cert = readDerCertificate(bytes);
  assert.ok(cert, 'the reader declined');
  return cert;
}

/**
 * What OpenSSL's own checks decide for a leaf of the vectors' MSP at VALID_AT, as the MSP's OpenSSL
 * path makes them: not a CA, issued by and signed with the CA's key, within its validity.
 */
function opensslAccepts(x509: X509Certificate): boolean {
  const t = VALID_AT.getTime();
  return !x509.ca && x509.checkIssued(orgCa) && x509.verify(orgCa.publicKey) && t >= Date.parse(x509.validFrom) && t <= Date.parse(x509.validTo);
}

/** Whether the MSP validates the certificate at VALID_AT; a refusal must be an IdentityError. */
function mspAccepts(manager: MspManager, bytes: Buffer): boolean {
  try {
    manager.validate(serializeIdentity('Org1MSP', toPem(bytes)), VALID_AT);
    return true;
  } catch (err: unknown) {
    assert.ok(err instanceof IdentityError, `a typed refusal: ${String(err)}`);
    return false;
  }
}

/**
 * Whether OpenSSL calls the read certificate a CA (X509Certificate.ca): basicConstraints cA, and
 * a key usage, when there is one, that allows signing certificates.
 */
function caForOpenssl(cert: DerCertificate): boolean {
  return cert.isCa && cert.keyCertSign !== false;
}

/** The public key of a read certificate, as the MSP imports it. */
function keyOf(cert: DerCertificate): Buffer {
  return createPublicKey({ key: jwkOf(cert), format: 'jwk' }).export({ type: 'spki', format: 'der' });
}

describe('readDerCertificate', () => {
  it('reads the Fabric vectors as OpenSSL does', () => {
    for (const x509 of [orgCa, ...ORG_PEERS.map((dir) => new X509Certificate(signCert(dir)))]) {
      const cert = read(x509.raw);
      assert.equal(cert.notBefore, Date.parse(x509.validFrom));
      assert.equal(cert.notAfter, Date.parse(x509.validTo));
      assert.equal(cert.isCa, x509.ca);
      assert.equal(cert.curve, 'P-256');
      assert.ok(keyOf(cert).equals(x509.publicKey.export({ type: 'spki', format: 'der' })));
      assert.ok(cert.subject.equals(subjectOf(x509.raw)));
      assert.ok(verify(cert.signatureHash, cert.tbs, { key: orgCa.publicKey, dsaEncoding: 'der' }, cert.signature));
    }
    const ca = read(orgCa.raw);
    assert.equal(ca.keyCertSign, true);
    assert.ok(ca.subjectKeyId && read(new X509Certificate(signCert('peer0')).raw).authorityKeyId?.equals(ca.subjectKeyId));
  });

  it('reads P-384 keys and a subjectAltName of host names and addresses', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const san = der.seq(der.tlv(0x82, Buffer.from('peer0.example.com')), der.tlv(0x87, Buffer.from([127, 0, 0, 1])));
    const bytes = buildCert({
      subject: name([['CN', 'p384']]),
      issuer: name([['CN', 'p384']]),
      publicKey,
      signingKey: privateKey,
      notBefore: new Date('2020-01-01Z'),
      notAfter: new Date('2060-01-01Z'), // a GeneralizedTime
      extensions: [extension('2.5.29.17', false, san)],
    });
    const cert = read(bytes);
    assert.equal(cert.curve, 'P-384');
    assert.equal(cert.notAfter, Date.parse('2060-01-01Z'));
    assert.ok(keyOf(cert).equals(publicKey.export({ type: 'spki', format: 'der' })));
  });

  it('declines what is not strict DER', () => {
    const bytes = issue('leaf').der;
    assert.equal(readDerCertificate(Buffer.concat([bytes, Buffer.from([0])])), undefined, 'trailing byte');
    assert.equal(readDerCertificate(bytes.subarray(0, bytes.length - 1)), undefined, 'truncated');
    // The outer length in a longer form than needed (0x82 xx xx -> 0x83 00 xx xx).
    assert.equal(bytes[1], 0x82);
    const longForm = Buffer.concat([Buffer.from([0x30, 0x83, 0x00]), bytes.subarray(2)]);
    assert.equal(readDerCertificate(longForm), undefined, 'non-minimal length');
    const indefinite = Buffer.concat([Buffer.from([0x30, 0x80]), bytes.subarray(4), Buffer.from([0, 0])]);
    assert.equal(readDerCertificate(indefinite), undefined, 'indefinite length');
  });

  it('declines keys, names and extensions it does not read, which OpenSSL then judges', () => {
    assert.equal(readDerCertificate(issue('p521', { curve: 'secp521r1' }).der), undefined, 'P-521 key');
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const make = (extensions: Buffer[], subject = name([['CN', 'x']])): Buffer =>
      buildCert({ subject, issuer: subject, publicKey, signingKey: privateKey, notBefore: new Date(0), notAfter: new Date(), extensions });
    assert.ok(readDerCertificate(make([])), 'the plain certificate is read');
    assert.ok(readDerCertificate(make([extension('1.2.3.4.5.6.7.8.1', false, der.seq())])), 'a non-critical private extension');
    assert.equal(readDerCertificate(make([extension('1.2.3.4.5.6.7.8.1', true, der.seq())])), undefined, 'unknown critical');
    assert.equal(readDerCertificate(make([extension('2.5.29.31', false, der.seq())])), undefined, 'CRL distribution points');
    const otherName = der.seq(der.tlv(0xa0, Buffer.concat([der.oid('1.2.3'), der.tlv(0xa0, der.tlv(0x0c, Buffer.from('x')))])));
    assert.equal(readDerCertificate(make([extension('2.5.29.17', false, otherName)])), undefined, 'otherName SAN');
    const bmp = der.seq(der.set(der.seq(der.oid('2.5.4.3'), der.tlv(0x1e, Buffer.from([0, 0x78])))));
    assert.equal(readDerCertificate(make([], bmp)), undefined, 'BMPString name');
    const badUtf8 = der.seq(der.set(der.seq(der.oid('2.5.4.3'), der.tlv(0x0c, Buffer.from([0xc0, 0x80])))));
    assert.equal(readDerCertificate(make([], badUtf8)), undefined, 'invalid UTF-8');
    const twice = extension('2.5.29.14', false, der.tlv(0x04, Buffer.from([1])));
    assert.equal(readDerCertificate(make([twice, twice])), undefined, 'duplicate extension');
  });

  it('reads a key usage only in its DER form, and never calls a CA what OpenSSL does not', () => {
    // A CA (basicConstraints cA) whose key usage is the given BIT STRING content (unused-bit
    // count first). OpenSSL takes an empty key usage as an invalid certificate, hence no CA.
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const ca = (usage: number[]): Buffer =>
      buildCert({
        subject: name([['CN', 'ku']]),
        issuer: name([['CN', 'ku']]),
        publicKey,
        signingKey: privateKey,
        ca: true,
        notBefore: new Date(0),
        notAfter: new Date(),
        keyUsage: Buffer.from(usage),
      });
    const cases: Array<[string, number[], boolean | undefined]> = [
      ['keyCertSign and cRLSign', [0x01, 0x06], true],
      ['digitalSignature only', [0x07, 0x80], false],
      ['decipherOnly, in a second byte', [0x07, 0x00, 0x80], false],
      ['empty', [0x01, 0x00], undefined],
      ['no bits at all', [0x00], undefined],
      ['a set bit among the unused ones', [0x03, 0x04], undefined],
      ['trailing zero bits counted as used', [0x00, 0x04], undefined],
      ['three bytes of bits', [0x00, 0x04, 0x00, 0x01], undefined],
    ];
    for (const [what, usage, keyCertSign] of cases) {
      const bytes = ca(usage);
      const cert = readDerCertificate(bytes);
      assert.equal(cert?.keyCertSign, keyCertSign, what);
      if (cert) assert.equal(caForOpenssl(cert), new X509Certificate(bytes).ca, `${what}: OpenSSL's CA flag`);
    }
    assert.equal(new X509Certificate(ca([0x01, 0x00])).ca, false, 'OpenSSL: an empty key usage makes no CA');
  });
});

describe('MspManager with certificates read without OpenSSL', () => {
  const now = new Date();
  const root = issue('root', { ca: true });

  it('gives the same result as OpenSSL for the vectors, with the X509Certificate made on demand', () => {
    const manager = new MspManager([{ mspid: 'Org1MSP', rootCerts: [vector(ORG_CA_PEM)] }]);
    for (const dir of ORG_PEERS) {
      assert.ok(readDerCertificate(new X509Certificate(signCert(dir)).raw), `${dir} takes the reader's path`);
      const v = manager.validate(serializeIdentity('Org1MSP', signCert(dir)), VALID_AT);
      assert.ok(v.certificate.raw.equals(new X509Certificate(signCert(dir)).raw));
      assert.ok(v.publicKey.export({ type: 'spki', format: 'der' }).equals(v.certificate.publicKey.export({ type: 'spki', format: 'der' })));
      assert.equal(v.subject, `C=US, ST=California, L=San Francisco, OU=peer, CN=${dir}.org1.example.com`);
      assert.ok(Object.isFrozen(v));
    }
  });

  it('refuses a leaf whose authority key identifier is not its issuer\'s', () => {
    const caKey = createPrivateKey(vector('ca/priv_sk'));
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const otherKeyId = der.seq(der.tlv(0x80, Buffer.alloc(32, 7)));
    const bytes = buildCert({
      subject: name([['CN', 'akid.org1.example.com']]),
      issuer: subjectOf(orgCa.raw),
      publicKey,
      signingKey: caKey,
      notBefore: new Date(VALID_AT.getTime() - DAY),
      notAfter: new Date(VALID_AT.getTime() + DAY),
      extensions: [extension('2.5.29.35', false, otherKeyId)],
    });
    assert.ok(readDerCertificate(bytes));
    assert.equal(new X509Certificate(bytes).checkIssued(orgCa), false, 'OpenSSL refuses it too');
    const manager = new MspManager([{ mspid: 'Org1MSP', rootCerts: [vector(ORG_CA_PEM)] }]);
    assert.throws(() => manager.validate(serializeIdentity('Org1MSP', toPem(bytes)), VALID_AT), /cannot be validated/);
  });

  it('lets OpenSSL judge an issuer name that differs from the CA\'s only in case', () => {
    const caSubject = name([['O', 'builder.example.com'], ['CN', 'root']]);
    assert.ok(caSubject.equals(root.subject));
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const bytes = buildCert({
      subject: name([['CN', 'leaf']]),
      issuer: name([['O', 'Builder.Example.com'], ['CN', 'ROOT']]),
      publicKey,
      signingKey: root.privateKey,
      notBefore: new Date(now.getTime() - DAY),
      notAfter: new Date(now.getTime() + DAY),
    });
    const manager = new MspManager([{ mspid: 'OrgX', rootCerts: [root.pem] }]);
    const v = manager.validate(serializeIdentity('OrgX', toPem(bytes)), now);
    assert.equal(new X509Certificate(bytes).checkIssued(new X509Certificate(root.der)), true);
    assert.equal(v.subject, 'CN=leaf');
  });

  it('does not serve an identity from the cache once it has expired, nor before it is valid', () => {
    const leaf = issue('short', { issuer: root, notBefore: new Date(now.getTime() - DAY), notAfter: new Date(now.getTime() + DAY) });
    const manager = new MspManager([{ mspid: 'OrgX', rootCerts: [root.pem] }]);
    const id = serializeIdentity('OrgX', leaf.pem);
    assert.equal(manager.validate(id, now), manager.validate(id, now));
    const refused = (at: Date, pattern: RegExp): void =>
      assert.throws(() => manager.validate(id, at), (e: unknown) => e instanceof IdentityError && pattern.test(e.message));
    refused(new Date(now.getTime() + 2 * DAY), /expired on/);
    refused(new Date(now.getTime() - 2 * DAY), /not valid before/);
  });
});

describe('the reader path against OpenSSL, on generated leaves (property)', () => {
  // Leaves under the Fabric vectors' CA with random issuer names, key identifiers, extensions
  // and validity: whenever the MSP accepts one, OpenSSL's own checks (as the OpenSSL path makes
  // them: not a CA, issued by and signed with the CA's key, within validity) accept it too, and
  // the other way round.
  const caKey = createPrivateKey(vector('ca/priv_sk'));
  const caSubject = subjectOf(orgCa.raw);
  const caKeyId = (() => {
    const read = readDerCertificate(orgCa.raw);
    assert.ok(read?.subjectKeyId, 'the vectors CA has a subject key identifier');
    return read.subjectKeyId;
  })();
  const manager = new MspManager([{ mspid: 'Org1MSP', rootCerts: [vector(ORG_CA_PEM)] }]);
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const EXTRA: Array<(critical: boolean) => Buffer> = [
    (c) => extension('2.5.29.37', c, der.seq(der.oid('1.3.6.1.5.5.7.3.2'))), // extKeyUsage clientAuth
    (c) => extension('2.5.29.17', c, der.seq(der.tlv(0x82, Buffer.from('peer.example.com')))), // SAN dNSName
    (c) => extension('1.2.3.4.5', c, der.tlv(0x04, Buffer.from('opaque'))), // unknown, private
    (c) => extension('2.5.29.31', c, der.seq()), // CRL distribution points (interpreted by OpenSSL)
    (c) => extension('2.5.29.32', c, der.seq(der.seq(der.oid('2.5.29.32.0')))), // certificate policies
    (c) => extension('2.5.29.30', c, der.seq()), // name constraints (only meaningful on CAs)
  ];

  it('never accepts what OpenSSL refuses, nor refuses what it accepts', () => {
    const seen = { readAndAccepted: 0, declinedAndAccepted: 0, refused: 0 };
    fc.assert(
      fc.property(
        fc.record({
          ca: fc.boolean(),
          issuer: fc.constantFrom('ca', 'other', 'case'),
          akid: fc.constantFrom('none', 'match', 'other'),
          extras: fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: EXTRA.length - 1 }), fc.boolean()), {
            maxLength: 3,
            selector: ([i]) => i,
          }),
          from: fc.integer({ min: -3, max: 1 }),
          until: fc.integer({ min: -1, max: 3 }),
        }),
        (spec) => {
          const issuer =
            spec.issuer === 'ca'
              ? caSubject
              : spec.issuer === 'case'
                ? Buffer.from(caSubject.toString('latin1').replace('ca.org1', 'CA.org1'), 'latin1')
                : name([['CN', 'someone else']]);
          const akid =
            spec.akid === 'none'
              ? []
              : [extension('2.5.29.35', false, der.seq(der.tlv(0x80, spec.akid === 'match' ? caKeyId : Buffer.alloc(caKeyId.length, 9))))];
          const bytes = buildCert({
            subject: name([['CN', 'generated.org1.example.com']]),
            issuer,
            publicKey,
            signingKey: caKey,
            ca: spec.ca,
            notBefore: new Date(VALID_AT.getTime() + spec.from * DAY),
            notAfter: new Date(VALID_AT.getTime() + spec.until * DAY),
            extensions: [...akid, ...spec.extras.map(([i, critical]) => EXTRA[i]!(critical))],
          });
          const openssl = opensslAccepts(new X509Certificate(bytes));
          const accepted = mspAccepts(manager, bytes);
          if (!accepted) seen.refused++;
          else if (readDerCertificate(bytes)) seen.readAndAccepted++;
          else seen.declinedAndAccepted++;
          assert.equal(accepted, openssl, `MSP ${accepted ? 'accepted' : 'refused'}, OpenSSL ${openssl ? 'accepts' : 'refuses'}: ${JSON.stringify(spec)}`);
        },
      ),
      { numRuns: 300 },
    );
    // Both paths and refusals were exercised, or the property says little.
    for (const [what, n] of Object.entries(seen)) assert.ok(n > 0, `${what}: ${JSON.stringify(seen)}`);
  });
});

describe('the reader on corrupted certificates, against OpenSSL (property)', () => {
  // Real certificates (the vectors' CA and peers) with bytes flipped, inserted, removed or cut
  // off: the reader must never throw, and whatever it does read must be what OpenSSL reads from
  // the same bytes, and lead the MSP to OpenSSL's decision. A parser that read a different key,
  // name, validity or CA flag than OpenSSL would be a way around MSP validation.
  const originals = [orgCa.raw, ...ORG_PEERS.map((dir) => new X509Certificate(signCert(dir)).raw)];
  const manager = new MspManager([{ mspid: 'Org1MSP', rootCerts: [vector(ORG_CA_PEM)] }]);
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('add' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('length' as const), at: fc.nat(), value: fc.constantFrom(-1, 1, 0x80) }),
    fc.record({ kind: fc.constant('remove' as const), at: fc.nat(), value: fc.constant(0) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), value: fc.constant(0) }),
  );

  function attempt(f: () => string): string {
    try {
      return f();
    } catch {
      return 'does not decode';
    }
  }

  function mutate(bytes: Buffer, m: { kind: string; at: number; value: number }): Buffer {
    const out = Buffer.from(bytes);
    const at = m.at % out.length;
    switch (m.kind) {
      case 'set':
        out[at] = m.value;
        return out;
      case 'add':
        return Buffer.concat([out.subarray(0, at), Buffer.from([m.value]), out.subarray(at)]);
      case 'length':
        // Aimed at length bytes: the byte after a tag-like byte.
        out[at] = (out[at]! + m.value) & 0xff;
        return out;
      case 'remove':
        return Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
      default:
        return out.subarray(0, at);
    }
  }

  it('reads nothing OpenSSL reads otherwise, and the MSP decides as OpenSSL does', () => {
    const seen = { declined: 0, read: 0, opensslRefusesToParse: 0 };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: originals.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), (which, mutations) => {
        const bytes = mutations.reduce(mutate, originals[which]!);
        const cert = readDerCertificate(bytes); // must not throw
        let x509: X509Certificate | undefined;
        try {
          x509 = new X509Certificate(bytes);
        } catch {
          seen.opensslRefusesToParse++;
        }
        if (!cert) {
          seen.declined++;
          return;
        }
        seen.read++;
        assert.ok(x509, 'the reader read a certificate OpenSSL cannot parse');
        // A point off the curve: neither decodes it (the MSP then refuses through OpenSSL).
        const ours = attempt(() => keyOf(cert).toString('hex'));
        const theirs = attempt(() => x509.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'));
        assert.equal(ours, theirs, 'same public key');
        assert.equal(cert.notBefore, Date.parse(x509.validFrom));
        assert.equal(cert.notAfter, Date.parse(x509.validTo));
        assert.equal(caForOpenssl(cert), x509.ca);
        assert.ok(cert.subject.equals(subjectOf(x509.raw)), 'same subject');
        const signedByCa = verify(cert.signatureHash, cert.tbs, { key: orgCa.publicKey, dsaEncoding: 'der' }, cert.signature);
        assert.equal(signedByCa, x509.verify(orgCa.publicKey), 'same signature check');
        const openssl = opensslAccepts(x509);
        const accepted = mspAccepts(manager, bytes);
        assert.equal(accepted, openssl, `MSP ${accepted ? 'accepted' : 'refused'}, OpenSSL ${openssl ? 'accepts' : 'refuses'}`);
      }),
      { numRuns: 3000 },
    );
    // Mutations the reader still reads (e.g. in the signature) and ones it declines both occurred.
    assert.ok(seen.read > 0 && seen.declined > 0, JSON.stringify(seen));
  });
});
