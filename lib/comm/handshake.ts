import { createHash, X509Certificate } from 'node:crypto';
import { gossip } from '../proto/messages.js';
import { HandshakeError, IdentityError, SignatureError } from '../errors.js';
import type { IdentityMapper } from '../identity/identity-mapper.js';
import { markKeepable, ownCopy } from '../identity/kept-bytes.js';
import type { MessageSigner } from '../wire/signed-message.js';

/**
 * Building and checking ConnEstablish, the first message each side of a new stream sends (Fabric's
 * `createConnectionMsg` and `authenticateRemotePeer`). No I/O here: the caller hands in the bytes
 * received and the TLS certificate the remote presented.
 */

/** What the local side puts in its ConnEstablish. */
export interface ConnEstablishSource {
  readonly pkiId: Uint8Array;
  readonly identity: Uint8Array;
  readonly signer: MessageSigner;
}

/** The remote side, as proven by its ConnEstablish. */
export interface AuthenticatedRemote {
  readonly pkiId: Buffer;
  readonly identity: Uint8Array;
  /** The remote asked only to be authenticated (a probe handshake): nothing is to be kept. */
  readonly probe: boolean;
  /** The signed ConnEstablish payload and its signature (Fabric's AuthInfo). */
  readonly signedData: Uint8Array;
  readonly signature: Uint8Array;
}

/** What the check needs to know about this stream. */
export interface HandshakeContext {
  readonly mapper: IdentityMapper;
  /** TLS is on: the binding of `tls_cert_hash` to the presented certificate is checked. */
  readonly tls: boolean;
  /** DER of the TLS certificate the remote presented on this stream, if any. */
  readonly remoteCertificate?: Buffer;
  /**
   * TLS CAs the remote's certificate must chain to. The server asks for client certificates
   * without letting TLS refuse them (as Fabric), so that a refusal reaches the client as a
   * readable gossip-level reason; this is where such a certificate is judged.
   */
  readonly tlsRootCerts?: readonly X509Certificate[];
  /** The PKI-ID the dialer meant to reach. */
  readonly expectedPkiId?: Uint8Array;
}

/** SHA-256 of a certificate's DER: the value ConnEstablish.tls_cert_hash carries. */
export function certificateHash(der: Buffer): Buffer {
  return createHash('sha256').update(der).digest();
}

/** The DER of a PEM certificate (the first one in the text). */
export function pemToDer(pem: Buffer | string): Buffer {
  return new X509Certificate(pem).raw;
}

/**
 * Builds the signed Envelope bytes of our ConnEstablish:
 * `GossipMessage{ nonce: 0, tag: EMPTY, conn: { pki_id, identity, tls_cert_hash, probe } }`.
 */
export function buildConnEstablish(
  self: ConnEstablishSource,
  tlsCertHash: Uint8Array | undefined,
  probe: boolean,
): Buffer {
  const payload = gossip.GossipMessage.encode({
    nonce: 0,
    tag: gossip.GossipMessage.Tag.EMPTY,
    conn: {
      pkiId: self.pkiId,
      identity: self.identity,
      tlsCertHash: tlsCertHash ?? new Uint8Array(0),
      probe,
    },
  }).finish();
  const signature = self.signer.sign(payload);
  const envelope = gossip.Envelope.encode({ payload, signature }).finish();
  return Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength);
}

/**
 * Checks a received ConnEstablish in Fabric's order: it is a `conn` message; it has a PKI-ID; the
 * identity mapper accepts (PKI-ID, identity); the TLS certificate hash matches; the signature
 * verifies; it is the peer we meant to reach. Throws HandshakeError with the failing reason.
 */
export function checkConnEstablish(bytes: Buffer, ctx: HandshakeContext): AuthenticatedRemote {
  let envelope: gossip.Envelope;
  let message: gossip.GossipMessage;
  try {
    envelope = gossip.Envelope.decode(bytes);
    message = gossip.GossipMessage.decode(envelope.payload);
  } catch (err: unknown) {
    throw new HandshakeError('malformed', `handshake message does not decode: ${errorText(err)}`, { cause: err });
  }
  const conn = message.conn;
  if (message.content !== 'conn' || !conn) {
    throw new HandshakeError('not-conn', `wrong type of handshake message: expected conn, got ${message.content ?? 'none'}`);
  }
  const pkiId = asBuffer(conn.pkiId ?? new Uint8Array(0));
  if (pkiId.length === 0) {
    throw new HandshakeError('empty-pki-id', 'no PKI-ID in handshake message');
  }
  const received = conn.identity ?? new Uint8Array(0);
  let derived: Buffer;
  try {
    derived = ctx.mapper.pkiIdOf(received);
  } catch (err: unknown) {
    throw new HandshakeError('identity-rejected', `identity rejected: ${errorText(err)}`, { cause: err });
  }
  if (!derived.equals(pkiId)) {
    throw new HandshakeError('pki-id-mismatch', `PKI-ID ${pkiId.toString('hex')} does not match the identity (${derived.toString('hex')})`);
  }
  // Copied now, not once accepted: the mapper and the MSP then keep the connection's copy of
  // the identity rather than one each (kept-bytes.ts).
  const signature = envelope.signature ?? new Uint8Array(0);
  const kept = keptCopy(pkiId, received, envelope.payload, signature, conn.probe === true);
  const identity = kept.identity;
  try {
    ctx.mapper.put(pkiId, identity);
  } catch (err: unknown) {
    const reason = err instanceof IdentityError ? errorText(err) : `unexpected: ${errorText(err)}`;
    throw new HandshakeError('identity-rejected', `identity rejected: ${reason}`, { cause: err });
  }
  if (ctx.tls) {
    checkTlsBinding(conn.tlsCertHash ?? new Uint8Array(0), ctx);
  }
  try {
    ctx.mapper.verifyByIdentity(identity, kept.signature, kept.signedData);
  } catch (err: unknown) {
    const text = err instanceof SignatureError ? errorText(err) : `unexpected: ${errorText(err)}`;
    throw new HandshakeError('bad-signature', `handshake signature rejected: ${text}`, { cause: err });
  }
  if (ctx.expectedPkiId && ctx.expectedPkiId.length > 0 && !pkiId.equals(Buffer.from(ctx.expectedPkiId))) {
    throw new HandshakeError(
      'unexpected-peer',
      `remote is ${pkiId.toString('hex')}, expected ${Buffer.from(ctx.expectedPkiId).toString('hex')}`,
    );
  }
  return kept;
}

/**
 * What the connection keeps for its life, in one allocation of its own: the signed payload, the
 * signature and the PKI-ID copied once, the identity a view into the payload copy (it is one of
 * the payload's fields). Of its own because decoded fields are views into the buffer received,
 * and Buffer.from of a small array takes a slice of a shared 8 KiB pool: either way, bytes kept
 * as long as a connection lives would hold on to far more memory than their size. One instead
 * of four because each allocation costs more than the bytes (an ArrayBuffer and its Buffer).
 */
function keptCopy(pkiId: Buffer, identity: Uint8Array, payload: Uint8Array, signature: Uint8Array, probe: boolean): AuthenticatedRemote {
  const block = Buffer.allocUnsafeSlow(payload.length + signature.length + pkiId.length);
  block.set(payload, 0);
  block.set(signature, payload.length);
  block.set(pkiId, payload.length + signature.length);
  const signedData = block.subarray(0, payload.length);
  const at = identity.byteOffset - payload.byteOffset;
  const inside = identity.buffer === payload.buffer && at >= 0 && at + identity.length <= payload.length;
  return {
    pkiId: block.subarray(payload.length + signature.length),
    identity: markKeepable(inside ? signedData.subarray(at, at + identity.length) : ownCopy(identity)),
    probe,
    signedData,
    signature: block.subarray(payload.length, payload.length + signature.length),
  };
}

/** The same bytes as a Buffer, without copying. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function checkTlsBinding(claimed: Uint8Array, ctx: HandshakeContext): void {
  const cert = ctx.remoteCertificate;
  if (!cert || cert.length === 0) {
    // A server sees only client certificates that chain to its TLS CAs (peerCertificate, as
    // grpc-js's auth context): an untrusted one reads as none.
    throw new HandshakeError(
      'no-client-certificate',
      'no TLS certificate presented by the remote (or one not issued by a trusted TLS CA)',
    );
  }
  if (ctx.tlsRootCerts && ctx.tlsRootCerts.length > 0 && !chainsTo(cert, ctx.tlsRootCerts)) {
    throw new HandshakeError('tls-binding', 'TLS certificate is not issued by a trusted TLS CA');
  }
  const actual = certificateHash(cert);
  if (!actual.equals(Buffer.from(claimed))) {
    throw new HandshakeError(
      'tls-binding',
      `expected ${actual.toString('hex')} in remote hash, but got ${Buffer.from(claimed).toString('hex') || 'nothing'}`,
    );
  }
}

function chainsTo(der: Buffer, roots: readonly X509Certificate[]): boolean {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(der);
  } catch {
    return false;
  }
  const now = Date.now();
  if (Date.parse(leaf.validFrom) > now || Date.parse(leaf.validTo) < now) return false;
  return roots.some((root) => leaf.checkIssued(root) && leaf.verify(root.publicKey));
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
