import { Metadata } from '@grpc/grpc-js';
import type { ClientGossipStream, ServerGossipStream } from '../wire/service.js';
import { callChain, isHttp2StreamWith, isObject } from './grpc-call-chain.js';
import type { OutboundSink } from './outbound-buffer.js';

/**
 * The write side of an http2 stream, as grpc-js holds it under a call (a `ClientHttp2Stream` or
 * `ServerHttp2Stream`: a Writable of bytes that batches queued writes with `_writev`).
 */
interface Http2Writable {
  write(chunk: Buffer, callback?: (err?: Error | null) => void): boolean;
  once(event: 'drain', listener: () => void): unknown;
  removeListener(event: 'drain', listener: () => void): unknown;
  cork(): void;
  uncork(): void;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
}

type GossipStream = ClientGossipStream | ServerGossipStream;

/** Up to this size a message is copied behind its prefix (one write); above, it is written as is. */
const COPY_LIMIT = 4096;

/**
 * An outbound sink that writes gRPC length-prefixed frames straight into the call's http2
 * stream, where grpc-js would write them one at a time.
 *
 * Why: a grpc-js call is an object-mode Writable without `_writev`, and it completes each
 * message's write only after the http2 layer flushed it (plus a nextTick): however many messages
 * are queued, it hands the http2 stream one per flush. Framing them here (the same 5-byte prefix
 * grpc-js adds: uncompressed flag, big-endian length) and writing them to the http2 stream lets
 * its own Writable batch everything queued into one write: in a loaded loop, a third of the CPU
 * per message and several times the messages per second (bench/RESULTS.md, section 1b).
 *
 * Safety: the direct path is taken only when grpc-js has nothing of its own in flight on the call
 * (so the order of messages is kept), the call's headers are out, and the call is the plain
 * chain grpc-js builds without interceptors (found by shape below; any other shape, e.g. a newer
 * grpc-js or a server with interceptors, falls back to the grpc-js stream, which stays correct).
 * Only channelz's per-call message counters miss these messages; retries are disabled on our
 * channels, so no retry buffer is bypassed.
 */
export class FrameSink implements OutboundSink {
  /** Where the last write that returned false went: 'drain' is awaited there. */
  private blocked: Http2Writable | GossipStream | undefined;

  private constructor(
    private readonly call: GossipStream,
    private readonly http2: Http2Writable,
    /** Whether grpc-js has sent the call's headers (server side); true on the client side. */
    private readonly headersSent: () => boolean,
  ) {}

  /** A FrameSink for the call, or the call itself when its http2 stream cannot be found. */
  static for(call: GossipStream): OutboundSink {
    const found = findHttp2Stream(call);
    return found ? new FrameSink(call, found.http2, found.headersSent) : call;
  }

  write(bytes: Buffer, callback?: (err?: Error | null) => void): boolean {
    const http2 = this.http2;
    // grpc-js's own writes (the handshake message) must reach the wire first.
    if (this.call.writableLength > 0 || !this.headersSent() || http2.destroyed || http2.writableEnded) {
      return this.track(this.call, this.call.write(bytes, callback));
    }
    if (bytes.length >= COPY_LIMIT) {
      // Large: the prefix, then the message as it is.
      const prefix = Buffer.allocUnsafe(5);
      prefix[0] = 0;
      prefix.writeUInt32BE(bytes.length, 1);
      // Corked (nests with the buffer's own cork): both leave in one write, not the second a turn later.
      http2.cork();
      http2.write(prefix);
      const more = http2.write(bytes, callback);
      http2.uncork();
      return this.track(http2, more);
    }
    const frame = Buffer.allocUnsafe(bytes.length + 5);
    frame[0] = 0;
    frame.writeUInt32BE(bytes.length, 1);
    bytes.copy(frame, 5);
    return this.track(http2, http2.write(frame, callback));
  }

  once(event: 'drain', listener: () => void): unknown {
    return (this.blocked ?? this.http2).once(event, listener);
  }

  removeListener(event: 'drain', listener: () => void): unknown {
    this.http2.removeListener(event, listener);
    return this.call.removeListener(event, listener);
  }

  cork(): void {
    this.http2.cork();
  }

  uncork(): void {
    this.http2.uncork();
  }

  private track(target: Http2Writable | GossipStream, more: boolean): boolean {
    this.blocked = more ? undefined : target;
    return more;
  }
}

/** Frames of messages written again and again (a comm's own ConnEstablish), built once. */
const frames = new WeakMap<Buffer, Buffer>();

/**
 * Writes the first message of a stream this side serves (our ConnEstablish), from a frame built
 * once per message and reused by every connection, when the call has the plain shape FrameSink
 * reads (else through grpc-js, as any write). The call's headers are sent first, as grpc-js does
 * on a first write.
 *
 * Why: grpc-js frames each write into a new buffer taken from Buffer's shared 8 KiB pool. Kept
 * buffers of others (node keeps a small one per TLS socket) land in the same slabs, so 1.2 KB
 * taken and dropped per accepted connection left about one pinned slab per five connections
 * (heap snapshots of bench section 3's server).
 */
export function writeFirstFramed(call: ServerGossipStream, bytes: Buffer): void {
  const found = findHttp2Stream(call);
  if (found && call.writableLength === 0 && !found.http2.destroyed && !found.http2.writableEnded) {
    if (!found.headersSent()) call.sendMetadata(new Metadata());
    if (found.headersSent()) {
      let frame = frames.get(bytes);
      if (frame === undefined) {
        frame = Buffer.allocUnsafeSlow(bytes.length + 5);
        frame[0] = 0;
        frame.writeUInt32BE(bytes.length, 1);
        bytes.copy(frame, 5);
        frames.set(bytes, frame);
      }
      found.http2.write(frame);
      return;
    }
  }
  call.write(bytes);
}

/** The node http2 stream under a call, as findHttp2Stream finds it (undefined for a call of another shape). */
export function http2StreamOf(call: GossipStream): Record<string, unknown> | undefined {
  return findHttp2Stream(call)?.http2 as Record<string, unknown> | undefined;
}

/**
 * The node Http2Session a call runs on (see http2StreamOf): where the serving side reaches the
 * connection's window and TLS socket.
 */
export function http2SessionOf(call: GossipStream): Record<string, unknown> | undefined {
  const session = http2StreamOf(call)?.session;
  return isObject(session) ? session : undefined;
}

/**
 * The http2 stream under a call (see callChain): the subchannel call's `http2Stream` on the
 * client, the base call's `stream` on the server, with whether its headers are out.
 */
function findHttp2Stream(call: GossipStream): { http2: Http2Writable; headersSent: () => boolean } | undefined {
  for (const node of callChain(call)) {
    if (isHttp2Writable(node.http2Stream)) return { http2: node.http2Stream, headersSent: () => true };
    if (isHttp2Writable(node.stream) && typeof node.metadataSent === 'boolean') {
      return { http2: node.stream, headersSent: () => node.metadataSent === true };
    }
  }
  return undefined;
}

const WRITABLE = ['write', 'cork', 'uncork', 'once'] as const;

function isHttp2Writable(value: unknown): value is Http2Writable {
  return isHttp2StreamWith(value, WRITABLE);
}
