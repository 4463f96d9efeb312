// A minimal X.509 v3 DER writer for tests: CA chains, expired CAs, forged issuers, P-384 leaves,
// without an openssl binary. Only what the identity tests need.
import { KeyObject, generateKeyPairSync, sign } from 'node:crypto';

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let l = n; l > 0; l = Math.floor(l / 256)) bytes.unshift(l & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, content: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), len(content.length), content]);
const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const explicit = (n: number, content: Buffer): Buffer => tlv(0xa0 + n, content);

function int(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let body = Buffer.from(hex, 'hex');
  if (body[0]! & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return tlv(0x02, body);
}

function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk = [arc & 0x7f];
    for (let a = Math.floor(arc / 128); a > 0; a = Math.floor(a / 128)) chunk.unshift((a & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'; // YYYYMMDDHHMMSSZ
  const year = d.getUTCFullYear();
  return year >= 1950 && year < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
}

const ATTR_OIDS: Record<string, string> = { C: '2.5.4.6', ST: '2.5.4.8', L: '2.5.4.7', O: '2.5.4.10', OU: '2.5.4.11', CN: '2.5.4.3' };

/** A DER Name from `[['O', 'org'], ['CN', 'name']]`. */
export function name(attrs: [string, string][]): Buffer {
  return seq(
    ...attrs.map(([type, value]) =>
      set(seq(oid(ATTR_OIDS[type]!), tlv(type === 'C' ? 0x13 : 0x0c, Buffer.from(value, 'utf8')))),
    ),
  );
}

/** Reads one TLV at `pos`: its tag, where the content starts, and where it ends. */
function readTlv(der: Buffer, pos: number): { tag: number; start: number; end: number } {
  const tag = der[pos]!;
  let l = der[pos + 1]!;
  let start = pos + 2;
  if (l & 0x80) {
    const n = l & 0x7f;
    l = 0;
    for (let i = 0; i < n; i++) l = l * 256 + der[start + i]!;
    start += n;
  }
  return { tag, start, end: start + l };
}

/** The raw subject Name of a DER certificate, to issue certificates under a real CA. */
export function subjectOf(certDer: Buffer): Buffer {
  const cert = readTlv(certDer, 0);
  const tbs = readTlv(certDer, cert.start);
  let pos = tbs.start;
  const fields: Buffer[] = [];
  while (pos < tbs.end && fields.length < 6) {
    const f = readTlv(certDer, pos);
    fields.push(certDer.subarray(pos, f.end));
    pos = f.end;
  }
  // version [0], serial, signature algorithm, issuer, validity, subject
  return fields[5]!;
}

export interface CertSpec {
  subject: Buffer;
  issuer: Buffer;
  publicKey: KeyObject;
  /** The issuer's private key (the subject's own for a self-signed root). */
  signingKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  ca?: boolean;
  /** The key usage BIT STRING's content (unused-bit count first), instead of the default for `ca`. */
  keyUsage?: Buffer;
  serial?: bigint;
  /** More extensions after basicConstraints and keyUsage (see `extension`). */
  extensions?: Buffer[];
}

/** An Extension: `{ extnID, critical, extnValue }` with `value` the DER inside the OCTET STRING. */
export function extension(dotted: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(dotted), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));
}

/** DER helpers for hand-made extension values and names. */
export const der = { tlv, seq, set, oid };

let nextSerial = 1000n;

/** A DER X.509 v3 certificate signed with ecdsa-with-SHA256. */
export function buildCert(spec: CertSpec): Buffer {
  const ecdsaWithSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const basicConstraints = seq(
    oid('2.5.29.19'),
    tlv(0x01, Buffer.from([0xff])),
    tlv(0x04, spec.ca ? seq(tlv(0x01, Buffer.from([0xff]))) : seq()),
  );
  // keyCertSign|cRLSign for CAs, digitalSignature for leaves (BIT STRING with unused-bit count).
  const keyUsage = seq(
    oid('2.5.29.15'),
    tlv(0x01, Buffer.from([0xff])),
    tlv(0x04, tlv(0x03, spec.keyUsage ?? Buffer.from(spec.ca ? [0x01, 0x06] : [0x07, 0x80]))),
  );
  const tbs = seq(
    explicit(0, int(2n)),
    int(spec.serial ?? nextSerial++),
    ecdsaWithSha256,
    spec.issuer,
    seq(time(spec.notBefore), time(spec.notAfter)),
    spec.subject,
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(basicConstraints, keyUsage, ...(spec.extensions ?? []))),
  );
  const signature = sign('sha256', tbs, spec.signingKey);
  return seq(tbs, ecdsaWithSha256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
}

/** PEM as Go writes it (64-column lines, one final newline). */
export function toPem(der: Buffer): Buffer {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return Buffer.from(['-----BEGIN CERTIFICATE-----', ...lines, '-----END CERTIFICATE-----', ''].join('\n'));
}

export interface Issued {
  der: Buffer;
  pem: Buffer;
  subject: Buffer;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

const YEAR = 365 * 24 * 3600 * 1000;

export interface IssueOptions {
  issuer?: Pick<Issued, 'subject' | 'privateKey'>;
  ca?: boolean;
  notBefore?: Date;
  notAfter?: Date;
  curve?: 'prime256v1' | 'secp384r1' | 'secp521r1';
}

/** A fresh key and a certificate for `cn` (self-signed when no issuer), valid ±1 year by default. */
export function issue(cn: string, options: IssueOptions = {}): Issued {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: options.curve ?? 'prime256v1' });
  const subject = name([['O', 'builder.example.com'], ['CN', cn]]);
  const der = buildCert({
    subject,
    issuer: options.issuer?.subject ?? subject,
    publicKey,
    signingKey: options.issuer?.privateKey ?? privateKey,
    notBefore: options.notBefore ?? new Date(Date.now() - YEAR),
    notAfter: options.notAfter ?? new Date(Date.now() + YEAR),
    ca: options.ca ?? false,
  });
  return { der, pem: toPem(der), subject, privateKey, publicKey };
}
