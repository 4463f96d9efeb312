import { X509Certificate, createHash } from 'node:crypto';
import { parseIdentity, pkiIdOf } from '../identity/serialized-identity.js';

/** What a serialized identity says about its holder. */
export interface IdentityDescription {
  /** Hex SHA-256(mspid || id_bytes). */
  readonly pkiId: string;
  readonly mspid: string;
  /** The certificate subject on one line, e.g. `C=US, ST=California, ..., CN=peer0.org1.example.com`. */
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** What a TLS certificate says. */
export interface CertificateDescription {
  readonly subject: string;
  readonly issuer: string;
  /** Hex SHA-256 of the DER: what a ConnEstablish's tls_cert_hash carries. */
  readonly sha256: string;
  readonly notAfter: Date;
  /** Subject alternative names, as node:crypto prints them (`DNS:peer0, IP Address:127.0.0.1`). */
  readonly subjectAltName: string;
}

/** Decodes a marshalled msp.SerializedIdentity and its certificate. Throws IdentityError or a parse error. */
export function describeIdentity(identity: Uint8Array): IdentityDescription {
  const { mspid, idBytes } = parseIdentity(identity);
  const cert = new X509Certificate(Buffer.from(idBytes));
  return {
    pkiId: pkiIdOf(identity).toString('hex'),
    mspid,
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    serialNumber: cert.serialNumber,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
  };
}

/** Describes a DER (or PEM) certificate. */
export function describeCertificate(certificate: Buffer): CertificateDescription {
  const cert = new X509Certificate(certificate);
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    sha256: createHash('sha256').update(cert.raw).digest('hex'),
    notAfter: new Date(cert.validTo),
    subjectAltName: cert.subjectAltName ?? '',
  };
}

/** node:crypto prints distinguished names one attribute per line; put them on one. */
function oneLine(dn: string): string {
  return dn
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .join(', ');
}
