// Paths and readers for the Fabric test vectors copied into spec/fixtures (never ../shared).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ManifestNodeJson, OrgManifestJson } from '../../lib/certs/manifest.js';

export const VECTORS = join(import.meta.dirname, '..', 'fixtures', 'fabric-vectors');

export type ManifestNode = ManifestNodeJson;

export const manifest = JSON.parse(readFileSync(join(VECTORS, 'manifest.json'), 'utf8')) as OrgManifestJson;

export const ORG_PEERS = ['peer0', 'peer1', 'peer2', 'peer3'] as const;
export const ORG_CA_PEM = join('ca', 'ca.org1.example.com-cert.pem');

/** The bytes of a vector file, by path relative to the vectors folder. */
export function vector(rel: string): Buffer {
  return readFileSync(join(VECTORS, rel));
}

/** The manifest entry of a peer folder (`peer0`, `rogue/peer0`, ...). */
export function node(dir: string): ManifestNode {
  const found = manifest.nodes.find((n) => n.dir === dir);
  if (found === undefined) throw new Error(`no manifest node ${dir}`);
  return found;
}

/** The signing certificate PEM file of a peer, byte for byte. */
export function signCert(dir: string): Buffer {
  return vector(node(dir).sign_cert_pem);
}

/** The serialized identity of a peer (identity.bin). */
export function identityBin(dir: string): Buffer {
  return vector(node(dir).identity_bin);
}

/** Fabric's notAfter of every vector certificate (2036-11-22), and notBefore (capture time). */
export const NOT_AFTER = new Date('2036-11-22T15:16:00Z');
export const NOT_BEFORE = new Date('2026-11-25T15:16:00Z');

/** A time inside every vector certificate's validity, so the tests do not depend on the clock. */
export const VALID_AT = new Date('2030-01-01T00:00:00Z');
