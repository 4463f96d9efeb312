/**
 * File names of cryptogen's output, relative to the org directory or to a peer directory,
 * always with '/' (they also go into manifest.json, which must read the same on every OS).
 * Fabric tooling and our PeerDir loader find material by these exact names.
 */

/** Files of the org's two CAs, relative to the org directory. */
export interface OrgCaFiles {
  readonly caCert: string;
  readonly caKey: string;
  readonly tlsCaCert: string;
  readonly tlsCaKey: string;
}

/** Files of one peer, relative to that peer's directory. */
export interface PeerFiles {
  readonly caCert: string;
  readonly signCert: string;
  readonly signKey: string;
  readonly tlsCaCertInMsp: string;
  readonly mspConfig: string;
  readonly tlsCaCert: string;
  readonly tlsCert: string;
  readonly tlsKey: string;
  readonly identity: string;
  readonly mspid: string;
  readonly pkiId: string;
  readonly tlsCertHash: string;
}

/** `ca.<org>-cert.pem`: the name the org CA certificate has everywhere it is copied. */
export function caCertFileName(org: string): string {
  return `ca.${org}-cert.pem`;
}

/** `tlsca.<org>-cert.pem`: likewise for the TLS CA. */
export function tlsCaCertFileName(org: string): string {
  return `tlsca.${org}-cert.pem`;
}

/** cryptogen's org-level CA files. */
export function orgCaFiles(org: string): OrgCaFiles {
  return {
    caCert: `ca/${caCertFileName(org)}`,
    caKey: 'ca/priv_sk',
    tlsCaCert: `tlsca/${tlsCaCertFileName(org)}`,
    tlsCaKey: 'tlsca/priv_sk',
  };
}

/**
 * cryptogen's peer files (`msp/`, `tls/`) plus the ones the Fabric test vectors add next to
 * them (`identity.bin`, `mspid.txt`, `pkiid.hex`, `tls_cert_sha256.hex`).
 * @param fqdn the peer's full name, e.g. `peer0.org1.example.com`.
 */
export function peerFiles(fqdn: string, org: string): PeerFiles {
  return {
    caCert: `msp/cacerts/${caCertFileName(org)}`,
    signCert: `msp/signcerts/${fqdn}-cert.pem`,
    signKey: 'msp/keystore/priv_sk',
    tlsCaCertInMsp: `msp/tlscacerts/${tlsCaCertFileName(org)}`,
    mspConfig: 'msp/config.yaml',
    tlsCaCert: 'tls/ca.crt',
    tlsCert: 'tls/server.crt',
    tlsKey: 'tls/server.key',
    identity: 'identity.bin',
    mspid: 'mspid.txt',
    pkiId: 'pkiid.hex',
    tlsCertHash: 'tls_cert_sha256.hex',
  };
}
