import protobuf from 'protobufjs/minimal.js';
import { gossip } from '../proto/messages.js';
import { DecodeError } from '../errors.js';

/**
 * A protobuf reader that keeps fields our schema does not know (a newer Fabric's), so that a
 * decoded message re-encodes to the bytes received. Per reader: protobufjs's global default,
 * shared with the application, is left alone.
 */
export function keepingUnknownFields(bytes: Uint8Array): protobuf.Reader {
  const reader = protobuf.Reader.create(bytes);
  reader.discardUnknown = false;
  return reader;
}

/** Envelope.payload: field 1, length-delimited. */
const ENVELOPE_PAYLOAD = 0x0a;
const NO_SIGNATURE = new Uint8Array(0);

/** Anything that can sign bytes: the local peer's signer. */
export interface MessageSigner {
  sign(data: Uint8Array): Uint8Array;
}

/** A GossipMessage as callers build it (plain object, numbers or Longs for uint64). */
export type GossipMessageInit = gossip.IGossipMessage;

/**
 * A gossip message together with the Envelope that carries it (Fabric's SignedGossipMessage).
 *
 * The envelope's payload bytes are kept exactly as signed or received: the message is decoded from
 * them once, and the envelope is encoded at most once, however many peers it is sent or forwarded
 * to. Forwarding a received message never re-encodes its signed payload.
 */
export class SignedMessage {
  private decoded: gossip.GossipMessage | undefined;
  private encoded: Buffer | undefined;

  private constructor(
    readonly envelope: gossip.IEnvelope,
    decoded?: gossip.GossipMessage,
    encoded?: Buffer,
  ) {
    this.decoded = decoded;
    this.encoded = encoded;
  }

  /**
   * Wraps a message in an Envelope, signed over the payload when a signer is given. Fabric's comm
   * does not check signatures after the handshake, so unsigned envelopes are legal on the wire;
   * upper layers that need them signed (membership) pass a signer.
   */
  static create(message: GossipMessageInit, signer?: MessageSigner): SignedMessage {
    const decoded = message instanceof gossip.GossipMessage ? message : gossip.GossipMessage.create(message);
    if (signer === undefined) {
      // Unsigned (what an application's send() builds): the Envelope is written around the
      // GossipMessage in one pass, its payload a view into it, instead of the payload encoded into
      // a buffer of its own and then copied into the Envelope's. A 1 KiB data message: 3.5 µs
      // instead of 6. The bytes are the same (spec/wire/signed-message.spec.ts).
      const writer = gossip.GossipMessage.encode(decoded, protobuf.Writer.create().uint32(ENVELOPE_PAYLOAD).fork()).ldelim();
      const raw = writer.finish();
      let at = 1;
      while ((raw[at]! & 0x80) !== 0) at++;
      at++;
      // An empty payload is left out of an Envelope altogether: encoded the usual way.
      if (at < raw.length) {
        const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
        return new SignedMessage({ payload: bytes.subarray(at), signature: NO_SIGNATURE }, decoded, bytes);
      }
    }
    const payload = gossip.GossipMessage.encode(decoded).finish();
    const signature = signer ? signer.sign(payload) : NO_SIGNATURE;
    return new SignedMessage({ payload, signature }, decoded);
  }

  /**
   * Wraps an Envelope its caller encoded itself (encodeDataEnvelope): `bytes` must be what
   * `{payload, signature}` encodes to (not checked). The message is decoded from `payload` when
   * first asked for, as for a received one.
   */
  static fromEncoded(envelope: { payload: Uint8Array; signature: Uint8Array }, bytes: Buffer): SignedMessage {
    return new SignedMessage(envelope, undefined, bytes);
  }

  /** Wraps an envelope already built elsewhere (e.g. one carried inside a DataUpdate). */
  static fromEnvelope(envelope: gossip.IEnvelope): SignedMessage {
    return new SignedMessage(envelope);
  }

  /**
   * Decodes a received Envelope. The GossipMessage inside is decoded lazily by `message`;
   * call `decode()` to force it and surface a DecodeError now.
   */
  static fromBytes(bytes: Buffer): SignedMessage {
    let envelope: gossip.Envelope;
    try {
      envelope = gossip.Envelope.decode(keepingUnknownFields(bytes));
    } catch (err: unknown) {
      throw new DecodeError(`envelope does not decode: ${describe(err)}`, { cause: err });
    }
    return new SignedMessage(envelope, undefined, bytes);
  }

  /** The GossipMessage in the payload, decoded once. Throws DecodeError. */
  get message(): gossip.GossipMessage {
    if (this.decoded === undefined) {
      try {
        this.decoded = gossip.GossipMessage.decode(keepingUnknownFields(this.envelope.payload ?? new Uint8Array(0)));
      } catch (err: unknown) {
        throw new DecodeError(`envelope payload is not a GossipMessage: ${describe(err)}`, { cause: err });
      }
    }
    return this.decoded;
  }

  /** The signed payload bytes, as signed or received. */
  get payload(): Uint8Array {
    return this.envelope.payload ?? new Uint8Array(0);
  }

  /** The signature over `payload` (empty when unsigned). */
  get signature(): Uint8Array {
    return this.envelope.signature ?? new Uint8Array(0);
  }

  /** The wire bytes of the Envelope: as received, or encoded once on first use. */
  get bytes(): Buffer {
    if (this.encoded === undefined) {
      const raw = gossip.Envelope.encode(this.envelope).finish();
      this.encoded = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    }
    return this.encoded;
  }

  /** Forces the payload to decode, so that a bad message is caught where it arrives. */
  decode(): this {
    void this.message;
    return this;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
