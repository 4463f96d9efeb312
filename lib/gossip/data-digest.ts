import * as crypto from 'node:crypto';
import Long from 'long';
import type { SignedMessage } from '../wire/signed-message.js';

/**
 * How a data message is identified in the message store and in pull digests. Every peer must
 * compute the same digest for the same message, so it may only depend on what travels unchanged:
 * the envelope's signed payload bytes and what they decode to. Returns undefined for a message
 * that is not a DataMessage with a payload (such a message is ignored).
 */
export type DigestFn = (message: SignedMessage) => string | undefined;

/**
 * The default digest: hex SHA-256 of the envelope's payload bytes (the whole GossipMessage as
 * signed by its originator). Two different messages never share it, whatever their seq_num.
 */
export const payloadDigest: DigestFn = (message) => {
  if (message.message.content !== 'dataMsg' || !message.message.dataMsg?.payload) return undefined;
  return sha256Hex(message.payload);
};

/**
 * payloadDigest of a data message with these payload bytes, for a caller that knows it has a
 * data message with a payload (push, for what it publishes): nothing is decoded.
 */
export function payloadDigestOf(payload: Uint8Array): string {
  return sha256Hex(payload);
}

// One-shot hashing (Node ≥ 20.12) costs about half of a Hash object for a 1 KiB payload.
const sha256Hex: (data: Uint8Array) => string =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'hex')
    : (data) => crypto.createHash('sha256').update(data).digest('hex');

/**
 * Fabric's digest for blocks: the decimal seq_num of the payload. Only right when seq_num alone
 * identifies a message (one originator numbering its messages, as an orderer numbers blocks).
 */
export const seqNumDigest: DigestFn = (message) => {
  const payload = message.message.content === 'dataMsg' ? message.message.dataMsg?.payload : undefined;
  if (!payload) return undefined;
  return Long.fromValue(payload.seqNum ?? 0).toUnsigned().toString();
};
