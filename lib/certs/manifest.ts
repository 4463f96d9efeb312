import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { PeerDirError } from '../errors.js';
import type { GeneratedOrg, GeneratedPeer } from './generate-org.js';
import { orgCaFiles } from './layout.js';

/** One entry of manifest.json's `nodes`, with the vectors' snake_case keys. */
export interface ManifestNodeJson {
  /** The peer's full name, e.g. `peer0.org1.example.com`. */
  name: string;
  /** The peer's directory, relative to the manifest's folder. */
  dir: string;
  mspid: string;
  sign_cert_pem: string;
  sign_key_pem: string;
  tls_cert_pem: string;
  tls_key_pem: string;
  tls_ca_pem: string;
  identity_bin: string;
  pki_id_hex: string;
  tls_cert_sha256_hex: string;
  /** Common name of the CA that issued the enrollment certificate. */
  ca: string;
  trusted_by_org_ca: boolean;
}

/** manifest.json as the Fabric test vectors lay it out. */
export interface OrgManifestJson {
  mspid: string;
  nodes: ManifestNodeJson[];
  notes: string[];
  org: string;
}

/** The vectors' explanatory notes that hold for every generated org. */
const NOTES: readonly string[] = [
  'identity_bin = proto-marshalled msp.SerializedIdentity{mspid=1:string, id_bytes=2:bytes(sign_cert_pem file content, exactly)}',
  'pki_id = SHA256(mspid_utf8 || id_bytes)',
  'tls_cert_sha256 = SHA256(DER of tls leaf cert) = ConnEstablish.tls_cert_hash',
];

/**
 * manifest.json text: keys in the vectors' order, two-space indent and, like the vectors, no
 * trailing newline — so a generated folder diffs cleanly against the captured one.
 */
export function formatManifest(org: string, mspid: string, nodes: ManifestNodeJson[]): string {
  const manifest: OrgManifestJson = { mspid, nodes, notes: [...NOTES], org };
  return JSON.stringify(manifest, null, 2);
}

/** A peer as read back from manifest.json: its GeneratedPeer data plus absolute file paths. */
export interface ManifestPeer extends GeneratedPeer {
  /** The full name (`name` in the manifest). */
  readonly fqdn: string;
  /** Common name of the issuing CA. */
  readonly ca: string;
  /** False for negative-test peers (such as the vectors' `rogue/`) chained to another CA. */
  readonly trustedByOrgCa: boolean;
  readonly signCertPath: string;
  readonly signKeyPath: string;
  readonly tlsCertPath: string;
  readonly tlsKeyPath: string;
  readonly tlsCaPath: string;
  readonly identityPath: string;
}

/** An org folder as described by its manifest.json. */
export interface OrgManifest extends GeneratedOrg {
  readonly peers: ManifestPeer[];
}

/**
 * Reads `<dir>/manifest.json` (written by `generateOrg`, or the Fabric test vectors') and the
 * org's two CA certificates, so the demo and CLI can find peer folders without knowing how
 * they were laid out. Peer `dir`s and file paths come back absolute.
 * @throws PeerDirError when the manifest or a CA certificate is missing or malformed, or a
 *   path in it points outside `dir` (the manifest must not be able to redirect reads).
 */
export async function readOrgManifest(dir: string): Promise<OrgManifest> {
  const root = resolve(dir);
  const manifestPath = resolve(root, 'manifest.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (cause) {
    throw new PeerDirError(`cannot read ${manifestPath}: ${(cause as Error).message}`, { cause });
  }
  const json = record(parsed, 'manifest');
  const org = text(json, 'org', 'manifest');
  const mspid = text(json, 'mspid', 'manifest');
  if (!Array.isArray(json['nodes'])) {
    throw new PeerDirError(`${manifestPath}: "nodes" must be an array`);
  }
  const inside = (rel: string, what: string): string => {
    const abs = resolve(root, rel);
    const back = relative(root, abs);
    if (isAbsolute(rel) || back === '' || back.startsWith('..') || isAbsolute(back)) {
      throw new PeerDirError(`${manifestPath}: ${what} "${rel}" is not inside ${root}`);
    }
    return abs;
  };
  const peers = json['nodes'].map((entry: unknown, i: number): ManifestPeer => {
    const where = `nodes[${i}]`;
    const node = record(entry, where);
    const fqdn = text(node, 'name', where);
    const trusted = node['trusted_by_org_ca'];
    return {
      name: shortName(fqdn, org),
      fqdn,
      dir: inside(text(node, 'dir', where), `${where}.dir`),
      mspid: text(node, 'mspid', where),
      pkiIdHex: text(node, 'pki_id_hex', where),
      tlsCertSha256Hex: text(node, 'tls_cert_sha256_hex', where),
      ca: text(node, 'ca', where),
      // Absent means the generator's default: every peer it writes chains to the org CA.
      trustedByOrgCa: trusted === undefined ? true : trusted === true,
      signCertPath: inside(text(node, 'sign_cert_pem', where), `${where}.sign_cert_pem`),
      signKeyPath: inside(text(node, 'sign_key_pem', where), `${where}.sign_key_pem`),
      tlsCertPath: inside(text(node, 'tls_cert_pem', where), `${where}.tls_cert_pem`),
      tlsKeyPath: inside(text(node, 'tls_key_pem', where), `${where}.tls_key_pem`),
      tlsCaPath: inside(text(node, 'tls_ca_pem', where), `${where}.tls_ca_pem`),
      identityPath: inside(text(node, 'identity_bin', where), `${where}.identity_bin`),
    };
  });
  const caFiles = orgCaFiles(org);
  const [caCertPem, tlsCaCertPem] = await Promise.all(
    [caFiles.caCert, caFiles.tlsCaCert].map(async (rel) => {
      try {
        return await readFile(inside(rel, 'CA certificate'), 'utf8');
      } catch (cause) {
        if (cause instanceof PeerDirError) throw cause;
        throw new PeerDirError(`cannot read ${resolve(root, rel)}: ${(cause as Error).message}`, { cause });
      }
    }),
  );
  return { outDir: root, mspid, org, caCertPem: caCertPem!, tlsCaCertPem: tlsCaCertPem!, peers };

  function record(value: unknown, what: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new PeerDirError(`${manifestPath}: ${what} must be an object`);
    }
    return value as Record<string, unknown>;
  }
  function text(obj: Record<string, unknown>, key: string, what: string): string {
    const value = obj[key];
    if (typeof value !== 'string' || value === '') {
      throw new PeerDirError(`${manifestPath}: ${what}.${key} must be a non-empty string`);
    }
    return value;
  }
}

/**
 * `peer0` from `peer0.org1.example.com`. Names outside the org (the vectors' rogue peer) keep
 * their first label, which is what cryptogen's templates would have called them.
 */
function shortName(fqdn: string, org: string): string {
  const suffix = `.${org}`;
  return fqdn.endsWith(suffix) ? fqdn.slice(0, -suffix.length) : fqdn.split('.')[0]!;
}
