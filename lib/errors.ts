import { status } from '@grpc/grpc-js';

/**
 * The base of every error rxgossip raises. `code` is the gRPC status the error maps to when it
 * crosses the wire (a handshake refusal ends the stream with it), so a remote peer, Fabric or
 * rxgossip, sees the same code and reason that the local side reports.
 */
export class GossipError extends Error {
  readonly code: status;

  constructor(message: string, code: status = status.UNKNOWN, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Why a handshake was refused, in the order Fabric checks. */
export type HandshakeFailure =
  | 'timeout'
  | 'stream-closed'
  | 'malformed'
  | 'not-conn'
  | 'empty-pki-id'
  | 'identity-rejected'
  | 'pki-id-mismatch'
  | 'tls-binding'
  | 'no-client-certificate'
  | 'bad-signature'
  | 'unexpected-peer'
  | 'remote-refused';

/**
 * The ConnEstablish exchange failed. Fabric ends such a stream with status UNKNOWN and the
 * reason as the message; we do the same, and keep the reason machine-readable in `reason`.
 */
export class HandshakeError extends GossipError {
  readonly reason: HandshakeFailure;

  constructor(reason: HandshakeFailure, message: string, options?: { cause?: unknown }) {
    super(message, reason === 'timeout' ? status.DEADLINE_EXCEEDED : status.UNKNOWN, options);
    this.reason = reason;
  }
}

/** An identity could not be parsed, validated against its MSP's CAs, or mapped to its PKI-ID. */
export class IdentityError extends GossipError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, status.PERMISSION_DENIED, options);
  }
}

/** A signature did not verify (including high-S signatures, which Fabric refuses). */
export class SignatureError extends GossipError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, status.PERMISSION_DENIED, options);
  }
}

/**
 * A signature names a PKI-ID whose identity this peer does not know (yet): nothing to verify it
 * against. Not proof of forgery: the identity may arrive later (membership, identity pull).
 */
export class UnknownOriginError extends IdentityError {
  readonly pkiId: Buffer;

  constructor(pkiId: Uint8Array) {
    const id = Buffer.from(pkiId);
    super(`unknown originator ${id.toString('hex')}: no identity to verify its signature with`);
    this.pkiId = id;
  }
}

/** Bytes received did not decode as the protobuf message they must be. */
export class DecodeError extends GossipError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, status.INVALID_ARGUMENT, options);
  }
}

/** A message is larger than the configured maximum send or receive size. */
export class MessageTooLargeError extends GossipError {
  readonly size: number;
  readonly limit: number;

  constructor(size: number, limit: number) {
    super(`message of ${size} bytes exceeds the limit of ${limit} bytes`, status.RESOURCE_EXHAUSTED);
    this.size = size;
    this.limit = limit;
  }
}

/** A connection's outbound buffer was full and the overflow policy is `error`. */
export class BufferOverflowError extends GossipError {
  constructor(message: string) {
    super(message, status.RESOURCE_EXHAUSTED);
  }
}

/** The connection a message was queued on closed before the message was written. */
export class ConnectionClosedError extends GossipError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, status.UNAVAILABLE, options);
  }
}

/** A remote peer could not be reached (dial, TLS or Ping failure). */
export class ConnectError extends GossipError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, status.UNAVAILABLE, options);
  }
}

/** An operation did not complete within its deadline. */
export class TimeoutError extends GossipError {
  constructor(message: string) {
    super(message, status.DEADLINE_EXCEEDED);
  }
}

/** The comm instance was stopped; nothing more can be sent or dialed. */
export class StoppedError extends GossipError {
  constructor(message = 'comm is stopped') {
    super(message, status.CANCELLED);
  }
}

/** A Fabric-style peer directory is missing files or holds unusable keys or certificates. */
export class PeerDirError extends GossipError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, status.FAILED_PRECONDITION, options);
  }
}

/**
 * An alive message carries no identity and none is stored for its PKI-ID: not necessarily a
 * forgery, the identity is not known yet (Fabric's "Don't have certificate for"). Pull the
 * identity and the next alive message will do.
 */
export class UnknownIdentityError extends SignatureError {
  readonly pkiId: Buffer;

  constructor(pkiId: Buffer) {
    super(`no identity known for PKI-ID ${pkiId.toString('hex')} (the alive message carries none)`);
    this.pkiId = pkiId;
  }
}

/** The live page's built assets (lib/ui/assets, made by `npm run build:ui`) are missing. */
export class UiAssetsMissingError extends GossipError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, status.FAILED_PRECONDITION, options);
  }
}
