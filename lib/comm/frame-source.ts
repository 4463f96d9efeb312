import type { GossipError } from '../errors.js';
import type { ClientGossipStream, ServerGossipStream } from '../wire/service.js';
import { FrameReader } from './frame-reader.js';
import { callChain, isHttp2StreamWith, isObject, type CallNode } from './grpc-call-chain.js';

type GossipStream = ClientGossipStream | ServerGossipStream;

/** The read side of an http2 stream, as grpc-js holds it under a call. */
interface Http2Readable {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  removeListener(event: 'data', listener: (chunk: Buffer) => void): unknown;
  listeners(event: 'data'): Array<(chunk: Buffer) => void>;
  listenerCount(event: 'data'): number;
  resume(): unknown;
  readonly destroyed: boolean;
  readonly readableEnded: boolean;
}

/** Reading a call's messages straight from its http2 stream; `stop()` lets go of the stream. */
export interface DirectRead {
  stop(): void;
}

/**
 * Takes over reading a call's messages from grpc-js: its http2 stream's bytes go to a
 * FrameReader instead of grpc-js's decoder, and each message to `onMessage` at once.
 *
 * Why: grpc-js hands a stream's messages over one at a time, each through a promise, a queue,
 * a pause and resume of the http2 stream and an object-mode Readable (on the client also a
 * nextTick and its filters' promise), where one read often holds dozens of messages. Reading the
 * frames here takes about a third off the receiving side's CPU per message (bench/RESULTS.md).
 *
 * Safety, as for FrameSink: only a call of the plain shape grpc-js builds without interceptors
 * is taken over, found by shape, and only while grpc-js holds nothing of it: no bytes of a
 * message half-read, no message decoded and not yet delivered. The size limit is grpc-js's own
 * for the call. Returns undefined while grpc-js holds something (it keeps reading; the caller may
 * try again after the next message), 'never' for a call this cannot read: another shape (a
 * grpc-js whose fields this does not find), a message encoding other than identity (Fabric
 * never compresses), another listener on the http2 stream's data, or a stream already ended.
 * What grpc-js no longer sees: channelz's per-call counts of messages received, as FrameSink's
 * sent ones.
 */
export function readDirectly(
  call: GossipStream,
  onMessage: (message: Buffer) => void,
  onError: (error: GossipError) => void,
): DirectRead | undefined | 'never' {
  const found = findReadSide(call);
  if (found === undefined || !found.identity()) return 'never';
  const { http2, idle, limit, decoder } = found;
  // Ended, or read by someone besides grpc-js: that will not change, so no retry per message.
  if (http2.destroyed || http2.readableEnded || http2.listenerCount('data') !== 1) return 'never';
  if (!idle() || (call as { readableLength?: number }).readableLength !== 0) return undefined;
  const grpcListener = http2.listeners('data')[0]!;
  const reader = new FrameReader(limit, onMessage, onError);
  const onData = (chunk: Buffer): void => reader.write(chunk);
  http2.removeListener('data', grpcListener);
  http2.on('data', onData);
  // grpc-js's decoder keeps views into the read that held the last message it decoded (its flag
  // byte and body) until it starts on a next message, which it never will now: that read (up to a
  // whole socket read) would stay pinned for the connection's life.
  if (Buffer.isBuffer(decoder.readCompressFlag)) decoder.readCompressFlag = Buffer.alloc(1);
  if (Array.isArray(decoder.readPartialMessage)) decoder.readPartialMessage = [];
  // grpc-js pauses the stream after each message until its reader asks for the next one.
  http2.resume();
  return {
    stop: () => {
      reader.stop();
      http2.removeListener('data', onData);
    },
  };
}

interface ReadSide {
  readonly http2: Http2Readable;
  /** Whether grpc-js holds nothing of the stream's messages (may change from message to message). */
  readonly idle: () => boolean;
  /** Whether the call's messages come without a message encoding (fixed once its headers are in). */
  readonly identity: () => boolean;
  readonly limit: number;
  /** grpc-js's StreamDecoder of the call. */
  readonly decoder: Decoder;
}

/**
 * The http2 stream under a call (see callChain) with what tells whether grpc-js is idle on it.
 * Server: the base call's `decoder`, `readQueue` (messages decoded or being decompressed, not
 * yet delivered), `incomingEncoding`, `cancelled`. Client: the resolving call's filters (its
 * `readFilterPending`, and a compression filter reading identity), then the subchannel call's
 * `decoder`, `unpushedReadMessages`, `isPushPending`, `isReadFilterPending`, `statusOutput`. Every
 * one of them must be found with its type, or the call is not read here (undefined): a grpc-js
 * that renames one fails spec/comm/frame-source.spec.ts instead of losing a guard.
 */
function findReadSide(call: GossipStream): ReadSide | undefined {
  let filters: { readonly resolving: CallNode; readonly compression: CallNode } | undefined;
  for (const node of callChain(call)) {
    if (typeof node.readFilterPending === 'boolean' && 'pendingChildStatus' in node) {
      const compression = compressionFilterOf(node.filterStack);
      if (compression === undefined) return undefined;
      filters = { resolving: node, compression };
    }
    const decoder = node.decoder;
    if (isHttp2Readable(node.http2Stream)) {
      if (
        filters === undefined ||
        !isDecoder(decoder) ||
        !Array.isArray(node.unpushedReadMessages) ||
        typeof node.isPushPending !== 'boolean' ||
        typeof node.isReadFilterPending !== 'boolean' ||
        typeof node.statusOutput !== 'boolean'
      ) {
        return undefined;
      }
      const { resolving, compression } = filters;
      return {
        http2: node.http2Stream,
        idle: () =>
          decoder.readState === 0 &&
          (node.unpushedReadMessages as unknown[]).length === 0 &&
          node.isPushPending === false &&
          node.isReadFilterPending === false &&
          node.statusOutput === false &&
          resolving.readFilterPending === false &&
          resolving.pendingChildStatus == null,
        identity: () => isObject(compression.receiveCompression) && compression.receiveCompression.constructor.name === 'IdentityHandler',
        limit: decoder.maxReadMessageLength,
        decoder,
      };
    }
    if (isHttp2Readable(node.stream) && typeof node.metadataSent === 'boolean') {
      if (!isDecoder(decoder) || !Array.isArray(node.readQueue) || typeof node.incomingEncoding !== 'string' || typeof node.cancelled !== 'boolean') {
        return undefined;
      }
      return {
        http2: node.stream,
        idle: () => decoder.readState === 0 && (node.readQueue as unknown[]).length === 0 && node.cancelled === false,
        identity: () => node.incomingEncoding === 'identity',
        limit: decoder.maxReadMessageLength,
        decoder,
      };
    }
  }
  return undefined;
}

/** The filter of a grpc-js filter stack that decompresses received messages, if any. */
function compressionFilterOf(stack: unknown): CallNode | undefined {
  if (!isObject(stack) || !Array.isArray(stack.filters)) return undefined;
  return (stack.filters as unknown[]).find((f): f is CallNode => isObject(f) && 'receiveCompression' in f);
}

interface Decoder {
  readonly readState: number;
  readonly maxReadMessageLength: number;
  readCompressFlag?: unknown;
  readPartialMessage?: unknown;
}

function isDecoder(value: unknown): value is Decoder {
  return isObject(value) && typeof value.readState === 'number' && typeof value.maxReadMessageLength === 'number';
}

const READABLE = ['on', 'removeListener', 'listeners', 'listenerCount', 'resume'] as const;

function isHttp2Readable(value: unknown): value is Http2Readable {
  return isHttp2StreamWith(value, READABLE);
}
