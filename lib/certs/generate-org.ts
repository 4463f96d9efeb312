import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { CertificateAuthority, type CertAndKeyPem } from './certificate-authority.js';
import { enrollmentExtensions, tlsExtensions } from './cert-profiles.js';
import { generateP256Key } from './keys.js';
import { caCertFileName, orgCaFiles, peerFiles } from './layout.js';
import { formatManifest, type ManifestNodeJson } from './manifest.js';
import { nodeOusConfigYaml } from './msp-config.js';
import { pkiIdHex, serializeIdentity, tlsCertHashHex } from './peer-identity.js';
import { caSubject, enrollmentSubject, tlsSubject } from './subjects.js';
import { validityWindow, type Validity } from './validity.js';

export { readOrgManifest, type ManifestPeer, type OrgManifest } from './manifest.js';

/** What `generateOrg` should produce. */
export interface GenerateOrgOptions {
  /** Where to write; created if missing. Existing files of the same names are overwritten. */
  outDir: string;
  /** A count (peers named `peer0` .. `peer<n-1>`) or explicit short names (DNS labels). */
  peers: number | string[];
  /** The org's domain; peers are `<name>.<org>`. Default `org1.example.com`. */
  org?: string;
  /** The MSP ID in every identity. Default `Org1MSP`. */
  mspid?: string;
  /**
   * Extra SANs for every TLS certificate (IP literals become IP SANs). `127.0.0.1`,
   * `localhost`, `<name>` and `<name>.<org>` are always present.
   */
  hosts?: string[];
  /** Lifetime of every certificate, in days. Default 3650, as cryptogen. */
  validityDays?: number;
  /** Reuse this signing CA (so several runs issue members of one org) instead of creating one. */
  ca?: CertAndKeyPem;
  /** Reuse this TLS CA instead of creating one. */
  tlsCa?: CertAndKeyPem;
}

/** One generated peer. */
export interface GeneratedPeer {
  /** Short name, e.g. `peer0` (the full name is `<name>.<org>`). */
  name: string;
  /** Absolute path of the peer's folder (the layout of the Fabric vectors' `peer0/`). */
  dir: string;
  mspid: string;
  /** Hex SHA-256(mspid || signcert PEM): the peer's gossip PKI-ID. */
  pkiIdHex: string;
  /** Hex SHA-256 of the TLS certificate's DER: the `tls_cert_hash` its handshake carries. */
  tlsCertSha256Hex: string;
}

/** The result of `generateOrg`, which `manifest.json` in `outDir` also records. */
export interface GeneratedOrg {
  /** Absolute path of the org folder. */
  outDir: string;
  mspid: string;
  org: string;
  /** The signing CA's certificate (PEM): the MSP root of trust for identities. */
  caCertPem: string;
  /** The TLS CA's certificate (PEM): what peers must trust for mutual TLS. */
  tlsCaCertPem: string;
  peers: GeneratedPeer[];
}

const DEFAULT_ORG = 'org1.example.com';
const DEFAULT_MSPID = 'Org1MSP';
const DEFAULT_VALIDITY_DAYS = 3650;
/** Hosts every TLS certificate carries so local demos and tests can dial by either. */
const LOCAL_HOSTS = ['localhost', '127.0.0.1'] as const;
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * Generates Fabric crypto material for one org the way `cryptogen generate` does (ECDSA P-256
 * keys, cryptogen's certificate profiles, NodeOUs) in the file layout of the Fabric test
 * vectors, plus each peer's serialized identity, PKI-ID and TLS certificate hash, and a
 * manifest.json describing it all. Keys and certificates of all peers are produced
 * concurrently; WebCrypto runs them on the thread pool.
 * @throws RangeError or TypeError for invalid options; PeerDirError for unusable `ca`/`tlsCa`.
 */
export async function generateOrg(options: GenerateOrgOptions): Promise<GeneratedOrg> {
  const org = options.org ?? DEFAULT_ORG;
  const mspid = options.mspid ?? DEFAULT_MSPID;
  checkOrg(org);
  checkMspid(mspid);
  const names = peerNames(options.peers);
  const extraHosts = options.hosts ?? [];
  for (const host of extraHosts) {
    if (typeof host !== 'string' || host === '' || /\s/.test(host)) {
      throw new TypeError(`invalid host ${JSON.stringify(host)}`);
    }
  }
  const validity = validityWindow(options.validityDays ?? DEFAULT_VALIDITY_DAYS);
  const outDir = resolve(options.outDir);

  const [ca, tlsCa] = await Promise.all([
    options.ca ? CertificateAuthority.load(options.ca) : CertificateAuthority.create(caSubject(`ca.${org}`, org), validity),
    options.tlsCa
      ? CertificateAuthority.load(options.tlsCa)
      : CertificateAuthority.create(caSubject(`tlsca.${org}`, org), validity),
  ]);

  const caFiles = orgCaFiles(org);
  const ctx: PeerContext = { outDir, org, mspid, ca, tlsCa, validity, extraHosts };
  const [results] = await Promise.all([
    Promise.all(names.map((name) => generatePeer(ctx, name))),
    writeFiles(outDir, [
      [caFiles.caCert, ca.certPem],
      [caFiles.caKey, ca.keyPem, PRIVATE],
      [caFiles.tlsCaCert, tlsCa.certPem],
      [caFiles.tlsCaKey, tlsCa.keyPem, PRIVATE],
    ]),
  ]);
  await writeFile(
    join(outDir, 'manifest.json'),
    formatManifest(org, mspid, results.map((r) => r.manifestNode)),
  );
  return {
    outDir,
    mspid,
    org,
    caCertPem: ca.certPem,
    tlsCaCertPem: tlsCa.certPem,
    peers: results.map((r) => r.peer),
  };
}

interface PeerContext {
  readonly outDir: string;
  readonly org: string;
  readonly mspid: string;
  readonly ca: CertificateAuthority;
  readonly tlsCa: CertificateAuthority;
  readonly validity: Validity;
  readonly extraHosts: readonly string[];
}

async function generatePeer(
  ctx: PeerContext,
  name: string,
): Promise<{ peer: GeneratedPeer; manifestNode: ManifestNodeJson }> {
  const fqdn = `${name}.${ctx.org}`;
  const [signKey, tlsKey] = await Promise.all([generateP256Key(), generateP256Key()]);
  const [signCert, tlsCert] = await Promise.all([
    ctx.ca.issue({
      subject: enrollmentSubject(fqdn),
      publicKey: signKey.publicKey,
      extensions: enrollmentExtensions,
      validity: ctx.validity,
    }),
    ctx.tlsCa.issue({
      subject: tlsSubject(fqdn),
      publicKey: tlsKey.publicKey,
      extensions: (aki) => tlsExtensions(aki, [fqdn, name, ...LOCAL_HOSTS, ...ctx.extraHosts]),
      validity: ctx.validity,
    }),
  ]);
  // The identity embeds the signcert file's bytes; derive both from one buffer so they can
  // never drift apart (e.g. over line endings).
  const signCertBytes = Buffer.from(signCert.pem, 'utf8');
  const pkiId = pkiIdHex(ctx.mspid, signCertBytes);
  const tlsHash = tlsCertHashHex(tlsCert.der);
  const files = peerFiles(fqdn, ctx.org);
  const dir = join(ctx.outDir, name);
  await writeFiles(dir, [
    [files.caCert, ctx.ca.certPem],
    [files.signCert, signCertBytes],
    [files.signKey, signKey.privateKeyPem, PRIVATE],
    [files.tlsCaCertInMsp, ctx.tlsCa.certPem],
    [files.mspConfig, nodeOusConfigYaml(caCertFileName(ctx.org))],
    [files.tlsCaCert, ctx.tlsCa.certPem],
    [files.tlsCert, tlsCert.pem],
    [files.tlsKey, tlsKey.privateKeyPem, PRIVATE],
    [files.identity, serializeIdentity(ctx.mspid, signCertBytes)],
    [files.mspid, `${ctx.mspid}\n`],
    [files.pkiId, `${pkiId}\n`],
    [files.tlsCertHash, `${tlsHash}\n`],
  ]);
  const rel = (file: string): string => `${name}/${file}`;
  return {
    peer: { name, dir, mspid: ctx.mspid, pkiIdHex: pkiId, tlsCertSha256Hex: tlsHash },
    manifestNode: {
      name: fqdn,
      dir: name,
      mspid: ctx.mspid,
      sign_cert_pem: rel(files.signCert),
      sign_key_pem: rel(files.signKey),
      tls_cert_pem: rel(files.tlsCert),
      tls_key_pem: rel(files.tlsKey),
      tls_ca_pem: rel(files.tlsCaCert),
      identity_bin: rel(files.identity),
      pki_id_hex: pkiId,
      tls_cert_sha256_hex: tlsHash,
      ca: ctx.ca.commonName,
      trusted_by_org_ca: true,
    },
  };
}

/** File mode of private keys: cryptogen writes them owner-only, and so do we. */
const PRIVATE = 0o600;

type FileSpec = readonly [relativePath: string, data: string | Uint8Array, mode?: number];

async function writeFiles(dir: string, files: readonly FileSpec[]): Promise<void> {
  const dirs = new Set(files.map(([rel]) => dirname(join(dir, rel))));
  await Promise.all([...dirs].map((d) => mkdir(d, { recursive: true })));
  await Promise.all(
    files.map(([rel, data, mode]) => writeFile(join(dir, rel), data, mode === undefined ? {} : { mode })),
  );
}

function peerNames(peers: number | string[]): string[] {
  if (typeof peers === 'number') {
    if (!Number.isSafeInteger(peers) || peers < 0) {
      throw new RangeError(`peers must be a non-negative integer, got ${peers}`);
    }
    return Array.from({ length: peers }, (_, i) => `peer${i}`);
  }
  if (!Array.isArray(peers)) {
    throw new TypeError('peers must be a count or an array of names');
  }
  // Names become directory names and certificate CNs: a DNS label keeps both safe
  // (no path separators, no "..").
  for (const name of peers) {
    if (typeof name !== 'string' || !DNS_LABEL.test(name)) {
      throw new TypeError(`peer name ${JSON.stringify(name)} is not a DNS label`);
    }
  }
  const lower = peers.map((n) => n.toLowerCase());
  // These folders hold the org's CAs; a peer folder of the same name would mix the two.
  const reserved = lower.find((n) => n === 'ca' || n === 'tlsca');
  if (reserved !== undefined) {
    throw new TypeError(`peer name "${reserved}" is reserved for the org's CA folder`);
  }
  const duplicate = lower.find((n, i) => lower.indexOf(n) !== i);
  if (duplicate !== undefined) {
    throw new TypeError(`peer name "${duplicate}" is given twice`);
  }
  return [...peers];
}

function checkOrg(org: string): void {
  if (typeof org !== 'string' || org.length > 253 || !org.split('.').every((label) => DNS_LABEL.test(label))) {
    throw new TypeError(`org ${JSON.stringify(org)} is not a domain name`);
  }
}

function checkMspid(mspid: string): void {
  // It is written to mspid.txt as one line and must be non-empty for Fabric's MSP manager.
  // eslint-disable-next-line no-control-regex
  if (typeof mspid !== 'string' || mspid === '' || /[\u0000-\u001f\u007f]/.test(mspid)) {
    throw new TypeError(`mspid ${JSON.stringify(mspid)} must be non-empty, without control characters`);
  }
}
