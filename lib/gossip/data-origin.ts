import { X509Certificate, type KeyObject } from 'node:crypto';
import { DecodeError, IdentityError, SignatureError, UnknownOriginError } from '../errors.js';
import type { IdentityMapper } from '../identity/identity-mapper.js';
import { parseIdentity } from '../identity/serialized-identity.js';
import { verifySignatureAsync } from '../identity/signer.js';
import type { SignedMessage } from '../wire/signed-message.js';

/**
 * The originator of a data message, as rxgossip carries it.
 *
 * Fabric gives a DataMessage no originator: its peers NoopSign data envelopes and verify each
 * block by the orderer's signatures inside it (MCS VerifyBlock), so any peer may relay a block.
 * For data that is not a Fabric block, the origin must sign instead: the originating peer signs
 * the Envelope's payload (the GossipMessage bytes), and names itself in
 * `Payload.origin_pki_id` (field 1000, inside the signed bytes, so the name is bound by the
 * signature). Every relay, rxgossip or Fabric, forwards the Envelope untouched, so the signature
 * verifies at any hop against the identity the receiver holds for that PKI-ID (learned in a
 * handshake, from alive messages or by identity pull: the comm's identity mapper). A Fabric peer
 * skips the unknown field and ignores the signature of data messages.
 */

/** The PKI-ID a data message names as its originator, if any (not verified). */
export function originOf(message: SignedMessage): Buffer | undefined {
  const msg = message.message;
  const origin = msg.content === 'dataMsg' ? msg.dataMsg?.payload?.originPkiId : undefined;
  return origin !== undefined && origin !== null && origin.length > 0 ? Buffer.from(origin) : undefined;
}

/**
 * Checks that a data message was signed by the originator it names, with the identity `mapper`
 * holds for it (pass `comm.identityMapper`). Returns that originator's PKI-ID.
 *
 * Throws DecodeError when the message is not a data message with a payload, SignatureError when
 * it names no originator, is unsigned or its signature does not verify (or is high-S), and
 * UnknownOriginError (an IdentityError) when the mapper holds no identity for the originator.
 */
export function verifyDataMessage(message: SignedMessage, mapper: IdentityMapper): Buffer {
  const origin = claimedOrigin(message, mapper).origin;
  mapper.verify(origin, message.signature, message.payload);
  return origin;
}

/**
 * verifyDataMessage with the ECDSA verification on libuv's threadpool (node:crypto's async
 * verify), so that a receiver keeps reading and the machine's other cores verify. Checks the
 * signature against the public key of the certificate in the identity the mapper holds, with
 * Fabric's rules (those of MspIdentityMapper): a mapper with other rules should use
 * verifyDataMessage. The same typed errors, as rejections.
 */
export function verifyDataMessageAsync(message: SignedMessage, mapper: IdentityMapper): Promise<Buffer> {
  try {
    const { origin, identity } = claimedOrigin(message, mapper);
    return verifySignatureAsync(publicKeyOf(identity), message.payload, message.signature).then(() => origin);
  } catch (err: unknown) {
    return Promise.reject(err);
  }
}

/**
 * The checks of verifyDataMessage that need no cryptography: the originator a signed data
 * message names and the identity the mapper holds for it. Throws the same typed errors.
 */
export function claimedOrigin(message: SignedMessage, mapper: IdentityMapper): { origin: Buffer; identity: Uint8Array } {
  const msg = message.message;
  if (msg.content !== 'dataMsg' || !msg.dataMsg?.payload) throw new DecodeError('not a data message with a payload');
  const origin = originOf(message);
  if (origin === undefined) throw new SignatureError('data message names no originator');
  if (message.signature.length === 0) throw new SignatureError(`data message from ${origin.toString('hex')} is unsigned`);
  const identity = mapper.get(origin);
  if (identity === undefined) throw new UnknownOriginError(origin);
  return { origin, identity };
}

/**
 * Public keys by identity, as the mapper returns it (the same stored bytes each time, so the
 * certificate is parsed once; the entry goes when the mapper lets go of the identity).
 */
const keys = new WeakMap<Uint8Array, KeyObject>();

/** The public key of the certificate in a (validated) identity. Throws IdentityError. */
export function publicKeyOf(identity: Uint8Array): KeyObject {
  let key = keys.get(identity);
  if (key === undefined) {
    try {
      key = new X509Certificate(parseIdentity(identity).idBytes).publicKey;
    } catch (err: unknown) {
      throw new IdentityError(`identity holds no usable certificate: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
    keys.set(identity, key);
  }
  return key;
}
