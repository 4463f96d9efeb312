import { createPrivateKey, createPublicKey, webcrypto, type KeyObject } from 'node:crypto';
import type { X509CertificateGenerator } from './x509.js';

/** A WebCrypto key, as Node's `webcrypto` hands it out (what @peculiar/x509 signs with). */
export type WebCryptoKey = webcrypto.CryptoKey;

/**
 * Node's WebCrypto, typed as the provider @peculiar/x509 takes. We pass it explicitly rather
 * than calling `cryptoProvider.set`, which would change a process-wide default behind other
 * modules' backs. (The cast bridges Node's `webcrypto` typings and the DOM ones x509 declares.)
 */
export const X509_CRYPTO = webcrypto as unknown as NonNullable<Parameters<typeof X509CertificateGenerator.create>[1]>;

/**
 * The only curve Fabric's default BCCSP (SW, security level 256) issues and accepts for
 * cryptogen material; certificates signed with it use ecdsa-with-SHA256.
 */
export const P256: webcrypto.EcKeyImportParams = { name: 'ECDSA', namedCurve: 'P-256' };

/** A freshly generated (or imported) P-256 key: the WebCrypto handles plus the PEM to write. */
export interface P256Key {
  readonly privateKey: WebCryptoKey;
  readonly publicKey: WebCryptoKey;
  /** PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), the format cryptogen writes to `priv_sk`. */
  readonly privateKeyPem: string;
}

/**
 * Generates a P-256 key pair. WebCrypto does the work on libuv's thread pool, so callers can
 * generate many keys concurrently without blocking the event loop.
 */
export async function generateP256Key(): Promise<P256Key> {
  const pair = await webcrypto.subtle.generateKey(P256, true, ['sign', 'verify']);
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', pair.privateKey));
  // Re-exporting through a KeyObject gives the same PEM (64-column base64, trailing newline)
  // that the rest of Node and OpenSSL produce, instead of a hand-rolled wrapper.
  const privateKeyPem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
    .export({ type: 'pkcs8', format: 'pem' })
    .toString();
  return { privateKey: pair.privateKey, publicKey: pair.publicKey, privateKeyPem };
}

/**
 * Imports an existing P-256 private key (PKCS#8 or SEC1 PEM: older tooling writes
 * "EC PRIVATE KEY") for signing, and normalises its PEM to PKCS#8 so that a reused CA's
 * `priv_sk` has the same format as a generated one.
 * @throws TypeError when the PEM is not an EC private key on P-256.
 */
export async function importP256PrivateKey(pem: string): Promise<P256Key> {
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(pem);
  } catch (cause) {
    throw new TypeError('not a PEM private key', { cause });
  }
  const curve = keyObject.asymmetricKeyDetails?.namedCurve;
  if (keyObject.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
    throw new TypeError(
      `expected an EC P-256 private key, got ${keyObject.asymmetricKeyType ?? 'unknown'}${curve ? ` (${curve})` : ''}`,
    );
  }
  const pkcs8 = keyObject.export({ type: 'pkcs8', format: 'der' });
  const spki = createPublicKey(keyObject).export({ type: 'spki', format: 'der' });
  const [privateKey, publicKey] = await Promise.all([
    webcrypto.subtle.importKey('pkcs8', pkcs8, P256, false, ['sign']),
    webcrypto.subtle.importKey('spki', spki, P256, true, ['verify']),
  ]);
  return {
    privateKey,
    publicKey,
    privateKeyPem: keyObject.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/**
 * The key identifier cryptogen puts in SubjectKeyIdentifier (and so in its leaves'
 * AuthorityKeyIdentifier): SHA-256 of the uncompressed EC point, 32 bytes — not RFC 5280's
 * SHA-1 method, which is what @peculiar/x509's `SubjectKeyIdentifierExtension.create` uses.
 * Fabric's MSP looks keys up by this SKI, so it must match what Fabric would compute.
 * @returns the identifier as lowercase hex.
 */
export async function fabricKeyId(publicKey: WebCryptoKey): Promise<string> {
  const point = await webcrypto.subtle.exportKey('raw', publicKey);
  const digest = await webcrypto.subtle.digest('SHA-256', point);
  return Buffer.from(digest).toString('hex');
}
