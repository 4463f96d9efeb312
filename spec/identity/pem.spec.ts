import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { IdentityError } from '../../lib/errors.js';
import { decodeCertificateBundle, decodeCertificatePem, derLength, encodeCertificatePem } from '../../lib/identity/pem.js';
import { ORG_CA_PEM, ORG_PEERS, signCert, vector } from './vectors.js';

const pem = signCert('peer0');
const der = new X509Certificate(pem).raw;
const refuses = (bytes: Uint8Array, pattern: RegExp): void =>
  assert.throws(() => decodeCertificatePem(bytes), (e: unknown) => e instanceof IdentityError && pattern.test(e.message));

describe('decodeCertificatePem', () => {
  it('decodes the vector PEM files, which end with exactly one newline after the END line', () => {
    for (const dir of ORG_PEERS) {
      const file = signCert(dir);
      assert.ok(file.subarray(-27).equals(Buffer.from('\n-----END CERTIFICATE-----\n')));
      assert.ok(decodeCertificatePem(file).equals(new X509Certificate(file).raw));
    }
  });

  it('refuses trailing bytes, even a single extra newline', () => {
    refuses(Buffer.concat([pem, Buffer.from('\n')]), /has trailing bytes: 1 byte/);
    refuses(Buffer.concat([pem, Buffer.from(' ')]), /has trailing bytes/);
    refuses(Buffer.concat([pem, pem]), /has trailing bytes/);
    refuses(Buffer.concat([pem, Buffer.from('junk')]), /has trailing bytes/);
  });

  it('accepts what Go pem.Decode consumes whole: no final newline, CRLF, spaces on the END line', () => {
    assert.ok(decodeCertificatePem(pem.subarray(0, -1)).equals(der));
    assert.ok(decodeCertificatePem(Buffer.from(pem.toString().replace(/\n/g, '\r\n'))).equals(der));
    assert.ok(decodeCertificatePem(Buffer.from(pem.toString().replace(/-----\n$/, '----- \t\n'))).equals(der));
  });

  it('refuses leading bytes, other block types, bad base64 and DER with trailing data', () => {
    refuses(Buffer.concat([Buffer.from('\n'), pem]), /not a PEM certificate/);
    refuses(Buffer.from(pem.toString().replace(/CERTIFICATE/g, 'PUBLIC KEY')), /not a PEM certificate/);
    refuses(Buffer.from(pem.toString().replace('-----END CERTIFICATE-----', '-----END CERT-----')), /no "-----END CERTIFICATE-----"/);
    refuses(Buffer.from(pem.toString().replace('MII', 'M*I')), /not valid base64/);
    refuses(Buffer.from(pem.toString().replace('-----\nMII', '-----\nProc-Type: 4,ENCRYPTED\nMII')), /not valid base64/);
    refuses(encodeCertificatePem(Buffer.concat([der, Buffer.from([0, 0])])), /trailing data after the DER/);
    refuses(encodeCertificatePem(Buffer.from([0x02, 0x01, 0x01])), /not a DER SEQUENCE/);
  });
});

describe('encodeCertificatePem', () => {
  it('writes the vectors byte for byte (they are canonical Go PEM)', () => {
    for (const dir of ORG_PEERS) {
      const file = signCert(dir);
      assert.ok(encodeCertificatePem(new X509Certificate(file).raw).equals(file));
    }
  });
});

describe('decodeCertificateBundle', () => {
  const ca = vector(ORG_CA_PEM);
  it('reads one or more certificates separated by whitespace, keeping each PEM text', () => {
    const blocks = decodeCertificateBundle(Buffer.concat([ca, Buffer.from('\n\n'), pem]));
    assert.equal(blocks.length, 2);
    assert.ok(blocks[0]!.pem.equals(ca));
    assert.ok(blocks[1]!.pem.equals(pem));
    assert.ok(blocks[1]!.der.equals(der));
  });

  it('accepts a bare DER certificate and strings', () => {
    assert.ok(decodeCertificateBundle(der)[0]!.der.equals(der));
    assert.ok(decodeCertificateBundle(pem.toString())[0]!.der.equals(der));
  });

  it('refuses empty input, non-certificates, and junk between certificates', () => {
    assert.throws(() => decodeCertificateBundle(''), /empty/);
    assert.throws(() => decodeCertificateBundle(vector('ca/priv_sk')), /not a PEM certificate/);
    assert.throws(() => decodeCertificateBundle(Buffer.concat([ca, Buffer.from('junk\n'), pem])), /unexpected bytes/);
  });
});

describe('derLength', () => {
  it('reads short and long form lengths, refusing non-minimal ones', () => {
    assert.equal(derLength(der), der.length);
    assert.equal(derLength(Buffer.from([0x30, 0x03, 1, 2, 3])), 5);
    assert.equal(derLength(Buffer.from([0x30, 0x81, 0x05])), undefined);
    assert.equal(derLength(Buffer.from([0x31, 0x00])), undefined);
  });
});
