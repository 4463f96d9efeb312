import { HTTP2_DEFAULT_WINDOW } from './options.js';

/** The part of a node Http2Session this needs. */
interface WindowedSession {
  readonly destroyed: boolean;
  settings(settings: { initialWindowSize: number }): void;
  setLocalWindowSize(size: number): void;
}

/**
 * Sessions whose window was widened already: a remote may open more than one gossip stream on one
 * connection (a stream that ended, then another), and a session needs it once.
 */
const widened = new WeakSet<object>();

/**
 * Grants the peer of an accepted stream a receive window of `bytes`, per stream and for the
 * connection, once per HTTP/2 session (the call's, from http2SessionOf).
 *
 * Why: node grants 64 KiB, about 60 messages of 1 KiB, and returns window only as its event loop
 * reads. A sender that keeps the pipe full then waits a round trip every 64 KiB while the receiver
 * catches up: both sides sat idle about a quarter of the time (bench, "Push" section, loop
 * columns). grpc-go, which Fabric peers run, starts at 64 KiB too but grows its window up to
 * 16 MiB from the bandwidth-delay product it measures; grpc-js does neither on the server side,
 * and has no server option for it, hence this, on the session under the first gossip stream. (The
 * dialing side passes grpc-js's `grpc-node.flow_control_window`, see Dialer.)
 *
 * The window is credit, not memory: received data is handed to JavaScript as it arrives, so a
 * wider window reserves nothing per connection. On a call of another shape (a server with
 * interceptors, see http2SessionOf) the window stays node's.
 */
export function widenReceiveWindow(http2Session: Record<string, unknown> | undefined, bytes: number): void {
  if (bytes <= HTTP2_DEFAULT_WINDOW) return;
  const session = windowed(http2Session);
  if (session === undefined || widened.has(session) || session.destroyed) return;
  widened.add(session);
  try {
    // Streams opened before this SETTINGS is acknowledged grow by the difference (RFC 9113 6.9.2).
    session.settings({ initialWindowSize: bytes });
    session.setLocalWindowSize(bytes);
  } catch {
    // A session closing meanwhile: its window no longer matters.
  }
}

function windowed(session: Record<string, unknown> | undefined): WindowedSession | undefined {
  return typeof session?.settings === 'function' && typeof session.setLocalWindowSize === 'function'
    ? (session as unknown as WindowedSession)
    : undefined;
}
