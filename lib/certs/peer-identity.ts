import { createHash } from 'node:crypto';
import { msp } from '../proto/messages.js';

/**
 * Marshals the identity a Fabric peer gossips: `msp.SerializedIdentity{mspid, id_bytes}` where
 * id_bytes is the enrollment certificate *PEM file*, not its DER — Fabric reads the file and
 * embeds it unchanged, and the PKI-ID hashes those exact bytes.
 */
export function serializeIdentity(mspid: string, signCertPem: Uint8Array): Uint8Array {
  return msp.SerializedIdentity.encode({ mspid, idBytes: signCertPem }).finish();
}

/** Fabric's PKI-ID of an identity: SHA-256(utf8(mspid) || id_bytes), hex. */
export function pkiIdHex(mspid: string, signCertPem: Uint8Array): string {
  return createHash('sha256').update(mspid, 'utf8').update(signCertPem).digest('hex');
}

/** SHA-256 of a TLS certificate's DER, hex: the `tls_cert_hash` a peer sends in ConnEstablish. */
export function tlsCertHashHex(tlsCertDer: Uint8Array): string {
  return createHash('sha256').update(tlsCertDer).digest('hex');
}
