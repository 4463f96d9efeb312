import {
  KeyObject,
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
} from 'node:crypto';
import { IdentityError, SignatureError } from '../errors.js';

/** The elliptic curves Fabric MSP identities use (P-256 in practice; P-384 is accepted). */
export type EcCurve = 'P-256' | 'P-384';

const ORDER: Record<EcCurve, bigint> = {
  'P-256': 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  'P-384':
    0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
};

/**
 * Produces signatures a Fabric peer accepts: ECDSA over SHA-256 of the data, DER-encoded,
 * always low-S. Implement it yourself to sign with an HSM or a remote signer; the contract is
 * the same (a high-S signature makes Fabric refuse the handshake).
 */
export interface Signer {
  /** The public half of the signing key; it must match the identity certificate's key. */
  readonly publicKey: KeyObject;
  /** Signs `data`; the result is a low-S DER ECDSA signature. */
  sign(data: Uint8Array): Buffer;
}

/** The curve order of `curve`. */
export function curveOrder(curve: EcCurve): bigint {
  return ORDER[curve];
}

/** The curve of an EC key, or undefined when the key is not ECDSA on P-256 or P-384. */
export function curveOf(key: KeyObject): EcCurve | undefined {
  if (key.asymmetricKeyType !== 'ec') return undefined;
  switch (key.asymmetricKeyDetails?.namedCurve) {
    case 'prime256v1':
    case 'P-256':
      return 'P-256';
    case 'secp384r1':
    case 'P-384':
      return 'P-384';
    default:
      return undefined;
  }
}

/**
 * Builds a Signer from an EC private key: PEM (PKCS#8 `PRIVATE KEY`, as Fabric writes `priv_sk`,
 * or SEC1 `EC PRIVATE KEY`), DER PKCS#8, or a KeyObject.
 * Throws IdentityError when the key cannot be read or is not ECDSA on P-256 or P-384.
 */
export function createSigner(privateKey: string | Buffer | KeyObject): Signer {
  let key: KeyObject;
  try {
    if (privateKey instanceof KeyObject) key = privateKey;
    else if (Buffer.isBuffer(privateKey) && privateKey[0] === 0x30) key = createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' });
    else key = createPrivateKey(privateKey);
  } catch (err) {
    throw new IdentityError(`cannot read the private key: ${errorMessage(err)}`, { cause: err });
  }
  if (key.type !== 'private') throw new IdentityError(`expected a private key, got a ${key.type} key`);
  const curve = curveOf(key);
  if (curve === undefined) {
    const details = key.asymmetricKeyDetails?.namedCurve ?? key.asymmetricKeyType ?? 'unknown';
    throw new IdentityError(`unsupported signing key (${details}): ECDSA on P-256 or P-384 is required`);
  }
  const publicKey = createPublicKey(key);
  return {
    publicKey,
    sign(data: Uint8Array): Buffer {
      // OpenSSL returns high-S about half the time; Fabric refuses those.
      return toLowS(cryptoSign('sha256', data, { key, dsaEncoding: 'der' }), curve);
    },
  };
}

/**
 * Checks `signature` is a valid low-S DER ECDSA signature by `publicKey` over SHA-256(`data`),
 * with the same rules as Fabric's BCCSP.
 * Throws SignatureError for an unsupported key, an empty or malformed signature, R or S out of
 * range, a high S ("Invalid S. Must be smaller than half the order"), or a signature that does
 * not verify.
 */
export function verifySignature(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): void {
  checkSignatureForm(publicKey, signature);
  let ok: boolean;
  try {
    ok = cryptoVerify('sha256', data, { key: publicKey, dsaEncoding: 'der' }, signature);
  } catch (err) {
    throw new SignatureError(`signature could not be checked: ${errorMessage(err)}`, { cause: err });
  }
  if (!ok) throw new SignatureError('signature does not verify');
}

/**
 * verifySignature with the ECDSA verification itself on libuv's threadpool, so the event loop
 * (and the other cores) keep working meanwhile. The same rules: the checks of the signature's
 * form throw SignatureError synchronously; a signature that does not verify rejects with one.
 */
export function verifySignatureAsync(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): Promise<void> {
  checkSignatureForm(publicKey, signature);
  return new Promise((resolve, reject) => {
    cryptoVerify('sha256', data, { key: publicKey, dsaEncoding: 'der' }, signature, (err, ok) => {
      if (err) reject(new SignatureError(`signature could not be checked: ${errorMessage(err)}`, { cause: err }));
      else if (!ok) reject(new SignatureError('signature does not verify'));
      else resolve();
    });
  });
}

/**
 * Fabric's checks before any ECDSA math: a supported key, a strict DER signature, R and S in
 * range, low S. Throws SignatureError. (verifySignature[Async] run them first; a verifier that
 * does the ECDSA math elsewhere, such as BatchVerifier, runs them on its caller's thread.)
 */
export function checkSignatureForm(publicKey: KeyObject, signature: Uint8Array): void {
  const curve = curveOf(publicKey);
  if (curve === undefined) {
    throw new SignatureError(
      `unsupported public key (${publicKey.asymmetricKeyType ?? 'unknown'}): ECDSA on P-256 or P-384 is required`,
    );
  }
  if (signature.length === 0) throw new SignatureError('empty signature');
  const { r, s } = derIntegers(signature);
  const { n, half } = ORDER_BYTES[curve];
  if (r.length === 0) throw new SignatureError('Invalid signature. R must be larger than zero');
  if (s.length === 0) throw new SignatureError('Invalid signature. S must be larger than zero');
  if (compareUnsigned(r, n) >= 0) throw new SignatureError('Invalid signature. R must be smaller than the curve order');
  if (compareUnsigned(s, half) > 0) throw new SignatureError('Invalid S. Must be smaller than half the order');
}

/**
 * Whether a DER ECDSA signature has S <= n/2 on `curve` (Fabric's definition of low-S).
 * Throws SignatureError when `der` is not a well-formed DER ECDSA signature.
 */
export function isLowS(der: Uint8Array, curve: EcCurve = 'P-256'): boolean {
  return compareUnsigned(derIntegers(der).s, ORDER_BYTES[curve].half) <= 0;
}

/**
 * Returns the low-S form of a DER ECDSA signature (S replaced by n - S when S > n/2), which
 * verifies exactly like the original. A signature already low-S is returned as a copy.
 * Throws SignatureError when `der` is not a well-formed DER ECDSA signature.
 */
export function toLowS(der: Uint8Array, curve: EcCurve = 'P-256'): Buffer {
  const { r, s } = derIntegers(der);
  const { n, half } = ORDER_BYTES[curve];
  if (compareUnsigned(s, half) <= 0) return Buffer.from(der);
  // Half of all signatures: n - S in bytes, and R re-used as it is (no BigInt on the signing path).
  const content = Buffer.concat([derIntegerOf(positiveBody(r)), derIntegerOf(positiveBody(subtractUnsigned(n, s)))]);
  return Buffer.concat([Buffer.from([0x30]), derLengthBytes(content.length), content]);
}

/** The body of a DER INTEGER holding the unsigned big-endian `bytes`: a 0 first if the top bit is set. */
function positiveBody(bytes: Uint8Array): Buffer {
  return bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : Buffer.from(bytes);
}

/** a - b for unsigned big-endian integers with a > b, without leading zero bytes. */
function subtractUnsigned(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = Buffer.alloc(a.length);
  let borrow = 0;
  for (let i = a.length - 1, j = b.length - 1; i >= 0; i--, j--) {
    let d = a[i]! - (j >= 0 ? b[j]! : 0) - borrow;
    borrow = d < 0 ? 1 : 0;
    if (d < 0) d += 256;
    out[i] = d;
  }
  let start = 0;
  while (start < out.length - 1 && out[start] === 0) start++;
  return out.subarray(start);
}

function derIntegerOf(body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x02]), derLengthBytes(body.length), body]);
}

/**
 * Decodes a DER `ECDSA-Sig-Value` (SEQUENCE of two INTEGERs), strictly: definite minimal
 * lengths, minimal non-negative integers, no trailing bytes.
 * Throws SignatureError naming what is malformed.
 */
export function parseDerSignature(der: Uint8Array): { r: bigint; s: bigint } {
  const { r, s } = derIntegers(der);
  return { r: toBigInt(r), s: toBigInt(s) };
}

/**
 * The big-endian bodies of R and S of a strictly DER-encoded signature (the checks of
 * parseDerSignature), without leading zero bytes. Comparing bytes spares the BigInt conversions
 * that made the form checks cost more than a tenth of an ECDSA verification.
 */
function derIntegers(der: Uint8Array): { r: Uint8Array; s: Uint8Array } {
  if (der.length === 0) throw malformed('empty');
  if (der[0] !== 0x30) throw malformed('not a SEQUENCE');
  const seq = readLength(der, 1);
  if (seq === undefined) throw malformed('invalid SEQUENCE length');
  if (seq.start + seq.length !== der.length) {
    throw malformed(seq.start + seq.length > der.length ? 'truncated' : 'trailing bytes after the SEQUENCE');
  }
  const r = readDerInteger(der, seq.start, 'R');
  const s = readDerInteger(der, r.next, 'S');
  if (s.next !== der.length) throw malformed('unexpected elements after S');
  return { r: r.body, s: s.body };
}

// derIntegers' helpers live out here: closures made on every call cost more than the parsing
// (a signature is parsed on every message signed or verified).
function malformed(why: string): SignatureError {
  return new SignatureError(`malformed DER signature: ${why}`);
}

function readDerInteger(der: Uint8Array, pos: number, name: string): { body: Uint8Array; next: number } {
  if (pos >= der.length || der[pos] !== 0x02) throw malformed(`${name} is not an INTEGER`);
  const len = readLength(der, pos + 1);
  if (len === undefined || len.length === 0) throw malformed(`invalid ${name} length`);
  const end = len.start + len.length;
  if (end > der.length) throw malformed('truncated');
  const body = der.subarray(len.start, end);
  if (body[0]! & 0x80) throw malformed(`${name} is negative`);
  if (body.length > 1 && body[0] === 0 && (body[1]! & 0x80) === 0) throw malformed(`${name} is not minimally encoded`);
  return { body: body[0] === 0 ? body.subarray(1) : body, next: end };
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt('0x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex'));
}

/** Compares two unsigned big-endian integers without leading zero bytes. */
function compareUnsigned(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

function unsignedBytes(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  return Buffer.from(hex, 'hex');
}

/** The curve order and half of it, as bytes, for the form checks. */
const ORDER_BYTES: Record<EcCurve, { n: Buffer; half: Buffer }> = {
  'P-256': { n: unsignedBytes(ORDER['P-256']), half: unsignedBytes(ORDER['P-256'] >> 1n) },
  'P-384': { n: unsignedBytes(ORDER['P-384']), half: unsignedBytes(ORDER['P-384'] >> 1n) },
};

/** Encodes R and S (positive) as a DER `ECDSA-Sig-Value`, minimally. */
export function encodeDerSignature(r: bigint, s: bigint): Buffer {
  const content = Buffer.concat([derInteger(r), derInteger(s)]);
  return Buffer.concat([Buffer.from([0x30]), derLengthBytes(content.length), content]);
}

function derInteger(value: bigint): Buffer {
  if (value < 0n) throw new RangeError('ECDSA signature integers are non-negative');
  let hex = value.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let body = Buffer.from(hex, 'hex');
  // A set high bit would read as negative: DER needs a leading zero byte then.
  if (body[0]! & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return Buffer.concat([Buffer.from([0x02]), derLengthBytes(body.length), body]);
}

function derLengthBytes(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let l = length; l > 0; l = Math.floor(l / 256)) bytes.unshift(l & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Reads a strict-DER length at `pos`; undefined when it is indefinite, non-minimal or cut short. */
function readLength(der: Uint8Array, pos: number): { length: number; start: number } | undefined {
  if (pos >= der.length) return undefined;
  const first = der[pos]!;
  if (first < 0x80) return { length: first, start: pos + 1 };
  const n = first & 0x7f;
  if (n === 0 || n > 2 || pos + 1 + n > der.length) return undefined;
  let length = 0;
  for (let i = 0; i < n; i++) length = length * 256 + der[pos + 1 + i]!;
  if (length < 0x80 || der[pos + 1] === 0) return undefined;
  return { length, start: pos + 1 + n };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
