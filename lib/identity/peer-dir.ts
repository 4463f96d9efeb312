import { KeyObject, X509Certificate, createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PeerDirError } from '../errors.js';
import { MspManager, type MspConfig } from './msp.js';
import { decodeCertificateBundle, decodeCertificatePem } from './pem.js';
import { serializeIdentity } from './serialized-identity.js';
import { createSigner, type Signer } from './signer.js';

/** Everything a peer needs about itself, read from a Fabric-style peer directory. */
export interface LocalPeer {
  mspid: string;
  /** The signing certificate file, byte for byte: it is the identity's id_bytes. */
  certPem: Buffer;
  /** The serialized identity (`msp.SerializedIdentity{mspid, certPem}`) sent in handshakes. */
  identity: Uint8Array;
  /** SHA-256(mspid || certPem). */
  pkiId: Buffer;
  /** Signs with the keystore key that matches `certPem`. */
  signer: Signer;
  tls: {
    /** tls/server.crt as read; Fabric peers also present it as their client certificate. */
    cert: Buffer;
    /** tls/server.key as read. */
    key: Buffer;
    /** The certificates of tls/ca.crt, one PEM each. */
    ca: Buffer[];
    /** SHA-256 of the TLS leaf certificate's DER: the `tls_cert_hash` of our ConnEstablish. */
    certHash: Buffer;
  };
  /** This peer's own MSP, from msp/cacerts and msp/intermediatecerts (file contents). */
  msp: MspConfig;
  /** TLS root CAs from msp/tlscacerts and tls/ca.crt, one PEM each, duplicates removed. */
  tlsRootCerts: Buffer[];
}

/** Options of loadPeerDir. */
export interface LoadPeerDirOptions {
  /** The MSP id; when absent it is read from `mspid.txt` in the directory. */
  mspid?: string;
  /** The time the signing certificate must be valid at; defaults to now. */
  now?: Date;
}

/**
 * Loads a Fabric-style peer directory (as written by cryptogen or fabric-ca):
 * `msp/signcerts/*.pem` (exactly one), `msp/keystore/*` (the key matching that certificate,
 * `priv_sk` or `<ski>_sk`), `msp/cacerts/*`, optional `msp/intermediatecerts/*` and
 * `msp/tlscacerts/*`, `tls/server.crt`, `tls/server.key`, `tls/ca.crt`, and `mspid.txt` unless
 * `options.mspid` is given. The signing certificate must validate against the directory's own
 * CAs, exactly as remote peers will validate it (so a trailing newline is refused here, not by
 * every peer we later dial).
 * Throws PeerDirError naming the path and the problem: missing file, not a PEM certificate,
 * key that does not match its certificate, untrusted or expired signing certificate, ...
 */
export async function loadPeerDir(dir: string, options: LoadPeerDirOptions = {}): Promise<LocalPeer> {
  const mspid = await readMspId(dir, options.mspid);
  const mspDir = join(dir, 'msp');

  const signcertsDir = join(mspDir, 'signcerts');
  const pems = (await listFiles(signcertsDir)).filter((f) => f.toLowerCase().endsWith('.pem'));
  if (pems.length === 0) throw new PeerDirError(`${signcertsDir}: no .pem certificate found`);
  if (pems.length > 1) {
    throw new PeerDirError(`${signcertsDir}: expected exactly one .pem certificate, found ${pems.length} (${pems.join(', ')})`);
  }
  const certPath = join(signcertsDir, pems[0]!);
  const certPem = await readRequired(certPath);
  const cert = parseCert(certPath, () => decodeCertificatePem(certPem));

  const keystoreDir = join(mspDir, 'keystore');
  const { key: signingKey, path: keyPath } = await findMatchingKey(keystoreDir, cert, certPath);
  let signer: Signer;
  try {
    signer = createSigner(signingKey);
  } catch (err) {
    throw new PeerDirError(`${keyPath}: ${messageOf(err)}`, { cause: err });
  }

  const rootCerts = await readCertFiles(join(mspDir, 'cacerts'), false);
  if (rootCerts.length === 0) throw new PeerDirError(`${join(mspDir, 'cacerts')}: no CA certificate found`);
  const intermediateCerts = await readCertFiles(join(mspDir, 'intermediatecerts'), true);
  const msp: MspConfig = { mspid, rootCerts: rootCerts.map((f) => f.bytes) };
  if (intermediateCerts.length > 0) msp.intermediateCerts = intermediateCerts.map((f) => f.bytes);

  let manager: MspManager;
  try {
    manager = new MspManager([msp], { cacheSize: 0 });
  } catch (err) {
    throw new PeerDirError(`${mspDir}: ${messageOf(err)}`, { cause: err });
  }
  const identity = serializeIdentity(mspid, certPem);
  let pkiId: Buffer;
  try {
    pkiId = manager.validate(identity, options.now ?? new Date()).pkiId;
  } catch (err) {
    throw new PeerDirError(`${certPath}: the signing certificate is not a valid identity of its own MSP: ${messageOf(err)}`, {
      cause: err,
    });
  }

  const tlsDir = join(dir, 'tls');
  const tlsCertPath = join(tlsDir, 'server.crt');
  const tlsCert = await readRequired(tlsCertPath);
  const tlsLeaf = parseCert(tlsCertPath, () => firstCert(tlsCert));
  const tlsKeyPath = join(tlsDir, 'server.key');
  const tlsKey = await readRequired(tlsKeyPath);
  const tlsKeyObject = parsePrivateKey(tlsKeyPath, tlsKey);
  if (!sameKey(tlsKeyObject, tlsLeaf.publicKey)) {
    throw new PeerDirError(`${tlsKeyPath}: the key does not match the certificate ${tlsCertPath}`);
  }
  const tlsCaPath = join(tlsDir, 'ca.crt');
  const tlsCa = certBlocks(tlsCaPath, await readRequired(tlsCaPath));

  const tlsRoots = new Map<string, Buffer>();
  for (const file of await readCertFiles(join(mspDir, 'tlscacerts'), true)) {
    for (const block of file.blocks) tlsRoots.set(digest(block.der), block.pem);
  }
  for (const block of tlsCa) if (!tlsRoots.has(digest(block.der))) tlsRoots.set(digest(block.der), block.pem);

  return {
    mspid,
    certPem,
    identity,
    pkiId,
    signer,
    tls: {
      cert: tlsCert,
      key: tlsKey,
      ca: tlsCa.map((b) => b.pem),
      certHash: createHash('sha256').update(tlsLeaf.raw).digest(),
    },
    msp,
    tlsRootCerts: [...tlsRoots.values()],
  };
}

async function readMspId(dir: string, given: string | undefined): Promise<string> {
  if (given !== undefined) {
    if (given.trim() === '') throw new PeerDirError(`${dir}: options.mspid is empty`);
    return given;
  }
  const path = join(dir, 'mspid.txt');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new PeerDirError(`${path}: ${fsProblem(err)}; pass options.mspid or write the MSP id in this file`, {
      cause: err,
    });
  }
  const mspid = text.trim();
  if (mspid === '') throw new PeerDirError(`${path}: empty, expected the MSP id`);
  return mspid;
}

/** The keystore key whose public half is the certificate's key; Fabric names it priv_sk or <ski>_sk. */
async function findMatchingKey(
  keystoreDir: string,
  cert: X509Certificate,
  certPath: string,
): Promise<{ key: KeyObject; path: string }> {
  const files = await listFiles(keystoreDir);
  if (files.length === 0) throw new PeerDirError(`${keystoreDir}: no private key found`);
  const notes: string[] = [];
  for (const name of files) {
    const path = join(keystoreDir, name);
    const bytes = await readRequired(path);
    let key: KeyObject;
    try {
      key = createPrivateKey(bytes);
    } catch {
      notes.push(`${name} is not a private key`);
      continue;
    }
    if (sameKey(key, cert.publicKey)) return { key, path };
    notes.push(`${name} does not match`);
  }
  throw new PeerDirError(`${keystoreDir}: no private key matches the certificate ${certPath} (${notes.join('; ')})`);
}

interface CertFile {
  bytes: Buffer;
  blocks: { der: Buffer; pem: Buffer }[];
}

/** Every file of a certificate directory, each checked to hold only PEM certificates. */
async function readCertFiles(path: string, optional: boolean): Promise<CertFile[]> {
  const files = await listFiles(path, optional);
  const out: CertFile[] = [];
  for (const name of files) {
    const filePath = join(path, name);
    const bytes = await readRequired(filePath);
    out.push({ bytes, blocks: certBlocks(filePath, bytes) });
  }
  return out;
}

function certBlocks(path: string, bytes: Buffer): { der: Buffer; pem: Buffer }[] {
  let blocks: { der: Buffer; pem: Buffer }[];
  try {
    blocks = decodeCertificateBundle(bytes);
  } catch (err) {
    throw new PeerDirError(`${path}: ${messageOf(err)}`, { cause: err });
  }
  for (const block of blocks) parseCert(path, () => block.der);
  return blocks;
}

function firstCert(bytes: Buffer): Buffer {
  return decodeCertificateBundle(bytes)[0]!.der;
}

function parseCert(path: string, der: () => Buffer): X509Certificate {
  let raw: Buffer;
  try {
    raw = der();
  } catch (err) {
    throw new PeerDirError(`${path}: ${messageOf(err)}`, { cause: err });
  }
  try {
    return new X509Certificate(raw);
  } catch (err) {
    throw new PeerDirError(`${path}: not a valid X.509 certificate: ${messageOf(err)}`, { cause: err });
  }
}

function parsePrivateKey(path: string, bytes: Buffer): KeyObject {
  try {
    return createPrivateKey(bytes);
  } catch (err) {
    throw new PeerDirError(`${path}: not a private key: ${messageOf(err)}`, { cause: err });
  }
}

function sameKey(privateKey: KeyObject, publicKey: KeyObject): boolean {
  const spki = (k: KeyObject): Buffer => k.export({ type: 'spki', format: 'der' });
  try {
    return spki(createPublicKey(privateKey)).equals(spki(publicKey));
  } catch {
    return false;
  }
}

/** Regular files of a directory (following symlinks, skipping dot files), sorted by name. */
async function listFiles(path: string, optional = false): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(path);
  } catch (err) {
    if (optional && codeOf(err) === 'ENOENT') return [];
    throw new PeerDirError(`${path}: ${fsProblem(err)}`, { cause: err });
  }
  const files: string[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    try {
      if ((await stat(join(path, name))).isFile()) files.push(name);
    } catch {
      // A dangling symlink is not a file we could use; skip it like a directory.
    }
  }
  return files;
}

async function readRequired(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new PeerDirError(`${path}: ${fsProblem(err)}`, { cause: err });
  }
}

function fsProblem(err: unknown): string {
  switch (codeOf(err)) {
    case 'ENOENT':
      return 'missing';
    case 'ENOTDIR':
      return 'not a directory';
    case 'EISDIR':
      return 'is a directory, expected a file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return `cannot be read: ${messageOf(err)}`;
  }
}

function codeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

function digest(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
