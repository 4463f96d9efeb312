import { TLSSocket } from 'node:tls';
import type { ServerGossipStream } from '../wire/service.js';
import { derElement } from '../identity/der-element.js';
import { ownCopy } from '../identity/kept-bytes.js';
import { http2SessionOf } from './frame-sink.js';

/**
 * What the serving side takes from, and gives back to, the TLS socket under a call: the client's
 * certificate, and the memory Node keeps for the TLS handshake only.
 *
 * The socket is reached through the call's http2 stream as FrameSink finds it; on a call of
 * another shape (grpc-js changed, interceptors) it is not found, and the certificate comes from
 * grpc-js's auth context as before.
 */

/** The TLS socket of a call we serve, or undefined (plaintext, or a call of another shape). */
export function servedTlsSocket(call: ServerGossipStream): TLSSocket | undefined {
  return tlsSocketOf(http2SessionOf(call));
}

/** The TLS socket under an HTTP/2 session (see http2SessionOf), if it is one. */
export function tlsSocketOf(session: Record<string, unknown> | undefined): TLSSocket | undefined {
  const socket = session?.socket;
  return socket instanceof TLSSocket ? socket : undefined;
}

/**
 * The DER of the TLS certificate a client presented on a call we serve, as grpc-js's
 * `getAuthContext().sslPeerCertificate.raw` gives it: only on a TLS connection whose client
 * certificate verified against our TLS CAs (`authorized`), else undefined.
 *
 * Why not getAuthContext: it calls `getPeerCertificate()`, which turns the whole certificate into
 * a JS object (names, extensions, the public key, three fingerprints) to hand out one field:
 * about 145 µs on the first call for a connection (`getPeerX509Certificate()`, 350 µs). The
 * encoded TLS session (`getSession()`, 15 µs) carries the same DER: OpenSSL's SSL_SESSION
 * encoding holds the peer's certificate as its `[3]` field. Anything unexpected there falls back
 * to getPeerCertificate, and a call whose socket was not found (`socket` undefined, see
 * servedTlsSocket and tlsSocketOf) to grpc-js's auth context.
 * (A client's auth context is built once per connection by grpc-js itself, whatever we call, so
 * the dialing side keeps using it.)
 */
export function peerCertificate(call: ServerGossipStream, socket: TLSSocket | undefined): Buffer | undefined {
  if (!socket) return call.getAuthContext()?.sslPeerCertificate?.raw;
  if (!socket.authorized) return undefined;
  const session = socket.getSession();
  if (session) {
    const found = sessionPeerCertificate(session);
    // The session also holds the connection's master secret: do not leave it lying around.
    session.fill(0);
    if (found) return found;
  }
  return socket.getPeerCertificate().raw;
}

/**
 * A copy of the certificate in an encoded SSL_SESSION (OpenSSL's SSL_SESSION_ASN1,
 * `SEQUENCE { version, ssl_version, cipher, session_id, master_key, ..., peer [3] EXPLICIT
 * Certificate OPTIONAL, ... }`), or undefined when it is not there or not a DER SEQUENCE that
 * fills its field exactly.
 */
export function sessionPeerCertificate(session: Uint8Array): Buffer | undefined {
  const outer = derElement(session, 0, session.length, 0x30);
  if (outer === undefined || outer.end !== session.length) return undefined;
  for (let pos = outer.content; pos < outer.end; ) {
    const field = derElement(session, pos, outer.end);
    if (field === undefined) return undefined;
    if (field.tag === 0xa3) {
      const cert = derElement(session, field.content, field.end, 0x30);
      if (cert === undefined || cert.end !== field.end) return undefined;
      // Of its own: the connection keeps it (ConnectionInfo.auth), the session must not stay.
      return ownCopy(session.subarray(cert.start, cert.end));
    }
    pos = field.end;
  }
  return undefined;
}

/**
 * Lets go of the copy of the ALPN protocol list ("h2") Node made for this socket's TLS handshake.
 *
 * Why: Node copies the server's list into each accepted socket's options (3 bytes taken from
 * Buffer's shared 8 KiB pool) and keeps it for the socket's life, though it only reads it once,
 * before the handshake. Every accepted gossip connection also takes about 1 KB of the pool for a
 * moment (grpc-js joining our ConnEstablish from its two chunks), so each slab ends up holding a
 * few of these 3-byte copies and stays pinned: about 1.1 KiB of ArrayBuffers per live connection
 * in bench section 3's server (heap snapshots at 500 connections), none once released. Called
 * when the handshake message is read, long after TLS set the protocol.
 */
export function releaseAlpnCopy(socket: TLSSocket): void {
  const options = (socket as unknown as { _tlsOptions?: { ALPNProtocols?: unknown } })._tlsOptions;
  if (typeof options === 'object' && options !== null && options.ALPNProtocols !== undefined) {
    options.ALPNProtocols = undefined;
  }
}
