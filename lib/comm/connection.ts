import { Subject, type Observable } from 'rxjs';
import type { status as GrpcStatus } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { ConnectionClosedError, GossipError, HandshakeError } from '../errors.js';
import { SignedMessage } from '../wire/signed-message.js';
import type { ClientGossipStream, ServerGossipStream } from '../wire/service.js';
import type { ConnectionInfo } from './connection-info.js';
import { readDirectly, type DirectRead } from './frame-source.js';
import { FrameSink, writeFirstFramed } from './frame-sink.js';
import { OutboundBuffer, type DropReason, type OutboundItem } from './outbound-buffer.js';
import type { OverflowPolicy } from './options.js';
import type { ReceivedMessage } from './received-message.js';

/** Lifecycle of a connection. Moves only forward, through `transition()`. */
export enum ConnectionState {
  /** Outbound only: the channel is being dialed; sends queue in the buffer. */
  Dialing = 'dialing',
  /** The stream is open and ConnEstablish messages are being exchanged. */
  Handshaking = 'handshaking',
  /** Authenticated: messages flow both ways. */
  Open = 'open',
  /** Flushing what is queued before ending the stream; nothing new is routed here. */
  Closing = 'closing',
  /** Done. `closed` has resolved. */
  Closed = 'closed',
}

const LEGAL: Readonly<Record<ConnectionState, readonly ConnectionState[]>> = {
  [ConnectionState.Dialing]: [ConnectionState.Handshaking, ConnectionState.Closed],
  [ConnectionState.Handshaking]: [ConnectionState.Open, ConnectionState.Closed],
  [ConnectionState.Open]: [ConnectionState.Closing, ConnectionState.Closed],
  [ConnectionState.Closing]: [ConnectionState.Closed],
  [ConnectionState.Closed]: [],
};

/** What a successful handshake yields: who the remote is, and whether it only probed. */
export interface HandshakeOutcome {
  readonly info: ConnectionInfo;
  readonly probe: boolean;
}

/** How a connection ended. */
export interface ConnectionClose {
  /** Both sides finished the stream on purpose (flushed, then ended with OK). */
  readonly graceful: boolean;
  /** This side decided to close it. */
  readonly local: boolean;
  /** What went wrong, when something did. */
  readonly error?: Error;
}

/** Everything a connection needs from its owner. */
export interface ConnectionHooks {
  readonly bufferSize: number;
  readonly overflowPolicy: OverflowPolicy;
  readonly closeTimeoutMs: number;
  onDrop(conn: Connection, item: OutboundItem, reason: DropReason): void;
  /**
   * The connection is closing with messages it never wrote: the owner moves them to another
   * connection to the same peer, or drops them (counted). `opened` says whether it ever opened.
   */
  leftover(conn: Connection, items: OutboundItem[], opened: boolean, cause: Error | undefined): void;
  onWritten(conn: Connection): void;
  /** The connection's queue depth moved by `delta`. */
  depthDelta(delta: number): void;
  received(conn: Connection, message: SignedMessage): ReceivedMessage;
}

type GossipStream = ClientGossipStream | ServerGossipStream;

interface StatusLike {
  code?: number;
  details?: string;
  message?: string;
}

/**
 * One gossip stream to one remote peer: Fabric's `connection`, as a pair of Subjects around the
 * bidi stream.
 *
 * - `inbound$` (Fabric's `readFromStream`) is hot: every message received after the handshake,
 *   decoded once. It completes when the connection closes; it never errors — how the connection
 *   ended is in `closed`.
 * - `outbound` (Fabric's `outBuff`) is a bounded buffer drained into the stream with its
 *   backpressure; messages queue there while the connection is still dialing.
 *
 * A payload that does not decode, a stream error or a handshake failure closes this connection
 * only. The owner (ConnectionStore) decides which connection is used for a peer.
 */
export class Connection {
  private static lastId = 0;
  /** Process-unique id, for logs and tests. */
  readonly id = ++Connection.lastId;
  readonly outbound: OutboundBuffer;
  private readonly inbound = new Subject<ReceivedMessage>();
  /** Messages received on this connection; hot, completes on close. */
  readonly inbound$: Observable<ReceivedMessage> = this.inbound.asObservable();
  /** Resolves once, when the connection has ended (never rejects). */
  readonly closed: Promise<ConnectionClose>;
  /**
   * Resolves with the remote once the handshake succeeded; rejects with the reason if the
   * connection closes before that. Never an unhandled rejection.
   */
  readonly opened: Promise<ConnectionInfo>;
  private settleOpened!: { resolve: (info: ConnectionInfo) => void; reject: (err: Error) => void };
  /** When the handshake completed (ms since epoch), 0 before. */
  establishedAt = 0;

  private currentState: ConnectionState;
  private remote: ConnectionInfo | undefined;
  private stream: GossipStream | undefined;
  private resolveClosed!: (close: ConnectionClose) => void;
  private handshakeWaiter:
    | { check: (first: Buffer) => HandshakeOutcome; resolve: (r: HandshakeOutcome) => void; reject: (e: Error) => void }
    | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closingLocally = false;
  private cancelledBeforeOpen = false;
  /** Why it closed, once closed with an error. */
  private closeError: Error | undefined;
  private remoteEnded = false;
  private endSent = false;
  /**
   * Reading straight from the http2 stream (frame-source.ts); undefined while not (yet) possible,
   * 'never' for a call of another shape (grpc-js reads it) or once closed.
   */
  private direct: DirectRead | 'never' | undefined;

  constructor(
    /** `outbound`: we dialed; `inbound`: the remote dialed us. */
    readonly direction: 'inbound' | 'outbound',
    /** host:port dialed, or the remote address of an inbound stream. */
    readonly endpoint: string,
    private readonly hooks: ConnectionHooks,
    /** The PKI-ID an outbound connection was dialed for, when known. */
    readonly targetPkiId?: Uint8Array,
  ) {
    this.currentState = direction === 'outbound' ? ConnectionState.Dialing : ConnectionState.Handshaking;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.opened = new Promise((resolve, reject) => (this.settleOpened = { resolve, reject }));
    this.opened.catch(() => undefined);
    this.outbound = new OutboundBuffer(
      hooks.bufferSize,
      hooks.overflowPolicy,
      (item, reason) => hooks.onDrop(this, item, reason),
      () => hooks.onWritten(this),
      (delta) => hooks.depthDelta(delta),
    );
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The authenticated remote; undefined until the handshake completes. */
  get info(): ConnectionInfo | undefined {
    return this.remote;
  }

  /** Whether its messages are read straight from the http2 stream now (frame-source.ts). */
  get readsDirectly(): boolean {
    return this.direct !== undefined && this.direct !== 'never';
  }

  /** Open, or still dialing/handshaking: messages sent now will be written. */
  get usable(): boolean {
    return this.currentState !== ConnectionState.Closing && this.currentState !== ConnectionState.Closed;
  }

  /**
   * Runs the handshake on a freshly opened stream: writes our ConnEstablish first, then reads
   * exactly one message within `timeoutMs` and hands it to `check` (which throws HandshakeError).
   * On success the connection is Open and its buffer starts draining; on failure it is closed,
   * the remote told why (server side: status UNKNOWN with the reason, as Fabric), and the
   * promise rejects with the HandshakeError.
   */
  handshake(
    stream: GossipStream,
    ownConnEstablish: Buffer,
    check: (first: Buffer) => HandshakeOutcome,
    timeoutMs: number,
  ): Promise<HandshakeOutcome> {
    if (this.currentState === ConnectionState.Closed) {
      cancelStream(stream);
      return Promise.reject(new ConnectionClosedError('connection closed before its stream opened'));
    }
    if (this.currentState === ConnectionState.Dialing) this.transition(ConnectionState.Handshaking);
    this.stream = stream;
    this.listen(stream);
    return new Promise<HandshakeOutcome>((resolve, reject) => {
      this.handshakeWaiter = { check, resolve, reject };
      this.timer = setTimeout(() => {
        this.abort(new HandshakeError('timeout', `timed out waiting for the remote's handshake after ${timeoutMs} ms`));
      }, timeoutMs);
      this.timer.unref();
      if (isClientStream(stream)) stream.write(ownConnEstablish);
      else writeFirstFramed(stream, ownConnEstablish);
    });
  }

  /**
   * Ends the connection on purpose after writing what is queued. As the dialing side: half-close
   * and wait for the remote to finish. As the serving side: finish the call with OK. Resolves when
   * closed (a stuck remote is cancelled after closeTimeoutMs).
   */
  close(): Promise<ConnectionClose> {
    switch (this.currentState) {
      case ConnectionState.Dialing:
        this.cancelledBeforeOpen = true;
        this.finish({ graceful: true, local: true });
        break;
      case ConnectionState.Handshaking:
        this.cancelledBeforeOpen = true;
        this.abort(new ConnectionClosedError('closed during handshake'));
        break;
      case ConnectionState.Open:
        this.closingLocally = true;
        this.transition(ConnectionState.Closing);
        this.endAfterFlush();
        break;
      default:
        break;
    }
    return this.closed;
  }

  /**
   * Ends the connection now: queued messages are dropped (and counted), the stream cancelled or
   * finished with the error's status.
   */
  /**
   * Whether this side closed it on purpose (close()) while it was still dialing or handshaking:
   * e.g. a dial retired because the remote's dial won, or closeConn/stop. Not a failed handshake.
   */
  get cancelled(): boolean {
    return this.cancelledBeforeOpen;
  }

  /** The error it closed with, if it is closed and something went wrong (e.g. a handshake timeout). */
  get error(): Error | undefined {
    return this.closeError;
  }

  abort(error: Error): void {
    if (this.currentState === ConnectionState.Closed) return;
    this.closingLocally = true;
    this.finish({ graceful: false, local: true, error });
  }

  private endAfterFlush(): void {
    this.armTimer(() => this.abort(new ConnectionClosedError('graceful close timed out')));
    void this.outbound.flush().then(() => {
      const stream = this.stream;
      if (!stream || this.currentState === ConnectionState.Closed || this.endSent) return;
      this.endSent = true;
      stream.end();
      // The server side is done once its status is sent; the client waits for the server's status.
      if (!isClientStream(stream)) {
        stream.once('finish', () => this.finish({ graceful: true, local: this.closingLocally }));
      }
    });
  }

  private listen(stream: GossipStream): void {
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('error', this.onError);
    if (isClientStream(stream)) {
      stream.on('status', this.onStatus);
    } else {
      stream.on('cancelled', this.onCancelled);
    }
  }

  private readonly onData = (chunk: Buffer): void => {
    const state = this.currentState;
    if (state === ConnectionState.Handshaking) {
      this.completeHandshake(chunk);
      return;
    }
    this.onMessage(chunk);
    // grpc-js held more of the stream when we last tried: try again now that it gave this one.
    if (this.direct === undefined) this.readDirect();
  };

  /** A message received after the handshake, from grpc-js or read directly (readDirect). */
  private readonly onMessage = (bytes: Buffer): void => {
    const state = this.currentState;
    if (state !== ConnectionState.Open && state !== ConnectionState.Closing) return;
    let signed: SignedMessage;
    try {
      signed = SignedMessage.fromBytes(bytes).decode();
    } catch (err: unknown) {
      this.abort(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.inbound.next(this.hooks.received(this, signed));
  };

  /** Reads the stream's messages from its http2 stream from now on, when grpc-js lets us (frame-source.ts). */
  private readDirect(): void {
    const stream = this.stream;
    if (!stream || this.currentState !== ConnectionState.Open) return;
    this.direct = readDirectly(stream, this.onMessage, this.onReadError);
  }

  private readonly onReadError = (error: Error): void => {
    this.abort(error);
  };

  private completeHandshake(first: Buffer): void {
    const waiter = this.handshakeWaiter;
    if (!waiter) return;
    this.handshakeWaiter = undefined;
    this.clearTimer();
    let outcome: HandshakeOutcome;
    try {
      outcome = waiter.check(first);
    } catch (err: unknown) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.abort(error);
      waiter.reject(error);
      return;
    }
    // Set synchronously: more messages may follow in this same read, before `waiter`'s
    // continuation runs, and they are delivered with this info.
    this.remote = outcome.info;
    this.establishedAt = Date.now();
    this.transition(ConnectionState.Open);
    this.settleOpened.resolve(outcome.info);
    waiter.resolve(outcome);
    if (this.stream) this.outbound.attach(FrameSink.for(this.stream));
    this.readDirect();
  }

  private readonly onEnd = (): void => {
    this.remoteEnded = true;
    const stream = this.stream;
    if (!stream || isClientStream(stream)) return; // the client's end is followed by 'status'
    // The dialing side half-closed: it is closing this stream on purpose. Finish ours after
    // writing what is queued, so that nothing either side sent is lost.
    if (this.currentState === ConnectionState.Open) {
      this.transition(ConnectionState.Closing);
      this.endAfterFlush();
    } else if (this.currentState === ConnectionState.Handshaking) {
      this.abort(new HandshakeError('stream-closed', 'remote closed the stream during the handshake'));
    }
  };

  private readonly onStatus = (s: StatusLike): void => {
    if (s.code === status.OK) {
      if (this.currentState === ConnectionState.Handshaking) {
        this.failHandshake(new HandshakeError('stream-closed', 'remote ended the stream during the handshake'));
        return;
      }
      this.finish({ graceful: true, local: this.closingLocally });
    } else {
      this.onError(s);
    }
  };

  private readonly onError = (err: StatusLike): void => {
    if (this.currentState === ConnectionState.Closed) return;
    const details = err.details ?? err.message ?? 'stream error';
    if (this.currentState === ConnectionState.Handshaking) {
      const error =
        err.code === status.UNKNOWN || err.code === status.PERMISSION_DENIED
          ? new HandshakeError('remote-refused', `remote refused the handshake: ${details}`)
          : new HandshakeError('stream-closed', `stream failed during the handshake: ${details}`);
      this.failHandshake(error);
      return;
    }
    const error = new ConnectionClosedError(`stream failed (${statusName(err.code)}): ${details}`);
    (error as { grpcCode?: number }).grpcCode = err.code;
    this.finish({ graceful: false, local: false, error });
  };

  private readonly onCancelled = (): void => {
    if (this.currentState === ConnectionState.Closed) return;
    if (this.currentState === ConnectionState.Handshaking) {
      this.failHandshake(new HandshakeError('stream-closed', 'remote went away during the handshake'));
      return;
    }
    const graceful = this.remoteEnded && this.endSent;
    this.finish(
      graceful
        ? { graceful: true, local: this.closingLocally }
        : { graceful: false, local: false, error: new ConnectionClosedError('remote went away (stream cancelled)') },
    );
  };

  private failHandshake(error: Error): void {
    const waiter = this.handshakeWaiter;
    this.handshakeWaiter = undefined;
    this.finish({ graceful: false, local: false, error });
    waiter?.reject(error);
  }

  private finish(close: ConnectionClose): void {
    if (this.currentState === ConnectionState.Closed) return;
    this.closeError = close.error;
    this.transition(ConnectionState.Closed);
    this.clearTimer();
    const waiter = this.handshakeWaiter;
    this.handshakeWaiter = undefined;
    waiter?.reject(close.error ?? new ConnectionClosedError('connection closed during the handshake'));
    if (this.direct !== undefined && this.direct !== 'never') this.direct.stop();
    this.direct = 'never';
    const stream = this.stream;
    if (stream) {
      stream.removeListener('data', this.onData);
      stream.removeListener('end', this.onEnd);
      // Keep an error listener: an 'error' with no listener would crash the process.
      stream.removeListener('error', this.onError);
      stream.on('error', ignore);
      if (isClientStream(stream)) {
        stream.removeListener('status', this.onStatus);
        if (!close.graceful) cancelStream(stream);
      } else {
        stream.removeListener('cancelled', this.onCancelled);
        if (!this.endSent) {
          this.endSent = true;
          // grpc-js turns an 'error' emitted on a server stream into the call's final status:
          // the remote reads our reason (Fabric ends refused handshakes with UNKNOWN + reason).
          const code: GrpcStatus = close.error instanceof GossipError ? close.error.code : status.UNKNOWN;
          stream.emit('error', { code, details: close.error?.message ?? 'connection closed' });
        }
      }
    }
    if (this.establishedAt === 0) {
      this.settleOpened.reject(close.error ?? new ConnectionClosedError('connection closed before it opened'));
    }
    const leftover = this.outbound.takeAll();
    if (leftover.length > 0) this.hooks.leftover(this, leftover, this.establishedAt > 0, close.error);
    this.outbound.close('connection-closed');
    this.inbound.complete();
    this.resolveClosed(close);
  }

  private transition(next: ConnectionState): void {
    if (!LEGAL[this.currentState].includes(next)) {
      throw new Error(`illegal connection state change ${this.currentState} -> ${next}`);
    }
    this.currentState = next;
  }

  private armTimer(fn: () => void): void {
    this.clearTimer();
    this.timer = setTimeout(fn, this.hooks.closeTimeoutMs);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function isClientStream(stream: GossipStream): stream is ClientGossipStream {
  return typeof (stream as ClientGossipStream).cancel === 'function';
}

function cancelStream(stream: GossipStream): void {
  stream.on('error', ignore);
  if (isClientStream(stream)) stream.cancel();
}

function ignore(): void {}

function statusName(code: number | undefined): string {
  if (code === undefined) return 'no status';
  return (status as unknown as Record<number, string>)[code] ?? String(code);
}
