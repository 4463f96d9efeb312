import { TLSSocket } from 'node:tls';
import type { ServerGossipStream } from '../wire/service.js';
import { findHttp2Stream } from './frame-sink.js';

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
  const http2 = findHttp2Stream(call)?.http2 as { session?: { socket?: unknown } } | undefined;
  const socket = http2?.session?.socket;
  return socket instanceof TLSSocket ? socket : undefined;
}

/**
 * The DER of the TLS certificate a client presented on a call we serve, as grpc-js's
 * `getAuthContext().sslPeerCertificate.raw` gives it: only on a TLS connection whose client
 * certificate verified against our TLS CAs (`authorized`), else undefined.
 *
 * Why not getAuthContext: on the serving side it calls `getPeerCertificate()` on every call,
 * which turns the whole certificate into a JS object (names, extensions, the public key, three
 * fingerprints) to hand out one field; `getPeerX509Certificate().raw` takes the DER alone (about
 * 45 µs against 5 µs, on every accepted connection). (A client's auth context is built once per
 * connection by grpc-js itself, whatever we call, so the dialing side keeps using it.)
 */
export function peerCertificate(call: ServerGossipStream, socket = servedTlsSocket(call)): Buffer | undefined {
  if (socket) return socket.authorized ? socket.getPeerX509Certificate()?.raw : undefined;
  return call.getAuthContext()?.sslPeerCertificate?.raw;
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
