import type { JsonName } from './x509.js';

/**
 * The locality cryptogen stamps on every certificate when crypto-config.yaml gives none.
 * Kept identical so generated material is indistinguishable in shape from Fabric's samples.
 */
const LOCALITY: JsonName = [{ C: ['US'] }, { ST: ['California'] }, { L: ['San Francisco'] }];

/**
 * NodeOU of peer enrollment certificates. Fabric's MSP with NodeOUs enabled classifies an
 * identity by this OU; a peer without it is not a valid peer member.
 */
export const PEER_OU = 'peer';

/** Subject of an org CA (`ca.<org>`) or TLS CA (`tlsca.<org>`): carries O=<org>, as cryptogen does. */
export function caSubject(commonName: string, org: string): JsonName {
  return [...LOCALITY, { O: [org] }, { CN: [commonName] }];
}

/** Subject of a peer's enrollment (signing) certificate: no O, but the NodeOU. */
export function enrollmentSubject(fqdn: string): JsonName {
  return [...LOCALITY, { OU: [PEER_OU] }, { CN: [fqdn] }];
}

/** Subject of a peer's TLS certificate: cryptogen puts neither O nor OU in it. */
export function tlsSubject(fqdn: string): JsonName {
  return [...LOCALITY, { CN: [fqdn] }];
}
