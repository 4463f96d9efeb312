// Public surface of lib/certs: cryptogen-style material for demos, the CLI, benchmarks and tests.
export {
  generateOrg,
  readOrgManifest,
  type GenerateOrgOptions,
  type GeneratedOrg,
  type GeneratedPeer,
  type ManifestPeer,
  type OrgManifest,
} from './generate-org.js';
export { CertificateAuthority, type CertAndKeyPem, type IssuedCertificate } from './certificate-authority.js';
export { caCertFileName, orgCaFiles, peerFiles, tlsCaCertFileName, type OrgCaFiles, type PeerFiles } from './layout.js';
export { pkiIdHex, serializeIdentity, tlsCertHashHex } from './peer-identity.js';
