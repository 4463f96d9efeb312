import { isUtf8 } from 'node:buffer';
import { derElement, type DerElement } from './der-element.js';
import type { EcCurve } from './signer.js';

/**
 * An X.509 certificate read straight from its DER, without OpenSSL: the fields MSP validation
 * needs, for the shape Fabric identities and CAs have (version 3, an ECDSA key on P-256 or
 * P-384, an ECDSA signature, a few well-known extensions).
 *
 * Why: node's X509Certificate spends most of its time (about 170 µs here, more than the ECDSA
 * check of the handshake) in OpenSSL 3's generic key decoder, and a server accepting peers it
 * has never seen pays it once per peer.
 *
 * Strict by design: `readDerCertificate` returns undefined for anything it does not fully
 * understand or that OpenSSL could judge differently (non-minimal DER, other key or signature
 * types, unknown critical extensions, extensions OpenSSL interprets that are not read here,
 * unusual name string types, ...). The caller then takes the OpenSSL path, which stays the
 * reference: this reader may only decline, never accept what OpenSSL would refuse.
 *
 * Its Buffers are views into the DER it was given.
 */
export interface DerCertificate {
  /** The signed part (TBSCertificate), as encoded. */
  readonly tbs: Buffer;
  /** Hash of the ECDSA signature algorithm (ecdsa-with-SHA256/384/512). */
  readonly signatureHash: 'sha256' | 'sha384' | 'sha512';
  /** The DER ECDSA signature over `tbs`. */
  readonly signature: Buffer;
  /** DER of the issuer Name (checked as `looseName` reads names). */
  readonly issuer: Buffer;
  /** DER of the subject Name. */
  readonly subject: Buffer;
  /** Validity, ms since the epoch (seconds precision, as OpenSSL prints it). */
  readonly notBefore: number;
  readonly notAfter: number;
  readonly curve: EcCurve;
  /** The uncompressed EC point (0x04 || X || Y). */
  readonly point: Buffer;
  /** basicConstraints cA. */
  readonly isCa: boolean;
  /** Whether keyUsage allows keyCertSign; undefined when there is no keyUsage extension. */
  readonly keyCertSign: boolean | undefined;
  readonly subjectKeyId: Buffer | undefined;
  readonly authorityKeyId: Buffer | undefined;
}

// OID contents (hex), as encoded inside the OBJECT IDENTIFIER.
const EC_PUBLIC_KEY = '2a8648ce3d0201';
const CURVES: Readonly<Record<string, { curve: EcCurve; pointLength: number }>> = {
  '2a8648ce3d030107': { curve: 'P-256', pointLength: 65 },
  '2b81040022': { curve: 'P-384', pointLength: 97 },
};
const SIGNATURE_HASHES: Readonly<Record<string, DerCertificate['signatureHash']>> = {
  '2a8648ce3d040302': 'sha256',
  '2a8648ce3d040303': 'sha384',
  '2a8648ce3d040304': 'sha512',
};
const BASIC_CONSTRAINTS = '551d13';
const KEY_USAGE = '551d0f';
const EXT_KEY_USAGE = '551d25';
const SUBJECT_KEY_ID = '551d0e';
const AUTHORITY_KEY_ID = '551d23';
const SUBJECT_ALT_NAME = '551d11';
/**
 * Extension families OpenSSL interprets when it checks issuance (2.5.29.*, PKIX private
 * extensions 1.3.6.1.5.5.7.1.*, Netscape 2.16.840.1.113730.1.*): those not read above make the
 * reader decline, since OpenSSL could find them invalid.
 */
const INTERPRETED_FAMILIES = ['551d', '2b060105050701', '6086480186f842'];

const TAG_BOOLEAN = 0x01;
const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_OCTET_STRING = 0x04;
const TAG_OID = 0x06;
const TAG_UTF8_STRING = 0x0c;
const TAG_PRINTABLE_STRING = 0x13;
const TAG_IA5_STRING = 0x16;
const TAG_UTC_TIME = 0x17;
const TAG_GENERALIZED_TIME = 0x18;
const TAG_SEQUENCE = 0x30;
const TAG_SET = 0x31;

/** Thrown inside the reader for anything it declines; never leaves this module. */
class Decline extends Error {}

/** The public key of a read certificate as a JWK: importing it skips OpenSSL's generic key decoder. */
export function jwkOf(cert: DerCertificate): { kty: 'EC'; crv: string; x: string; y: string } {
  const size = (cert.point.length - 1) / 2;
  return {
    kty: 'EC',
    crv: cert.curve,
    x: cert.point.subarray(1, 1 + size).toString('base64url'),
    y: cert.point.subarray(1 + size).toString('base64url'),
  };
}

/**
 * Reads a certificate's DER. Returns undefined when it is not of the shape described on
 * DerCertificate or not strictly valid DER: the caller must then use OpenSSL.
 */
export function readDerCertificate(der: Uint8Array): DerCertificate | undefined {
  try {
    return read(Buffer.from(der.buffer, der.byteOffset, der.byteLength));
  } catch (err: unknown) {
    if (err instanceof Decline) return undefined;
    throw err;
  }
}

function read(buf: Buffer): DerCertificate {
  const cert = element(buf, 0, buf.length, TAG_SEQUENCE);
  if (cert.end !== buf.length) decline();
  const tbsElement = element(buf, cert.content, cert.end, TAG_SEQUENCE);
  const outerAlgorithm = element(buf, tbsElement.end, cert.end, TAG_SEQUENCE);
  const signatureBits = element(buf, outerAlgorithm.end, cert.end, TAG_BIT_STRING);
  if (signatureBits.end !== cert.end) decline();
  const signature = bitStringBytes(buf, signatureBits);

  let pos = tbsElement.content;
  const end = tbsElement.end;
  // version [0] EXPLICIT INTEGER: v3 only (extensions need it).
  const version = element(buf, pos, end, 0xa0);
  const versionInteger = element(buf, version.content, version.end, TAG_INTEGER);
  if (versionInteger.end !== version.end || versionInteger.end - versionInteger.content !== 1 || buf[versionInteger.content] !== 2) {
    decline();
  }
  const serial = element(buf, version.end, end, TAG_INTEGER);
  checkInteger(buf, serial);
  const algorithm = element(buf, serial.end, end, TAG_SEQUENCE);
  const algorithmBytes = buf.subarray(algorithm.start, algorithm.end);
  if (!algorithmBytes.equals(buf.subarray(outerAlgorithm.start, outerAlgorithm.end))) decline();
  const algorithmOid = element(buf, algorithm.content, algorithm.end, TAG_OID);
  // ECDSA algorithm identifiers have no parameters.
  if (algorithmOid.end !== algorithm.end) decline();
  const signatureHash = SIGNATURE_HASHES[oidHex(buf, algorithmOid)];
  if (signatureHash === undefined) decline();

  const issuer = element(buf, algorithm.end, end, TAG_SEQUENCE);
  checkName(buf, issuer);
  const validity = element(buf, issuer.end, end, TAG_SEQUENCE);
  const notBeforeElement = element(buf, validity.content, validity.end);
  const notAfterElement = element(buf, notBeforeElement.end, validity.end);
  if (notAfterElement.end !== validity.end) decline();
  const notBefore = time(buf, notBeforeElement);
  const notAfter = time(buf, notAfterElement);
  const subject = element(buf, validity.end, end, TAG_SEQUENCE);
  checkName(buf, subject);

  const spki = element(buf, subject.end, end, TAG_SEQUENCE);
  const keyAlgorithm = element(buf, spki.content, spki.end, TAG_SEQUENCE);
  const keyType = element(buf, keyAlgorithm.content, keyAlgorithm.end, TAG_OID);
  const curveOid = element(buf, keyType.end, keyAlgorithm.end, TAG_OID);
  if (curveOid.end !== keyAlgorithm.end || oidHex(buf, keyType) !== EC_PUBLIC_KEY) decline();
  const curve = CURVES[oidHex(buf, curveOid)];
  if (curve === undefined) decline();
  const keyBits = element(buf, keyAlgorithm.end, spki.end, TAG_BIT_STRING);
  if (keyBits.end !== spki.end) decline();
  const point = bitStringBytes(buf, keyBits);
  if (point.length !== curve.pointLength || point[0] !== 0x04) decline();

  pos = spki.end;
  let isCa = false;
  let keyCertSign: boolean | undefined;
  let subjectKeyId: Buffer | undefined;
  let authorityKeyId: Buffer | undefined;
  if (pos < end) {
    // issuerUniqueID [1] and subjectUniqueID [2] are declined (tag 0x81/0x82 fails here).
    const wrapper = element(buf, pos, end, 0xa3);
    const list = element(buf, wrapper.content, wrapper.end, TAG_SEQUENCE);
    if (list.end !== wrapper.end || list.content === list.end) decline();
    const seen = new Set<string>();
    for (let at = list.content; at < list.end; ) {
      const extension = element(buf, at, list.end, TAG_SEQUENCE);
      at = extension.end;
      const oid = element(buf, extension.content, extension.end, TAG_OID);
      const id = oidHex(buf, oid);
      if (seen.has(id)) decline();
      seen.add(id);
      let valueStart = oid.end;
      let critical = false;
      if (buf[valueStart] === TAG_BOOLEAN) {
        const flag = element(buf, valueStart, extension.end, TAG_BOOLEAN);
        // DER: the default (FALSE) is never encoded, TRUE is 0xff.
        if (flag.end - flag.content !== 1 || buf[flag.content] !== 0xff) decline();
        critical = true;
        valueStart = flag.end;
      }
      const value = element(buf, valueStart, extension.end, TAG_OCTET_STRING);
      if (value.end !== extension.end) decline();
      switch (id) {
        case BASIC_CONSTRAINTS:
          isCa = basicConstraints(buf, value);
          break;
        case KEY_USAGE:
          keyCertSign = keyUsage(buf, value);
          break;
        case EXT_KEY_USAGE:
          extKeyUsage(buf, value);
          break;
        case SUBJECT_KEY_ID: {
          const keyId = element(buf, value.content, value.end, TAG_OCTET_STRING);
          if (keyId.end !== value.end) decline();
          subjectKeyId = buf.subarray(keyId.content, keyId.end);
          break;
        }
        case AUTHORITY_KEY_ID:
          authorityKeyId = authorityKeyIdentifier(buf, value);
          break;
        case SUBJECT_ALT_NAME:
          subjectAltName(buf, value);
          break;
        default:
          if (critical || INTERPRETED_FAMILIES.some((family) => id.startsWith(family))) decline();
      }
    }
    pos = wrapper.end;
  }
  if (pos !== end) decline();

  // Views into `der`: a certificate is read to be checked, then dropped.
  return {
    tbs: buf.subarray(tbsElement.start, tbsElement.end),
    signatureHash,
    signature,
    issuer: buf.subarray(issuer.start, issuer.end),
    subject: buf.subarray(subject.start, subject.end),
    notBefore,
    notAfter,
    curve: curve.curve,
    point,
    isCa,
    keyCertSign,
    subjectKeyId,
    authorityKeyId,
  };
}

function decline(): never {
  throw new Decline();
}

/** The element at `pos` (before `limit`), with the expected tag if given (see derElement). */
function element(buf: Buffer, pos: number, limit: number, tag?: number): DerElement {
  return derElement(buf, pos, limit, tag) ?? decline();
}

/** An INTEGER in minimal two's-complement form. */
function checkInteger(buf: Buffer, e: DerElement): void {
  const length = e.end - e.content;
  if (length === 0) decline();
  if (length > 1) {
    const first = buf[e.content]!;
    const second = buf[e.content + 1]!;
    if ((first === 0x00 && (second & 0x80) === 0) || (first === 0xff && (second & 0x80) !== 0)) decline();
  }
}

/** A non-negative INTEGER. */
function checkNonNegativeInteger(buf: Buffer, e: DerElement): void {
  checkInteger(buf, e);
  if ((buf[e.content]! & 0x80) !== 0) decline();
}

/** The bytes of a BIT STRING that has no unused bits. */
function bitStringBytes(buf: Buffer, e: DerElement): Buffer {
  if (e.end - e.content < 2 || buf[e.content] !== 0) decline();
  return buf.subarray(e.content + 1, e.end);
}

/** The OID's content as hex, after checking its encoding. */
function oidHex(buf: Buffer, e: DerElement): string {
  if (e.end === e.content || (buf[e.end - 1]! & 0x80) !== 0) decline();
  for (let i = e.content; i < e.end; i++) {
    // A subidentifier never starts with 0x80 (a non-minimal encoding).
    if (buf[i] === 0x80 && (i === e.content || (buf[i - 1]! & 0x80) === 0)) decline();
  }
  return buf.toString('hex', e.content, e.end);
}

/**
 * A Name (SEQUENCE OF SET OF AttributeTypeAndValue) read strictly: PrintableString, UTF8String
 * and IA5String values only, with valid contents. Calls `visit` with each attribute's type (OID
 * hex) and value text, `rdn` marking the first attribute of each RDN.
 */
function readName(buf: Buffer, name: DerElement, visit?: (type: string, text: string, rdn: boolean) => void): void {
  for (let at = name.content; at < name.end; ) {
    const rdn = element(buf, at, name.end, TAG_SET);
    at = rdn.end;
    if (rdn.content === rdn.end) decline();
    for (let inner = rdn.content; inner < rdn.end; ) {
      const attribute = element(buf, inner, rdn.end, TAG_SEQUENCE);
      const type = element(buf, attribute.content, attribute.end, TAG_OID);
      const value = element(buf, type.end, attribute.end);
      if (value.end !== attribute.end) decline();
      const typeHex = oidHex(buf, type);
      checkString(buf, value);
      visit?.(typeHex, buf.toString(value.tag === TAG_UTF8_STRING ? 'utf8' : 'latin1', value.content, value.end), inner === rdn.content);
      inner = attribute.end;
    }
  }
}

function checkName(buf: Buffer, name: DerElement): void {
  readName(buf, name);
}

/** PrintableString, IA5String (ASCII) or UTF8String (valid UTF-8) contents. */
function checkString(buf: Buffer, e: DerElement): void {
  switch (e.tag) {
    case TAG_PRINTABLE_STRING:
      for (let i = e.content; i < e.end; i++) if (!PRINTABLE[buf[i]!]) decline();
      break;
    case TAG_IA5_STRING:
      for (let i = e.content; i < e.end; i++) if (buf[i]! >= 0x80) decline();
      break;
    case TAG_UTF8_STRING:
      if (!isUtf8(buf.subarray(e.content, e.end))) decline();
      break;
    default:
      decline();
  }
}

/** Bytes allowed in a PrintableString: A-Z a-z 0-9 space ' ( ) + , - . / : = ? */
const PRINTABLE: readonly boolean[] = Array.from({ length: 256 }, (_, c) => /[A-Za-z0-9 '()+,\-./:=?]/.test(String.fromCharCode(c)));

/**
 * A loose form of a Name that `readDerCertificate` accepted (its `issuer` or `subject`): each
 * attribute's type and value, trimmed, inner whitespace collapsed, ASCII lower-cased, as
 * OpenSSL's canonical comparison treats them. Names OpenSSL finds equal have equal loose forms,
 * so names of different bytes with equal loose forms are a case for OpenSSL. Throws for a name
 * the reader would have declined.
 */
export function looseName(name: Buffer): string {
  const parts: string[] = [];
  readName(name, element(name, 0, name.length, TAG_SEQUENCE), (type, text, rdn) => {
    const loose = `${type}=${text.trim().replace(/\s+/g, ' ').replace(/[A-Z]/g, (c) => c.toLowerCase())}`;
    parts.push(rdn ? `,${loose}` : `+${loose}`);
  });
  return parts.join('');
}

/** UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ), as ms since the epoch. */
function time(buf: Buffer, e: DerElement): number {
  const length = e.end - e.content;
  let year: number;
  let at = e.content;
  if (e.tag === TAG_UTC_TIME && length === 13) {
    const yy = digits(buf, at, 2);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
    at += 2;
  } else if (e.tag === TAG_GENERALIZED_TIME && length === 15) {
    year = digits(buf, at, 4);
    at += 4;
  } else {
    decline();
  }
  if (buf[e.end - 1] !== 0x5a /* Z */) decline();
  const month = digits(buf, at, 2);
  const day = digits(buf, at + 2, 2);
  const hour = digits(buf, at + 4, 2);
  const minute = digits(buf, at + 6, 2);
  const second = digits(buf, at + 8, 2);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(ms);
  // Out-of-range fields (month 13, February 30, hour 24, second 60) do not survive the round trip.
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  ) {
    decline();
  }
  return ms;
}

/** `count` ASCII digits at `at`, as a number. */
function digits(buf: Buffer, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) decline();
    value = value * 10 + d;
  }
  return value;
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }. */
function basicConstraints(buf: Buffer, value: DerElement): boolean {
  const sequence = element(buf, value.content, value.end, TAG_SEQUENCE);
  if (sequence.end !== value.end) decline();
  let at = sequence.content;
  let ca = false;
  if (at < sequence.end && buf[at] === TAG_BOOLEAN) {
    const flag = element(buf, at, sequence.end, TAG_BOOLEAN);
    if (flag.end - flag.content !== 1 || buf[flag.content] !== 0xff) decline();
    ca = true;
    at = flag.end;
  }
  if (at < sequence.end) {
    // A path length makes OpenSSL judge a non-CA certificate invalid; CAs are read by OpenSSL too.
    if (!ca) decline();
    const pathLength = element(buf, at, sequence.end, TAG_INTEGER);
    checkNonNegativeInteger(buf, pathLength);
    at = pathLength.end;
  }
  if (at !== sequence.end) decline();
  return ca;
}

/**
 * KeyUsage BIT STRING: whether keyCertSign (bit 5) is set. Only the DER form of a named bit list
 * is read: one or two bytes of bits, the unused ones zero and the last bit set. That also
 * declines an empty key usage, which OpenSSL takes as an invalid certificate (RFC 5280
 * 4.2.1.3: at least one bit), so it is no CA there whatever basicConstraints says.
 */
function keyUsage(buf: Buffer, value: DerElement): boolean {
  const bits = element(buf, value.content, value.end, TAG_BIT_STRING);
  if (bits.end !== value.end) decline();
  const bytes = bits.end - bits.content - 1;
  const unused = buf[bits.content]!;
  if (bytes < 1 || bytes > 2 || unused > 7) decline();
  const last = buf[bits.end - 1]!;
  if ((last & ((1 << unused) - 1)) !== 0 || ((last >> unused) & 1) === 0) decline();
  return (buf[bits.content + 1]! & 0x04) !== 0;
}

/** ExtKeyUsage ::= SEQUENCE SIZE (1..MAX) OF OBJECT IDENTIFIER. */
function extKeyUsage(buf: Buffer, value: DerElement): void {
  const sequence = element(buf, value.content, value.end, TAG_SEQUENCE);
  if (sequence.end !== value.end || sequence.content === sequence.end) decline();
  for (let at = sequence.content; at < sequence.end; ) {
    const oid = element(buf, at, sequence.end, TAG_OID);
    oidHex(buf, oid);
    at = oid.end;
  }
}

/** AuthorityKeyIdentifier with a keyIdentifier [0] only (issuer and serial [1] [2] are declined). */
function authorityKeyIdentifier(buf: Buffer, value: DerElement): Buffer | undefined {
  const sequence = element(buf, value.content, value.end, TAG_SEQUENCE);
  if (sequence.end !== value.end) decline();
  if (sequence.content === sequence.end) return undefined;
  const keyId = element(buf, sequence.content, sequence.end, 0x80);
  if (keyId.end !== sequence.end) decline();
  return buf.subarray(keyId.content, keyId.end);
}

/** GeneralNames with rfc822Name, dNSName, URI (ASCII) and iPAddress (4 or 16 bytes) entries only. */
function subjectAltName(buf: Buffer, value: DerElement): void {
  const sequence = element(buf, value.content, value.end, TAG_SEQUENCE);
  if (sequence.end !== value.end || sequence.content === sequence.end) decline();
  for (let at = sequence.content; at < sequence.end; ) {
    const name = element(buf, at, sequence.end);
    at = name.end;
    switch (name.tag) {
      case 0x81:
      case 0x82:
      case 0x86:
        for (let i = name.content; i < name.end; i++) if (buf[i]! >= 0x80) decline();
        break;
      case 0x87:
        if (name.end - name.content !== 4 && name.end - name.content !== 16) decline();
        break;
      default:
        decline();
    }
  }
}
