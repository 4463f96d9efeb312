import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { IdentityError, SignatureError } from '../../lib/errors.js';
import {
  createSigner,
  curveOf,
  curveOrder,
  encodeDerSignature,
  isLowS,
  parseDerSignature,
  toLowS,
  verifySignature,
} from '../../lib/identity/signer.js';
import { node, signCert, vector } from './vectors.js';

const N256 = curveOrder('P-256');
const N384 = curveOrder('P-384');
const peer0Key = vector(node('peer0').sign_key_pem);
const peer0Cert = new X509Certificate(signCert('peer0'));
const verifyDer = (key: X509Certificate['publicKey'], data: Uint8Array, sig: Uint8Array): boolean =>
  verify('sha256', data, { key, dsaEncoding: 'der' }, sig);

/** The same signature with S replaced by n - S: still valid for OpenSSL, refused by Fabric. */
function flipS(der: Uint8Array, n = N256): Buffer {
  const { r, s } = parseDerSignature(der);
  return encodeDerSignature(r, n - s);
}

describe('createSigner', () => {
  it('signs with the key of the peer certificate (Fabric priv_sk, PKCS#8)', () => {
    const signer = createSigner(peer0Key);
    assert.ok(
      signer.publicKey.export({ type: 'spki', format: 'der' }).equals(peer0Cert.publicKey.export({ type: 'spki', format: 'der' })),
    );
    const data = Buffer.from('gossip');
    assert.equal(verifyDer(peer0Cert.publicKey, data, signer.sign(data)), true);
  });

  it('produces 300 signatures that are all low-S and verify with node crypto', () => {
    const signer = createSigner(peer0Key);
    for (let i = 0; i < 300; i++) {
      const data = randomBytes(1 + (i % 97));
      const sig = signer.sign(data);
      assert.equal(isLowS(sig), true, `signature ${i} is high-S`);
      assert.ok(parseDerSignature(sig).s <= N256 / 2n);
      assert.equal(verifyDer(peer0Cert.publicKey, data, sig), true, `signature ${i} does not verify`);
      verifySignature(signer.publicKey, data, sig);
    }
  });

  it('normalises: raw OpenSSL signatures are often high-S, and toLowS keeps them valid', () => {
    const key = createPrivateKey(peer0Key);
    let high = 0;
    for (let i = 0; i < 64; i++) {
      const data = randomBytes(32);
      const raw = sign('sha256', data, key);
      if (isLowS(raw)) {
        assert.deepEqual(toLowS(raw), raw, 'a low-S signature is returned unchanged');
        continue;
      }
      high++;
      const low = toLowS(raw);
      assert.notDeepEqual(low, raw);
      assert.equal(isLowS(low), true);
      assert.equal(parseDerSignature(low).s, N256 - parseDerSignature(raw).s);
      assert.deepEqual(low, flipS(raw), 'the minimal DER of (R, n - S), as encodeDerSignature writes it');
      assert.equal(verifyDer(peer0Cert.publicKey, data, low), true);
    }
    assert.ok(high > 0, 'expected some high-S signatures from crypto.sign in 64 tries');
  });

  it('accepts SEC1 PEM, DER PKCS#8 and KeyObject keys', () => {
    const key = createPrivateKey(peer0Key);
    const data = Buffer.from('x');
    for (const input of [
      key.export({ type: 'sec1', format: 'pem' }),
      key.export({ type: 'pkcs8', format: 'der' }),
      key,
      peer0Key.toString('utf8'),
    ]) {
      const sig = createSigner(input).sign(data);
      assert.equal(verifyDer(peer0Cert.publicKey, data, sig), true);
    }
  });

  it('signs with P-384 keys, low-S against the P-384 order', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const signer = createSigner(privateKey);
    assert.equal(curveOf(signer.publicKey), 'P-384');
    let wouldBeHighOnP384 = 0;
    for (let i = 0; i < 100; i++) {
      const data = randomBytes(16);
      const sig = signer.sign(data);
      assert.equal(isLowS(sig, 'P-384'), true);
      assert.equal(verifyDer(publicKey, data, sig), true);
      verifySignature(publicKey, data, sig);
      // A P-384 S is usually far above the P-256 half order: the right order must be used.
      if (!isLowS(sig, 'P-256')) wouldBeHighOnP384++;
      // n - S with the P-384 order is still a valid signature: the order constant is right.
      const flipped = flipS(sig, N384);
      assert.equal(verifyDer(publicKey, data, flipped), true);
      assert.throws(() => verifySignature(publicKey, data, flipped), /Invalid S/);
    }
    assert.ok(wouldBeHighOnP384 > 50);
  });

  it('refuses keys that are not ECDSA P-256 / P-384, and unreadable keys', () => {
    for (const key of [
      generateKeyPairSync('ed25519').privateKey,
      generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).privateKey,
      generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey,
    ]) {
      assert.throws(() => createSigner(key), (err: unknown) => err instanceof IdentityError && /unsupported/.test(err.message));
    }
    assert.throws(() => createSigner('not a key'), IdentityError);
    assert.throws(() => createSigner(peer0Cert.publicKey), /expected a private key/);
  });
});

describe('verifySignature', () => {
  const signer = createSigner(peer0Key);
  const data = Buffer.from('the payload');
  const good = signer.sign(data);
  const refuses = (sig: Uint8Array, pattern: RegExp, message = data): void => {
    assert.throws(
      () => verifySignature(peer0Cert.publicKey, message, sig),
      (err: unknown) => err instanceof SignatureError && pattern.test(err.message),
    );
  };

  it('accepts a good signature', () => {
    verifySignature(peer0Cert.publicKey, data, good);
  });

  it('refuses the high-S twin of a valid signature, which OpenSSL itself accepts', () => {
    for (let i = 0; i < 20; i++) {
      const d = randomBytes(20);
      const high = flipS(signer.sign(d));
      assert.equal(isLowS(high), false);
      assert.equal(verifyDer(peer0Cert.publicKey, d, high), true);
      refuses(high, /^Invalid S\. Must be smaller than half the order/, d);
    }
  });

  it('refuses empty, garbage and truncated signatures', () => {
    refuses(new Uint8Array(0), /empty signature/);
    refuses(Buffer.from('garbage garbage garbage'), /malformed DER/);
    refuses(randomBytes(70), /malformed DER/);
    refuses(good.subarray(0, good.length - 1), /malformed DER/);
    refuses(good.subarray(0, 10), /malformed DER/);
    refuses(Buffer.concat([good, Buffer.from([0])]), /malformed DER/);
  });

  it('refuses non-minimal and negative integers', () => {
    const { r, s } = parseDerSignature(good);
    const rBytes = Buffer.from(r.toString(16).padStart(64, '0'), 'hex');
    const sBytes = Buffer.from(s.toString(16).padStart(64, '0'), 'hex');
    const int = (b: Buffer): Buffer => Buffer.concat([Buffer.from([0x02, b.length]), b]);
    const sq = (c: Buffer): Buffer => Buffer.concat([Buffer.from([0x30, c.length]), c]);
    // R padded with two zero bytes: same value, not DER.
    refuses(sq(Buffer.concat([int(Buffer.concat([Buffer.from([0, 0]), rBytes])), int(sBytes)])), /not minimally encoded/);
    // R with the high bit set and no zero byte reads as negative.
    refuses(sq(Buffer.concat([int(Buffer.from([0x80, ...rBytes.subarray(1)])), int(sBytes)])), /negative/);
  });

  it('refuses R or S of zero', () => {
    refuses(encodeDerSignature(0n, 5n), /R must be larger than zero/);
    refuses(encodeDerSignature(5n, 0n), /S must be larger than zero/);
  });

  it('refuses a signature over different data, or by another key', () => {
    refuses(good, /does not verify/, Buffer.from('the payloaD'));
    const other = createSigner(vector(node('peer1').sign_key_pem)).sign(data);
    refuses(other, /does not verify/);
  });

  it('refuses an unsupported public key', () => {
    assert.throws(() => verifySignature(generateKeyPairSync('ed25519').publicKey, data, good), SignatureError);
  });
});

describe('DER signature encoding', () => {
  it('encodes minimally, with a leading zero byte when the high bit is set', () => {
    const high = 0x80n << 248n; // 32 bytes, top bit set
    const der = encodeDerSignature(high, 1n);
    assert.deepEqual([...der.subarray(0, 5)], [0x30, 2 + 33 + 3, 0x02, 33, 0x00]);
    assert.deepEqual([...der.subarray(2 + 2 + 33)], [0x02, 0x01, 0x01]);
    assert.deepEqual(parseDerSignature(der), { r: high, s: 1n });
    const small = encodeDerSignature(0x7fn, 0x80n);
    assert.equal(small.toString('hex'), '300702017f02020080');
  });

  it('round-trips random values', () => {
    for (let i = 0; i < 200; i++) {
      const r = BigInt('0x' + randomBytes(1 + (i % 48)).toString('hex')) + 1n;
      const s = BigInt('0x' + randomBytes(1 + ((i * 7) % 48)).toString('hex')) + 1n;
      assert.deepEqual(parseDerSignature(encodeDerSignature(r, s)), { r, s });
    }
  });

  it('isLowS is true exactly up to n/2', () => {
    assert.equal(isLowS(encodeDerSignature(1n, N256 / 2n)), true);
    assert.equal(isLowS(encodeDerSignature(1n, N256 / 2n + 1n)), false);
    assert.equal(isLowS(encodeDerSignature(1n, N384 / 2n), 'P-384'), true);
    assert.equal(isLowS(encodeDerSignature(1n, N384 / 2n + 1n), 'P-384'), false);
    assert.equal(toLowS(encodeDerSignature(7n, N256 - 3n)).equals(encodeDerSignature(7n, 3n)), true);
  });
});
