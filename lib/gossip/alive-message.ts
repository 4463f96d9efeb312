import Long from 'long';
import { DecodeError, IdentityError, SignatureError, UnknownIdentityError } from '../errors.js';
import type { IdentityMapper } from '../identity/identity-mapper.js';
import { gossip } from '../proto/messages.js';
import { SignedMessage, keepingUnknownFields, type MessageSigner } from '../wire/signed-message.js';
import type { Member } from './membership-view.js';

/**
 * What checking an alive message needs: Fabric's identity mapper as the membership sees it. An
 * alive message that embeds its sender's identity is checked against that identity, which is then
 * stored (`put` validates it); one without is checked against the identity stored for its PKI-ID.
 * An IdentityMapper (e.g. `comm.identityMapper`) is one.
 */
export type AliveVerifier = Pick<IdentityMapper, 'pkiIdOf' | 'verifyByIdentity' | 'put' | 'get' | 'verify' | 'has'>;

/** The content of an alive message. */
export interface AliveMessageInit {
  readonly pkiId: Uint8Array;
  /** The external endpoint, for everyone; '' when the peer has none (Fabric's default). */
  readonly endpoint: string;
  /**
   * The sender's marshalled msp.SerializedIdentity. Fabric embeds it only during publishCertPeriod
   * after start; afterwards receivers know it (handshake, earlier alive messages, identity pull).
   */
  readonly identity?: Uint8Array;
  /** The endpoint peers of the sender's own organization reach it at, in the signed secret envelope. */
  readonly internalEndpoint?: string;
  readonly incNum: Long;
  readonly seqNum: Long;
}

/**
 * Builds Fabric's `GossipMessage{tag: EMPTY, alive_msg: {membership: {endpoint, pki_id},
 * timestamp: {inc_num, seq_num}, identity}}`, signed over its payload by `signer`, with the
 * internal endpoint (when given) in a SecretEnvelope signed by the same signer, as Fabric's
 * discovery security adapter does.
 */
export function createAliveMessage(init: AliveMessageInit, signer: MessageSigner): SignedMessage {
  const signed = SignedMessage.create(
    {
      nonce: 0,
      tag: gossip.GossipMessage.Tag.EMPTY,
      aliveMsg: {
        membership: { endpoint: init.endpoint, pkiId: init.pkiId },
        timestamp: { incNum: init.incNum, seqNum: init.seqNum },
        ...(init.identity && init.identity.length > 0 ? { identity: init.identity } : {}),
      },
    },
    signer,
  );
  if (!init.internalEndpoint) return signed;
  const payload = gossip.Secret.encode({ internalEndpoint: init.internalEndpoint }).finish();
  return SignedMessage.fromEnvelope({
    ...signed.envelope,
    secretEnvelope: { payload, signature: signer.sign(payload) },
  });
}

/** The same alive message without its secret envelope (what peers of other organizations get). */
export function withoutSecret(message: SignedMessage): SignedMessage {
  if (!message.envelope.secretEnvelope) return message;
  return SignedMessage.fromEnvelope({ payload: message.envelope.payload, signature: message.envelope.signature });
}

/** The internal endpoint in a SecretEnvelope, or '' when absent or undecodable (as Fabric). */
export function internalEndpointOf(secret: gossip.ISecretEnvelope | null | undefined): string {
  if (!secret?.payload || secret.payload.length === 0) return '';
  try {
    return gossip.Secret.decode(keepingUnknownFields(secret.payload)).internalEndpoint ?? '';
  } catch {
    return '';
  }
}

/**
 * Checks an alive message as Fabric's discovery does and returns the member it describes.
 *
 * With an embedded identity: its PKI-ID must be the message's, the signature must be that
 * identity's, and the identity is then stored in `verifier`. Without one: the signature is checked
 * against the identity stored for the PKI-ID. A secret envelope must be signed by the same
 * identity; its internal endpoint is where the member is reached (Fabric's preferred endpoint),
 * which lets an alive message with an empty endpoint through. `known`, the secret this member's
 * previous alive message carried, spares the secret's signature check when it is unchanged.
 *
 * Throws DecodeError when it is not a complete alive message (or has no endpoint at all),
 * UnknownIdentityError when it carries no identity and none is stored for its PKI-ID,
 * IdentityError when its identity is not trusted or is not the one of its PKI-ID, SignatureError
 * when a signature is not that identity's.
 */
export function verifyAliveMessage(message: SignedMessage, verifier: AliveVerifier, known?: KnownSecret): Member {
  const msg = message.message;
  const alive = msg.content === 'aliveMsg' ? msg.aliveMsg : undefined;
  if (!alive) throw new DecodeError('not an alive message');
  const pkiId = alive.membership?.pkiId;
  if (!pkiId || pkiId.length === 0) throw new DecodeError('alive message without a PKI-ID');
  if (!alive.timestamp) throw new DecodeError('alive message without a timestamp');
  if (message.signature.length === 0) throw new SignatureError('alive message is not signed');
  const secret = message.envelope.secretEnvelope;
  let identity = alive.identity && alive.identity.length > 0 ? alive.identity : undefined;
  const stored = verifier.get(pkiId);
  // An identity we already hold is checked with its cached key, not validated against its MSP again.
  if (identity && stored && Buffer.from(stored).equals(identity)) identity = undefined;
  if (identity) {
    if (!verifier.pkiIdOf(identity).equals(pkiId)) {
      throw new IdentityError('alive message: the PKI-ID is not the one of the identity it carries');
    }
    verifier.verifyByIdentity(identity, message.signature, message.payload);
    if (secret) verifySecret(secret, (sig, data) => verifier.verifyByIdentity(identity!, sig, data));
    verifier.put(pkiId, identity);
  } else {
    identity = stored;
    if (!identity) throw new UnknownIdentityError(Buffer.from(pkiId));
    verifier.verify(pkiId, message.signature, message.payload);
    if (secret && !sameSecret(secret, identity, known)) verifySecret(secret, (sig, data) => verifier.verify(pkiId, sig, data));
  }
  const externalEndpoint = alive.membership?.endpoint ?? '';
  const internalEndpoint = internalEndpointOf(secret);
  const endpoint = internalEndpoint || externalEndpoint;
  if (!endpoint) throw new DecodeError('alive message without an endpoint (neither external nor internal)');
  return {
    pkiId: Buffer.from(pkiId),
    endpoint,
    externalEndpoint,
    internalEndpoint,
    identity,
    time: {
      incNum: Long.fromValue(alive.timestamp.incNum ?? 0).toUnsigned(),
      seqNum: Long.fromValue(alive.timestamp.seqNum ?? 0).toUnsigned(),
    },
  };
}

/**
 * A secret envelope payload already verified for a member, and the identity it was verified
 * with: the same payload under the same identity needs no second signature check. Every alive
 * message of a peer carries the same secret (its internal endpoint) with a fresh signature, and
 * a copy of an older secret can only restate what was verified; a new payload is verified.
 * (Fabric checks no secret envelope signature at all.)
 */
export interface KnownSecret {
  readonly identity: Uint8Array;
  readonly payload: Uint8Array;
}

function sameSecret(secret: gossip.ISecretEnvelope, identity: Uint8Array, known: KnownSecret | undefined): boolean {
  if (known === undefined || !secret.payload || secret.payload.length === 0) return false;
  return Buffer.compare(secret.payload, known.payload) === 0 && (known.identity === identity || Buffer.compare(known.identity, identity) === 0);
}

/** The secret of a verified alive message, for the next message of the same member. */
export function knownSecretOf(message: SignedMessage, member: Member): KnownSecret | undefined {
  const payload = message.envelope.secretEnvelope?.payload;
  return payload && payload.length > 0 ? { identity: member.identity, payload } : undefined;
}

function verifySecret(secret: gossip.ISecretEnvelope, verify: (signature: Uint8Array, data: Uint8Array) => void): void {
  if (!secret.payload || secret.payload.length === 0) throw new DecodeError('secret envelope with an empty payload');
  if (!secret.signature || secret.signature.length === 0) throw new SignatureError('secret envelope is not signed');
  verify(secret.signature, secret.payload);
}
