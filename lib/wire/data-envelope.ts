import type Long from 'long';
import type { gossip } from '../proto/messages.js';
import { SignedMessage, type MessageSigner } from './signed-message.js';

/** What a published data message holds (GossipMessage{channel, tag, data_msg{payload}}, nonce 0). */
export interface DataEnvelopeInit {
  readonly channel: Uint8Array;
  readonly tag: gossip.GossipMessage.Tag;
  readonly seqNum: Long;
  readonly data: Uint8Array;
  /** The originator's PKI-ID (Payload field 1000), or empty for none. */
  readonly originPkiId: Uint8Array;
}

/** Room left after the payload for the signature field: tag, one length byte, a DER P-256/P-384 signature. */
const SIGNATURE_ROOM = 2 + 125;
const NO_SIGNATURE = new Uint8Array(0);

/**
 * Builds the Envelope of a data message in one buffer: the bytes protobufjs would write for
 * `SignedMessage.create(message, signer)` (proto3 defaults left out, fields in number order),
 * without its writer's intermediate objects and the second encoding of the payload into the
 * Envelope. Push publishes every message through here; at tens of thousands of messages a
 * second the generic encoder was a sixth of the sender's CPU. spec/wire/data-envelope.spec.ts
 * checks the bytes against protobufjs.
 */
export function encodeDataEnvelope(init: DataEnvelopeInit, signer?: MessageSigner): SignedMessage {
  const { channel, tag, seqNum, data, originPkiId } = init;
  const seqSet = seqNum.low !== 0 || seqNum.high !== 0;
  const payloadLen =
    (seqSet ? 1 + varint64Size(seqNum) : 0) +
    (data.length > 0 ? 1 + varintSize(data.length) + data.length : 0) +
    (originPkiId.length > 0 ? 2 + varintSize(originPkiId.length) + originPkiId.length : 0);
  const dataMsgLen = 1 + varintSize(payloadLen) + payloadLen;
  const messageLen =
    (channel.length > 0 ? 1 + varintSize(channel.length) + channel.length : 0) +
    (tag !== 0 ? 1 + varintSize(tag) : 0) +
    1 +
    varintSize(dataMsgLen) +
    dataMsgLen;
  const head = 1 + varintSize(messageLen);
  const buf = Buffer.allocUnsafe(head + messageLen + (signer ? SIGNATURE_ROOM : 0));

  let pos = 0;
  buf[pos++] = 0x0a; // Envelope.payload
  pos = writeVarint(buf, pos, messageLen);
  if (channel.length > 0) {
    buf[pos++] = 0x12; // GossipMessage.channel
    pos = writeVarint(buf, pos, channel.length);
    pos += copy(channel, buf, pos);
  }
  if (tag !== 0) {
    buf[pos++] = 0x18; // GossipMessage.tag
    pos = writeVarint(buf, pos, tag);
  }
  buf[pos++] = 0x42; // GossipMessage.data_msg
  pos = writeVarint(buf, pos, dataMsgLen);
  buf[pos++] = 0x0a; // DataMessage.payload
  pos = writeVarint(buf, pos, payloadLen);
  if (seqSet) {
    buf[pos++] = 0x08; // Payload.seq_num
    pos = writeVarint64(buf, pos, seqNum.low >>> 0, seqNum.high >>> 0);
  }
  if (data.length > 0) {
    buf[pos++] = 0x12; // Payload.data
    pos = writeVarint(buf, pos, data.length);
    pos += copy(data, buf, pos);
  }
  if (originPkiId.length > 0) {
    buf[pos++] = 0xc2; // Payload.origin_pki_id: field 1000, length-delimited (varint 8002)
    buf[pos++] = 0x3e;
    pos = writeVarint(buf, pos, originPkiId.length);
    pos += copy(originPkiId, buf, pos);
  }

  // The GossipMessage is decoded from the payload if anyone asks for it: push does not.
  const payload = buf.subarray(head, pos);
  if (!signer) return SignedMessage.fromEncoded({ payload, signature: NO_SIGNATURE }, buf);
  const signature = signer.sign(payload);
  if (signature.length === 0) return SignedMessage.fromEncoded({ payload, signature }, buf.subarray(0, pos));
  const need = 1 + varintSize(signature.length) + signature.length;
  let out = buf;
  if (pos + need > buf.length) {
    // A signature longer than the room kept for it (not ECDSA P-256/P-384): grow once.
    out = Buffer.allocUnsafe(pos + need);
    buf.copy(out, 0, 0, pos);
  }
  out[pos++] = 0x12; // Envelope.signature
  pos = writeVarint(out, pos, signature.length);
  pos += copy(signature, out, pos);
  return SignedMessage.fromEncoded({ payload: out === buf ? payload : out.subarray(head, head + messageLen), signature }, out.subarray(0, pos));
}

function copy(from: Uint8Array, to: Buffer, at: number): number {
  to.set(from, at);
  return from.length;
}

function varintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

function writeVarint(buf: Buffer, pos: number, value: number): number {
  while (value > 0x7f) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buf[pos++] = value;
  return pos;
}

function varint64Size(value: Long): number {
  const lo = value.low >>> 0;
  const hi = value.high >>> 0;
  if (hi === 0) return varintSize(lo);
  // 32 bits of `lo`, then 7 more per byte: 5 bytes hold 35 bits, each further byte 7 more.
  let size = 5;
  for (let rest = hi >>> 3; rest > 0; rest >>>= 7) size++;
  return size;
}

function writeVarint64(buf: Buffer, pos: number, lo: number, hi: number): number {
  while (hi > 0 || lo > 0x7f) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  buf[pos++] = lo;
  return pos;
}
