import { isIP } from 'node:net';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  type Extension,
  type JsonGeneralName,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
} from './x509.js';

// Extension sets mirror those of Fabric's cryptogen, in the order Go's
// x509 package emits them, so that our certificates read like Fabric's under `openssl x509`.

/**
 * A CA (signing or TLS). cryptogen grants keyEncipherment and both TLS EKUs to its CAs too;
 * we keep them, because some TLS stacks check the issuer's EKU against the leaf's purpose.
 * @param keyId hex SubjectKeyIdentifier (see `fabricKeyId`).
 */
export function caExtensions(keyId: string): Extension[] {
  return [
    new KeyUsagesExtension(
      KeyUsageFlags.digitalSignature |
        KeyUsageFlags.keyEncipherment |
        KeyUsageFlags.keyCertSign |
        KeyUsageFlags.cRLSign,
      true,
    ),
    new ExtendedKeyUsageExtension([ExtendedKeyUsage.clientAuth, ExtendedKeyUsage.serverAuth]),
    new BasicConstraintsExtension(true, undefined, true),
    new SubjectKeyIdentifierExtension(keyId),
  ];
}

/**
 * A peer's enrollment certificate: it only signs gossip messages, so digitalSignature alone
 * and no EKU (Fabric's MSP does not look at EKUs of signing identities).
 * @param authorityKeyId the issuing CA's SKI, or undefined when that CA has none.
 */
export function enrollmentExtensions(authorityKeyId: string | undefined): Extension[] {
  return [
    new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
    new BasicConstraintsExtension(false, undefined, true),
    ...authorityKeyIdExtension(authorityKeyId),
  ];
}

/**
 * A peer's TLS certificate. It carries serverAuth *and* clientAuth because a Fabric peer
 * presents the same pair when it dials other peers (mutual TLS).
 * @param hosts SAN entries; IP literals become iPAddress names, everything else dNSName.
 */
export function tlsExtensions(authorityKeyId: string | undefined, hosts: readonly string[]): Extension[] {
  return [
    new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment, true),
    new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth, ExtendedKeyUsage.clientAuth]),
    new BasicConstraintsExtension(false, undefined, true),
    ...authorityKeyIdExtension(authorityKeyId),
    new SubjectAlternativeNameExtension(subjectAltNames(hosts)),
  ];
}

function authorityKeyIdExtension(keyId: string | undefined): Extension[] {
  return keyId === undefined ? [] : [new AuthorityKeyIdentifierExtension(keyId)];
}

/**
 * DNS names first, then IPs, as Go's marshalSANs orders them; duplicates dropped so that
 * user-supplied hosts overlapping the defaults do not repeat.
 */
export function subjectAltNames(hosts: readonly string[]): JsonGeneralName[] {
  const unique = [...new Set(hosts)];
  return [
    ...unique.filter((h) => isIP(h) === 0).map((value): JsonGeneralName => ({ type: 'dns', value })),
    ...unique.filter((h) => isIP(h) !== 0).map((value): JsonGeneralName => ({ type: 'ip', value })),
  ];
}
