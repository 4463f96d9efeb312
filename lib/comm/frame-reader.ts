import { status } from '@grpc/grpc-js';
import { GossipError, MessageTooLargeError } from '../errors.js';

/** Room first made for a message whose bytes have not all come yet. */
const FIRST_ROOM = 64 * 1024;

/**
 * Splits the bytes of an http2 stream into gRPC messages: 5-byte prefix (compressed flag, then
 * big-endian length) and the message. Each message is handed on in a copy, as grpc-js makes one
 * (a pooled slice for small ones, like its Buffer.concat): a view would pin the whole read it came
 * in while it is kept.
 *
 * A message over `limit` bytes stops the reader and reports a MessageTooLargeError, before its
 * bytes are read. So does a set compressed flag: there is no message encoding on the streams this
 * reads (readDirectly takes identity-encoded calls only), and grpc-go refuses such a message the
 * same way (status INTERNAL); grpc-js would have let it through as if uncompressed.
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
        this.deliver(body);
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
          new GossipError(
            flag === 1
              ? 'received a compressed gRPC message on a stream without a message encoding'
              : `received a gRPC message with an invalid compressed flag (${flag})`,
            status.INTERNAL,
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
        this.deliver(message);
      } else {
        // The rest comes in later reads: room for at most 64 KiB (or what has come) first,
        // growing as more comes, so that a prefix announcing a large message (Fabric's limit is
        // 100 MiB) does not make us allocate all of it before its bytes arrive.
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

  /** Hands a message on; a consumer that throws stops the reader (its place in the stream is lost). */
  private deliver(message: Buffer): void {
    try {
      this.onMessage(message);
    } catch (err: unknown) {
      this.fail(err instanceof GossipError ? err : new GossipError(`reading the stream failed: ${String(err)}`, status.INTERNAL, { cause: err }));
    }
  }

  private fail(error: GossipError): void {
    this.stopped = true;
    this.onError(error);
  }
}
