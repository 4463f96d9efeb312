import { X509Certificate as NodeX509Certificate, webcrypto } from 'node:crypto';
import {
  type Extension,
  type JsonName,
  Name,
  SubjectKeyIdentifierExtension,
  X509Certificate,
  X509CertificateGenerator,
} from './x509.js';
import { PeerDirError } from '../errors.js';
import { caExtensions } from './cert-profiles.js';
import { X509_CRYPTO, fabricKeyId, generateP256Key, importP256PrivateKey, type WebCryptoKey } from './keys.js';
import { randomSerialNumber } from './serial-number.js';
import type { Validity } from './validity.js';

/** A PEM certificate and its PEM private key, as found in cryptogen's `ca/` and `tlsca/`. */
export interface CertAndKeyPem {
  readonly certPem: string;
  readonly keyPem: string;
}

/** What a CA hands back for each certificate it signs. */
export interface IssuedCertificate {
  /** PEM exactly as written to disk (and, for enrollment certs, as embedded in identities). */
  readonly pem: string;
  /** DER, for hashing (the TLS certificate hash is over DER, not PEM). */
  readonly der: Buffer;
}

/** A request for a leaf certificate. */
export interface LeafRequest {
  readonly subject: JsonName;
  readonly publicKey: WebCryptoKey;
  /** Builds the leaf's extensions from this CA's SKI (undefined if the CA has none). */
  readonly extensions: (authorityKeyId: string | undefined) => Extension[];
  readonly validity: Validity;
}

/**
 * An ECDSA P-256 certificate authority able to issue cryptogen-style leaves: either created
 * here (self-signed, with cryptogen's CA profile) or loaded from an existing cert/key pair so
 * several runs can produce peers of one org.
 */
export class CertificateAuthority {
  /** The CA certificate, canonical PEM (64-column base64, LF line ends, trailing newline). */
  readonly certPem: string;
  /** The CA private key, PKCS#8 PEM. */
  readonly keyPem: string;

  private readonly subject: Name;
  private readonly signingKey: WebCryptoKey;
  private readonly keyId: string | undefined;
  private readonly notAfter: Date;

  private constructor(cert: X509Certificate, keyPem: string, signingKey: WebCryptoKey) {
    this.certPem = new NodeX509Certificate(Buffer.from(cert.rawData)).toString();
    this.keyPem = keyPem;
    this.subject = cert.subjectName;
    this.signingKey = signingKey;
    this.keyId = cert.getExtension(SubjectKeyIdentifierExtension)?.keyId;
    this.notAfter = cert.notAfter;
  }

  /** Creates a new self-signed CA with a fresh key. */
  static async create(subject: JsonName, validity: Validity): Promise<CertificateAuthority> {
    const key = await generateP256Key();
    const cert = await X509CertificateGenerator.create(
      {
        serialNumber: randomSerialNumber(),
        subject,
        issuer: subject,
        notBefore: validity.notBefore,
        notAfter: validity.notAfter,
        publicKey: key.publicKey,
        signingKey: key.privateKey,
        extensions: caExtensions(await fabricKeyId(key.publicKey)),
      },
      X509_CRYPTO,
    );
    return new CertificateAuthority(cert, key.privateKeyPem, key.privateKey);
  }

  /**
   * Loads an existing CA. Refuses material that would only fail later, at TLS or MSP
   * validation time, with a much less helpful message.
   * @throws PeerDirError when the certificate is not a CA certificate or has expired, the key
   *   is not P-256, or the key does not belong to the certificate.
   */
  static async load(pair: CertAndKeyPem): Promise<CertificateAuthority> {
    let nodeCert: NodeX509Certificate;
    try {
      nodeCert = new NodeX509Certificate(pair.certPem);
    } catch (cause) {
      throw new PeerDirError('CA certificate is not a PEM X.509 certificate', { cause });
    }
    if (!nodeCert.ca) {
      throw new PeerDirError(`certificate "${nodeCert.subject.replace(/\n/g, ', ')}" is not a CA (basicConstraints CA:FALSE or absent)`);
    }
    if (Date.parse(nodeCert.validTo) <= Date.now()) {
      throw new PeerDirError(`CA certificate expired on ${nodeCert.validTo}`);
    }
    let key;
    try {
      key = await importP256PrivateKey(pair.keyPem);
    } catch (cause) {
      throw new PeerDirError(`CA private key is unusable: ${(cause as Error).message}`, { cause });
    }
    const publicSpki = Buffer.from(await webcrypto.subtle.exportKey('spki', key.publicKey));
    if (!publicSpki.equals(nodeCert.publicKey.export({ type: 'spki', format: 'der' }))) {
      throw new PeerDirError('CA private key does not match the CA certificate');
    }
    return new CertificateAuthority(new X509Certificate(nodeCert.raw), key.privateKeyPem, key.privateKey);
  }

  /** The CA's subject common name (the manifest's `ca` field). */
  get commonName(): string {
    return this.subject.getField('CN')[0] ?? '';
  }

  /**
   * Signs a leaf certificate. Its notAfter is capped at the CA's: a leaf outliving its issuer
   * would only look valid while being unverifiable.
   */
  async issue(request: LeafRequest): Promise<IssuedCertificate> {
    const notAfter = request.validity.notAfter > this.notAfter ? this.notAfter : request.validity.notAfter;
    const cert = await X509CertificateGenerator.create(
      {
        serialNumber: randomSerialNumber(),
        subject: request.subject,
        issuer: this.subject,
        notBefore: request.validity.notBefore,
        notAfter,
        publicKey: request.publicKey,
        signingKey: this.signingKey,
        extensions: request.extensions(this.keyId),
      },
      X509_CRYPTO,
    );
    const der = Buffer.from(cert.rawData);
    return { der, pem: new NodeX509Certificate(der).toString() };
  }
}
