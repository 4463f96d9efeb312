import { DecodeError, MessageTooLargeError, type GossipError } from '../errors.js';
import type { ClientGossipStream, ServerGossipStream } from '../wire/service.js';

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

/** Room first made for a message whose bytes have not all come yet. */
const FIRST_ROOM = 64 * 1024;

/**
 * Splits the bytes of an http2 stream into gRPC messages: 5-byte prefix (compressed flag, then
 * big-endian length) and the message. Each message is handed on in a buffer of its own (a
 * copy, as grpc-js makes one: a view would pin the whole read it came in while it is kept).
 * A compressed flag or a message over `limit` bytes stops the reader and reports the error.
 */
export class FrameReader {
  /** A prefix cut between two reads, gathered here (made the first time one is). */
  private prefix: Buffer | undefined;
  private prefixHave = 0;
  /** A message cut between reads: its bytes so far (bodyHave of them), bodyWant in all. */
  private body: Buffer | undefined;
  private bodyHave = 0;
  private bodyWant = 0;
  private stopped = false;

  constructor(
    /** Largest message accepted, in bytes; -1 for no limit (grpc-js's convention). */
    private readonly limit: number,
    private readonly onMessage: (message: Buffer) => void,
    private readonly onError: (error: GossipError) => void,
  ) {}

  /** Stops the reader: nothing more is handed on. */
  stop(): void {
    this.stopped = true;
  }

  write(chunk: Buffer): void {
    const end = chunk.length;
    let at = 0;
    while (at < end && !this.stopped) {
      let body = this.body;
      if (body !== undefined) {
        const take = Math.min(this.bodyWant - this.bodyHave, end - at);
        if (this.bodyHave + take > body.length) {
          const grown = Buffer.allocUnsafe(Math.min(this.bodyWant, Math.max(body.length * 2, this.bodyHave + take)));
          body.copy(grown, 0, 0, this.bodyHave);
          body = this.body = grown;
        }
        chunk.copy(body, this.bodyHave, at, at + take);
        this.bodyHave += take;
        at += take;
        if (this.bodyHave < this.bodyWant) return;
        this.body = undefined;
        this.onMessage(body);
        continue;
      }
      let flag: number;
      let length: number;
      if (this.prefixHave === 0 && end - at >= 5) {
        flag = chunk[at]!;
        length = chunk.readUInt32BE(at + 1);
        at += 5;
      } else {
        const prefix = (this.prefix ??= Buffer.alloc(5));
        const take = Math.min(5 - this.prefixHave, end - at);
        chunk.copy(prefix, this.prefixHave, at, at + take);
        this.prefixHave += take;
        at += take;
        if (this.prefixHave < 5) return;
        this.prefixHave = 0;
        flag = prefix[0]!;
        length = prefix.readUInt32BE(1);
      }
      if (flag !== 0) {
        this.fail(
          new DecodeError(
            flag === 1
              ? 'received a compressed gRPC message on a stream without a message encoding'
              : `received a gRPC message with an invalid compressed flag (${flag})`,
          ),
        );
        return;
      }
      if (this.limit !== -1 && length > this.limit) {
        this.fail(new MessageTooLargeError(length, this.limit));
        return;
      }
      if (end - at >= length) {
        const message = Buffer.allocUnsafe(length);
        chunk.copy(message, 0, at, at + length);
        at += length;
        this.onMessage(message);
      } else {
        // The rest comes in later reads: room for what has come, growing as more does, so that
        // a prefix announcing a large message costs nothing until its bytes arrive.
        const have = end - at;
        const body = Buffer.allocUnsafe(Math.min(length, Math.max(have, FIRST_ROOM)));
        chunk.copy(body, 0, at, end);
        this.body = body;
        this.bodyHave = have;
        this.bodyWant = length;
        at = end;
      }
    }
  }

  private fail(error: GossipError): void {
    this.stopped = true;
    this.onError(error);
  }
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
 * a pause and resume of the http2 stream and an object-mode Readable, where one read often holds
 * dozens of messages. Reading the frames here takes about a third off the receiving side's CPU per
 * message (bench/RESULTS.md, push).
 *
 * Safety, as for FrameSink: only a call of the plain shape grpc-js builds without interceptors
 * is taken over, found by shape, and only while grpc-js holds nothing of it: no bytes of a
 * message half-read, no message decoded and not yet delivered, no message encoding (Fabric
 * never compresses; a compressed message then ends the connection with a DecodeError). The
 * size limit is grpc-js's own for the call. Returns undefined when any of that does not hold
 * (grpc-js keeps reading; the caller may try again after the next message), or 'never' when the
 * call's shape is not one this reads.
 */
export function readDirectly(
  call: GossipStream,
  onMessage: (message: Buffer) => void,
  onError: (error: GossipError) => void,
): DirectRead | undefined | 'never' {
  const found = findReadSide(call);
  if (found === undefined) return 'never';
  const { http2, idle, limit, decoder } = found;
  if (!idle() || (call as { readableLength?: number }).readableLength !== 0) return undefined;
  if (http2.destroyed || http2.readableEnded || http2.listenerCount('data') !== 1) return undefined;
  const grpcListener = http2.listeners('data')[0]!;
  const reader = new FrameReader(limit, onMessage, onError);
  const onData = (chunk: Buffer): void => reader.write(chunk);
  http2.removeListener('data', grpcListener);
  http2.on('data', onData);
  // grpc-js's decoder keeps views into the read that held the last message it decoded (its flag
  // byte and body), until it starts on a next message, which it never will now: that read (the
  // handshake's, up to a whole socket read) would stay pinned for the connection's life.
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
  /** Whether grpc-js holds nothing of the stream's messages. */
  readonly idle: () => boolean;
  readonly limit: number;
  /** grpc-js's StreamDecoder of the call. */
  readonly decoder: Decoder;
}

/**
 * The http2 stream under a call with what tells whether grpc-js is idle on it: on the server
 * the base call (`stream.call`, with `decoder`, `readQueue`, `incomingEncoding`); on the client
 * the subchannel call (`http2Stream`, `decoder`, `unpushedReadMessages`, `isPushPending`),
 * reached as FrameSink reaches it, past the resolving call whose filters read each message
 * (`readFilterPending`; its compression filter must read identity). Undefined for any other shape.
 */
function findReadSide(call: GossipStream): ReadSide | undefined {
  const guards: Array<() => boolean> = [];
  let identity = false;
  let node: unknown = (call as unknown as { call?: unknown }).call;
  for (let depth = 0; depth < 8 && isObject(node); depth++) {
    const base = node;
    if (typeof base.readFilterPending === 'boolean') {
      guards.push(() => base.readFilterPending === false && base.pendingChildStatus == null);
    }
    const compression = compressionFilterOf(base.filterStack);
    if (compression !== undefined) {
      identity = true;
      guards.push(() => isObject(compression.receiveCompression) && compression.receiveCompression.constructor.name === 'IdentityHandler');
    }
    if (isHttp2Readable(base.http2Stream)) {
      const decoder = base.decoder;
      if (!identity || !isDecoder(decoder) || !Array.isArray(base.unpushedReadMessages) || typeof base.isPushPending !== 'boolean') {
        return undefined;
      }
      return {
        http2: base.http2Stream,
        idle: () =>
          decoder.readState === 0 &&
          (base.unpushedReadMessages as unknown[]).length === 0 &&
          base.isPushPending === false &&
          base.isReadFilterPending !== true &&
          base.statusOutput !== true &&
          guards.every((guard) => guard()),
        limit: decoder.maxReadMessageLength,
        decoder,
      };
    }
    if (isHttp2Readable(base.stream) && typeof base.metadataSent === 'boolean') {
      const decoder = base.decoder;
      if (!isDecoder(decoder) || !Array.isArray(base.readQueue) || typeof base.incomingEncoding !== 'string') return undefined;
      return {
        http2: base.stream,
        idle: () =>
          decoder.readState === 0 &&
          (base.readQueue as unknown[]).length === 0 &&
          base.incomingEncoding === 'identity' &&
          base.cancelled !== true,
        limit: decoder.maxReadMessageLength,
        decoder,
      };
    }
    if (Array.isArray(node.underlyingCalls)) {
      const index = typeof node.committedCallIndex === 'number' ? node.committedCallIndex : 0;
      if (node.underlyingCalls.length !== 1 && index === 0 && typeof node.committedCallIndex !== 'number') return undefined;
      node = (node.underlyingCalls[index] as { call?: unknown } | undefined)?.call;
    } else {
      node = node.call ?? node.child;
    }
  }
  return undefined;
}

/** The filter of a grpc-js filter stack that decompresses received messages, if any. */
function compressionFilterOf(stack: unknown): Record<string, unknown> | undefined {
  if (!isObject(stack) || !Array.isArray(stack.filters)) return undefined;
  return (stack.filters as unknown[]).find((f): f is Record<string, unknown> => isObject(f) && 'receiveCompression' in f);
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

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isHttp2Readable(value: unknown): value is Http2Readable {
  return (
    isObject(value) &&
    typeof value.on === 'function' &&
    typeof value.removeListener === 'function' &&
    typeof value.listeners === 'function' &&
    typeof value.listenerCount === 'function' &&
    typeof value.resume === 'function' &&
    'session' in value
  );
}
