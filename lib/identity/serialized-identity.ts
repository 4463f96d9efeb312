import { createHash } from 'node:crypto';
import { IdentityError } from '../errors.js';
import { msp } from '../proto/messages.js';

/** A decoded `msp.SerializedIdentity`: the MSP id and the identity bytes (a PEM certificate). */
export interface ParsedIdentity {
  mspid: string;
  idBytes: Uint8Array;
}

/**
 * Marshals `msp.SerializedIdentity{mspid, id_bytes}`, a peer's identity on the wire.
 * `idBytes` is used as given: pass the certificate PEM exactly, since the PKI-ID hashes it.
 */
export function serializeIdentity(mspid: string, idBytes: Uint8Array): Uint8Array {
  return msp.SerializedIdentity.encode({ mspid, idBytes }).finish();
}

/**
 * Unmarshals a `msp.SerializedIdentity`. `idBytes` may share memory with `bytes`.
 * Throws IdentityError when the bytes do not decode or the MSP id or identity bytes are empty.
 */
export function parseIdentity(bytes: Uint8Array): ParsedIdentity {
  if (bytes.length === 0) throw new IdentityError('empty identity');
  let decoded: msp.SerializedIdentity;
  try {
    decoded = msp.SerializedIdentity.decode(bytes);
  } catch (err) {
    throw new IdentityError(
      `identity is not a msp.SerializedIdentity: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  if (!decoded.mspid) throw new IdentityError('identity has an empty MSP id');
  if (decoded.idBytes.length === 0) throw new IdentityError(`identity of MSP "${decoded.mspid}" has empty id_bytes`);
  return { mspid: decoded.mspid, idBytes: decoded.idBytes };
}

/**
 * The PKI-ID of a serialized identity: SHA-256(utf8(mspid) || id_bytes), as Fabric's MSP-based
 * identity mapper computes it. It hashes the decoded fields, not the protobuf bytes, so two
 * encodings of the same identity share one PKI-ID, as in Fabric.
 * Throws IdentityError when the identity does not parse.
 */
export function pkiIdOf(identity: Uint8Array): Buffer {
  return pkiIdOfParsed(parseIdentity(identity));
}

/** pkiIdOf for an identity already parsed (by parseIdentity). */
export function pkiIdOfParsed({ mspid, idBytes }: ParsedIdentity): Buffer {
  return createHash('sha256').update(mspid, 'utf8').update(idBytes).digest();
}

/** The MSP id of a serialized identity (its organization), or undefined when it does not parse. */
export function mspIdOf(identity: Uint8Array): string | undefined {
  // Membership asks this of the same stored identity bytes for every alive message it relays.
  if (mspIds.has(identity)) return mspIds.get(identity);
  let mspId: string | undefined;
  try {
    mspId = parseIdentity(identity).mspid;
  } catch {
    mspId = undefined;
  }
  mspIds.set(identity, mspId);
  return mspId;
}

/** MSP ids by identity bytes object (bytes are not expected to change under a caller's feet). */
const mspIds = new WeakMap<Uint8Array, string | undefined>();
