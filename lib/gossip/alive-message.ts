import Long from 'long';
import { DecodeError, IdentityError } from '../errors.js';
import type { IdentityMapper } from '../identity/identity-mapper.js';
import { gossip } from '../proto/messages.js';
import { SignedMessage, type MessageSigner } from '../wire/signed-message.js';
import type { Member } from './membership-view.js';

/**
 * What checking an alive message needs: the PKI-ID of an identity, and a signature check by an
 * identity that is validated on the way (its MSP must trust it). An IdentityMapper is one.
 */
export type AliveVerifier = Pick<IdentityMapper, 'pkiIdOf' | 'verifyByIdentity'>;

/** The content of an alive message. */
export interface AliveMessageInit {
  readonly pkiId: Uint8Array;
  readonly endpoint: string;
  /** The sender's marshalled msp.SerializedIdentity. */
  readonly identity: Uint8Array;
  readonly incNum: Long;
  readonly seqNum: Long;
}

/**
 * Builds Fabric's `GossipMessage{tag: EMPTY, alive_msg: {membership: {endpoint, pki_id},
 * timestamp: {inc_num, seq_num}, identity}}`, signed over its payload by `signer`.
 */
export function createAliveMessage(init: AliveMessageInit, signer: MessageSigner): SignedMessage {
  return SignedMessage.create(
    {
      nonce: 0,
      tag: gossip.GossipMessage.Tag.EMPTY,
      aliveMsg: {
        membership: { endpoint: init.endpoint, pkiId: init.pkiId },
        timestamp: { incNum: init.incNum, seqNum: init.seqNum },
        identity: init.identity,
      },
    },
    signer,
  );
}

/**
 * Checks an alive message and returns the member it describes. Throws DecodeError when it is not
 * a complete alive message, IdentityError when its identity is not trusted or is not the one of
 * its PKI-ID, SignatureError when the envelope's signature is not that identity's.
 */
export function verifyAliveMessage(message: SignedMessage, verifier: AliveVerifier): Member {
  const msg = message.message;
  const alive = msg.content === 'aliveMsg' ? msg.aliveMsg : undefined;
  if (!alive) throw new DecodeError('not an alive message');
  const pkiId = alive.membership?.pkiId;
  const identity = alive.identity;
  if (!pkiId || pkiId.length === 0) throw new DecodeError('alive message without a PKI-ID');
  if (!identity || identity.length === 0) throw new DecodeError('alive message without an identity');
  if (!alive.timestamp) throw new DecodeError('alive message without a timestamp');
  if (!alive.membership?.endpoint) throw new DecodeError('alive message without an endpoint');
  if (!verifier.pkiIdOf(identity).equals(pkiId)) {
    throw new IdentityError('alive message: the PKI-ID is not the one of the identity it carries');
  }
  verifier.verifyByIdentity(identity, message.signature, message.payload);
  return {
    pkiId: Buffer.from(pkiId),
    endpoint: alive.membership.endpoint,
    identity,
    time: {
      incNum: Long.fromValue(alive.timestamp.incNum ?? 0).toUnsigned(),
      seqNum: Long.fromValue(alive.timestamp.seqNum ?? 0).toUnsigned(),
    },
  };
}
