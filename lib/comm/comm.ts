import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { Subject, concatMap, from, of, type MonoTypeOperatorFunction, type Observable, type Observer } from 'rxjs';
import Long from 'long';
import { ConnectionClosedError, HandshakeError, MessageTooLargeError, StoppedError, TimeoutError } from '../errors.js';
import { MspIdentityMapper, type IdentityMapper } from '../identity/identity-mapper.js';
import { MspManager } from '../identity/msp.js';
import { SignedMessage, type GossipMessageInit, type MessageSigner } from '../wire/signed-message.js';
import type { ServerGossipStream } from '../wire/service.js';
import { Connection, ConnectionState, type ConnectionHooks, type HandshakeOutcome } from './connection.js';
import type { ConnectionInfo, RemotePeer } from './connection-info.js';
import { ConnectionStore } from './connection-store.js';
import { Demux } from './demux.js';
import { Dialer } from './dialer.js';
import { peerCertificate, releaseAlpnCopy, tlsSocketOf } from './served-tls-socket.js';
import { buildConnEstablish, certificateHash, checkConnEstablish, pemToDer } from './handshake.js';
import { silentLogger, type Logger } from './logger.js';
import { resolveOptions, type CommOptions, type ResolvedCommOptions } from './options.js';
import { QUEUED, type DropReason, type OutboundItem } from './outbound-buffer.js';
import { ReceivedMessage } from './received-message.js';
import { ackKey, AggregatedSendResult, randomNonce, type AckOutcome } from './send-with-ack.js';
import { widenReceiveWindow } from './flow-control-window.js';
import { http2SessionOf } from './frame-sink.js';
import { GossipServer } from './server.js';
import { serverCredentials } from './tls-credentials.js';
import { tlsDialSettings } from './dial-credentials.js';

/** A message that could not be delivered to the stream of a peer, and why. */
export interface DroppedMessage {
  readonly reason: DropReason | 'too-large';
  /** The intended receiver, when known. */
  readonly pkiId?: Buffer;
  readonly endpoint: string;
  /** Size of the envelope in bytes. */
  readonly size: number;
}

/** Counters since the comm started. */
export interface CommStats {
  readonly sent: number;
  readonly received: number;
  readonly dropped: Readonly<Record<DroppedMessage['reason'], number>>;
  readonly handshakeFailures: number;
  readonly connections: number;
  /** Messages waiting in outbound buffers right now. */
  readonly queued: number;
}

/** A failed handshake with a remote that dialed us or that we dialed. */
export interface HandshakeFailureEvent {
  readonly direction: 'inbound' | 'outbound';
  readonly endpoint: string;
  readonly error: HandshakeError | Error;
}

/** A live connection, for inspection. */
export interface ConnectionSummary {
  readonly id: number;
  readonly pkiId: Buffer;
  readonly endpoint: string;
  readonly direction: 'inbound' | 'outbound';
  readonly state: ConnectionState;
  readonly queued: number;
  readonly active: boolean;
}

/**
 * A gossip comm instance: Fabric's `gossip/comm.Comm`, reactive.
 *
 * Messages received from every peer flow through one hot demultiplexer; `accept()` filters it.
 * Sending never blocks: each peer has one connection with a bounded outbound buffer.
 */
export interface Comm {
  /** host:port this peer is reachable at ('' for a dial-only comm). */
  readonly endpoint: string;
  /**
   * host:port the server is bound to (the listen address with its port): Fabric's internal
   * endpoint, which membership announces to its organization even when `endpoint` is ''.
   * Optional so that other Comm implementations need not have one.
   */
  readonly internalEndpoint?: string;
  /** This peer's PKI-ID. */
  getPKIid(): Buffer;
  /** This peer's identity: its marshalled msp.SerializedIdentity, as sent in handshakes. */
  readonly identity: Uint8Array;
  /**
   * Signs with this peer's identity key (alive messages, originator signatures). Pipelines built
   * on this comm use it rather than being handed the peer's keys a second time.
   */
  readonly signer: MessageSigner;
  /**
   * Fabric's identity mapper as this comm uses it: filled with every identity a handshake
   * proved, and the place membership stores identities learned from alive messages and the
   * identity pull. Pipelines verify signatures of other peers against it.
   */
  readonly identityMapper: IdentityMapper;
  /**
   * Sends a message to each peer, dialing those without a connection. Returns at once; order is
   * kept per peer. A message that cannot be queued or written is counted and reported on
   * `drops$` (and, for a peer that cannot be reached, its PKI-ID on `presumedDead$`).
   * Throws MessageTooLargeError (before sending to anyone) if the envelope exceeds maxSendMsgSize,
   * and BufferOverflowError after queueing to the others if a full buffer's policy is `error`.
   */
  send(message: SignedMessage | GossipMessageInit, ...peers: RemotePeer[]): void;
  /**
   * The outbound side of the connection to `peer` (Fabric's outBuff) as an RxJS Observer:
   * `source$.subscribe(comm.sendTo(peer))`. Each value is sent as by `send()`: queued, or, when
   * the buffer is full, handled by the overflow policy (dropped, counted and reported on
   * `drops$`; never thrown at the source). The source completing or erroring does not close the
   * connection, which every sender to that peer shares.
   */
  sendTo(peer: RemotePeer): Observer<SignedMessage | GossipMessageInit>;
  /**
   * An operator that sends each value to `peer` without dropping it: a value waits for room in
   * the connection's buffer before the next one is taken (backpressure on the source, as
   * concatMap), and is emitted once queued. Errors when a message can never be queued
   * (ConnectionClosedError, StoppedError, MessageTooLargeError).
   * `source$.pipe(comm.queueTo(peer)).subscribe()`.
   */
  queueTo<T extends SignedMessage | GossipMessageInit>(peer: RemotePeer): MonoTypeOperatorFunction<T>;
  /**
   * Sends to one peer without dropping: waits for room in the buffer; resolves when the stream
   * took the message, rejects (ConnectionClosedError, StoppedError, ...) if it never will.
   */
  sendAsync(message: SignedMessage | GossipMessageInit, peer: RemotePeer): Promise<void>;
  /**
   * sendAsync with a callback instead of a promise: queues the message for `peer`, waiting for
   * room in the buffer instead of dropping it, and calls `settled` once, with no error (or null)
   * when the stream took the message and with the error (ConnectionClosedError, StoppedError,
   * MessageTooLargeError, ...) when it never will, possibly before returning. For pipelines
   * that send many messages and only count the outcomes (push): no promise per message.
   * Optional so that other Comm implementations need not have it (callers fall back on sendAsync).
   */
  sendTracked?(message: SignedMessage | GossipMessageInit, peer: RemotePeer, settled: (err?: Error | null) => void): void;
  /**
   * Fabric 2.x SendWithAck: sends with a fresh random nonce and waits until `minAck` peers
   * acknowledged, or every peer answered or timed out after `timeoutMs`.
   */
  sendWithAck(
    message: GossipMessageInit,
    timeoutMs: number,
    minAck: number,
    ...peers: RemotePeer[]
  ): Promise<AggregatedSendResult>;
  /**
   * Makes sure there is a connection to `peer` (dialing it if needed, as a send would) and
   * resolves with who it is; rejects with the reason if it cannot be opened.
   */
  connect(peer: RemotePeer): Promise<ConnectionInfo>;
  /** Dials and Pings `peer` (nothing is kept); resolves with the round-trip time in ms. */
  probe(peer: RemotePeer): Promise<number>;
  /**
   * A probe handshake: authenticates `peer` and returns who it is, keeping nothing. Rejects with
   * HandshakeError (the remote's reason when it refused us) or ConnectError.
   */
  handshake(peer: RemotePeer): Promise<ConnectionInfo>;
  /**
   * Messages received that match `predicate`. Hot: only messages received while subscribed;
   * completes when the comm stops; never errors.
   */
  accept(predicate?: (message: ReceivedMessage) => boolean): Observable<ReceivedMessage>;
  /**
   * PKI-IDs of peers presumed dead, as Fabric's `PresumedDead()`: a dial or handshake to the peer
   * failed, or a send failed (its connection broke with messages it could not write: reset,
   * keepalive timeout, write error). A peer that went away (ended or cancelled its stream, which
   * is how a Fabric peer closes connections and stops its comm) is not reported while nothing
   * waits to be sent to it: at TCP level that looks like a killed process too, so the next send
   * dials it and reports it if that fails. Hot; completes on stop; never errors.
   */
  readonly presumedDead$: Observable<Buffer>;
  /** Every message dropped, with the reason. Hot; completes on stop. */
  readonly drops$: Observable<DroppedMessage>;
  /**
   * Every failed handshake, in or out; not a dial this side cancelled (the loser of two
   * simultaneous dials, closeConn or stop while dialing). Hot; completes on stop.
   */
  readonly handshakeFailures$: Observable<HandshakeFailureEvent>;
  /** Closes the connection(s) to a peer (flushing first); the next send dials again. */
  closeConn(peer: RemotePeer): Promise<void>;
  /** Live connections. */
  connections(): ConnectionSummary[];
  /** The queue depth of the connection to a peer, over time (hot; completes when it closes). */
  queueDepth$(peer: RemotePeer): Observable<number>;
  stats(): CommStats;
  /** Closes everything this instance opened. Idempotent; afterwards the process can exit. */
  stop(): Promise<void>;
}

/** Creates a comm instance: starts its own server on `listen`, or attaches to `server`. */
export async function createComm(options: CommOptions): Promise<Comm> {
  const comm = new CommImpl(resolveOptions(options));
  await comm.start();
  return comm;
}

class CommImpl implements Comm {
  private readonly logger: Logger;
  private readonly mapper: IdentityMapper;
  readonly identity: Uint8Array;
  readonly signer: MessageSigner;
  private readonly demux = new Demux();
  private readonly presumedDead = new Subject<Buffer>();
  private readonly drops = new Subject<DroppedMessage>();
  private readonly handshakeFailures = new Subject<HandshakeFailureEvent>();
  private readonly store: ConnectionStore;
  private readonly dialer: Dialer;
  private readonly byId = new Map<number, Connection>();
  private readonly ackWaiters = new Map<string, (error: string) => void>();
  private readonly ownConn: Buffer;
  private readonly ownProbe: Buffer;
  private readonly tlsRoots: X509Certificate[];
  private readonly hooks: ConnectionHooks;
  private readonly selfPkiId: Buffer;
  private server: GossipServer | undefined;
  private boundEndpoint = '';
  /** Messages waiting in all outbound buffers. */
  private queued = 0;
  private stopping: Promise<void> | undefined;
  private counters = {
    sent: 0,
    received: 0,
    handshakeFailures: 0,
    connections: 0,
    dropped: { overflow: 0, 'connection-closed': 0, 'dial-failed': 0, stopped: 0, 'too-large': 0 },
  };

  readonly presumedDead$: Observable<Buffer> = this.presumedDead.asObservable();
  readonly drops$: Observable<DroppedMessage> = this.drops.asObservable();
  readonly handshakeFailures$: Observable<HandshakeFailureEvent> = this.handshakeFailures.asObservable();

  constructor(private readonly options: ResolvedCommOptions) {
    const self = options.self;
    this.selfPkiId = Buffer.from(self.pkiId);
    this.logger = options.logger ?? silentLogger;
    this.mapper = options.mapper ?? defaultMapper(options);
    this.identity = self.identity;
    this.signer = self.signer;
    const roots = [...(options.tlsRootCerts ?? self.tlsRootCerts ?? [])];
    this.tlsRoots = roots.map((pem) => new X509Certificate(pem));
    const tlsHash = options.tls && self.tls ? certificateHash(pemToDer(self.tls.cert)) : undefined;
    this.ownConn = buildConnEstablish(self, tlsHash, false);
    this.ownProbe = buildConnEstablish(self, tlsHash, true);
    this.dialer = new Dialer({
      tls: options.tls && self.tls ? tlsDialSettings(self.tls.cert, self.tls.key, roots, options.tlsServerNameOverride) : undefined,
      dialTimeoutMs: options.dialTimeoutMs,
      pingTimeoutMs: options.pingTimeoutMs,
      maxRecvMsgSize: options.maxRecvMsgSize,
      maxSendMsgSize: options.maxSendMsgSize,
      keepaliveTimeMs: options.keepaliveTimeMs,
      keepaliveTimeoutMs: options.keepaliveTimeoutMs,
      flowControlWindow: options.flowControlWindow,
      channelz: options.channelz === true,
    });
    this.hooks = {
      bufferSize: options.sendBufferSize,
      overflowPolicy: options.overflowPolicy,
      closeTimeoutMs: options.closeTimeoutMs,
      onDrop: (conn, item, reason) =>
        this.reportDrop(conn.info?.pkiId ?? toBuffer(conn.targetPkiId), conn.endpoint, item.bytes.length, reason),
      leftover: (conn, items, opened, cause) => this.store.leftover(conn, items, opened, cause),
      depthDelta: (delta) => {
        this.queued += delta;
        this.options.metrics?.queueDepth(this.queued);
      },
      onWritten: () => {
        this.counters.sent++;
        this.options.metrics?.messageSent();
      },
      received: (conn, signed) => {
        this.counters.received++;
        this.options.metrics?.messageReceived();
        return new ReceivedMessage(signed, conn.info!, conn.id, this);
      },
    };
    this.store = new ConnectionStore({
      selfPkiId: Buffer.from(self.pkiId),
      hooks: this.hooks,
      duplicateGraceMs: options.duplicateGraceMs,
      dial: (conn, peer) => this.dialAndHandshake(conn, peer, false).then(() => undefined),
      presumedDead: (pkiId) => {
        this.logger.info({ pkiId: pkiId.toString('hex') }, 'peer presumed dead');
        this.options.metrics?.presumedDead();
        this.presumedDead.next(pkiId);
      },
      dropped: (conn, items, reason, cause) => this.dropAll(conn, items, reason, cause),
      connectionsChanged: (count) => {
        this.counters.connections = count;
        this.options.metrics?.connections(count);
      },
    });
  }

  get endpoint(): string {
    return this.options.externalEndpoint ?? this.boundEndpoint;
  }

  get internalEndpoint(): string {
    return this.boundEndpoint;
  }

  async start(): Promise<void> {
    const onStream = (call: ServerGossipStream): void => this.onInboundStream(call);
    if (this.options.server) {
      this.server = GossipServer.attach(this.options.server, onStream);
      this.boundEndpoint = this.options.listen ?? '';
      return;
    }
    if (!this.options.listen) return; // dial-only: probes, watchers, clients
    const self = this.options.self;
    const credentials =
      this.options.tls && self.tls
        ? serverCredentials(self.tls.cert, self.tls.key, this.options.tlsRootCerts ?? self.tlsRootCerts ?? [])
        : grpc.ServerCredentials.createInsecure();
    const listen = this.options.listen;
    this.server = await GossipServer.listen(
      listen,
      {
        credentials,
        maxRecvMsgSize: this.options.maxRecvMsgSize,
        maxSendMsgSize: this.options.maxSendMsgSize,
        channelz: this.options.channelz === true,
      },
      onStream,
    );
    this.boundEndpoint = `${hostOf(listen)}:${this.server.port}`;
  }

  get identityMapper(): IdentityMapper {
    return this.mapper;
  }

  getPKIid(): Buffer {
    return Buffer.from(this.options.self.pkiId);
  }

  send(message: SignedMessage | GossipMessageInit, ...peers: RemotePeer[]): void {
    const signed = toSigned(message);
    const bytes = this.checkSize(signed);
    let overflow: Error | undefined;
    for (const peer of peers) {
      if (this.stopping) {
        this.reportDrop(toBuffer(peer.pkiId), peer.endpoint, bytes.length, 'stopped');
        continue;
      }
      if (this.isSelf(peer)) continue;
      try {
        this.store.get(peer).outbound.next({ bytes });
      } catch (err: unknown) {
        overflow ??= err instanceof Error ? err : new Error(String(err));
      }
    }
    if (overflow) throw overflow;
  }

  sendTo(peer: RemotePeer): Observer<SignedMessage | GossipMessageInit> {
    return {
      next: (message) => {
        try {
          this.send(message, peer);
        } catch {
          // Counted and reported on drops$ (overflow under the 'error' policy, too large):
          // an Observer has no caller to throw at.
        }
      },
      error: () => undefined,
      complete: () => undefined,
    };
  }

  queueTo<T extends SignedMessage | GossipMessageInit>(peer: RemotePeer): MonoTypeOperatorFunction<T> {
    return concatMap((message: T) => {
      const queued = this.queue(message, peer);
      // Room in the buffer: go on synchronously, without a promise per message.
      return queued === QUEUED ? of(message) : from(queued.then(() => message));
    });
  }

  /** Queues a message for `peer`, waiting for room instead of dropping it. */
  private queue(message: SignedMessage | GossipMessageInit, peer: RemotePeer): Promise<void> {
    if (this.stopping) return Promise.reject(new StoppedError());
    let bytes: Buffer;
    try {
      bytes = this.checkSize(toSigned(message));
    } catch (err: unknown) {
      return Promise.reject(err);
    }
    if (this.isSelf(peer)) return QUEUED;
    return this.store.get(peer).outbound.nextQueued(bytes);
  }

  sendAsync(message: SignedMessage | GossipMessageInit, peer: RemotePeer): Promise<void> {
    if (this.stopping) return Promise.reject(new StoppedError());
    const signed = toSigned(message);
    let bytes: Buffer;
    try {
      bytes = this.checkSize(signed);
    } catch (err: unknown) {
      return Promise.reject(err);
    }
    return this.store.get(peer).outbound.nextBlocking(bytes);
  }

  sendTracked(message: SignedMessage | GossipMessageInit, peer: RemotePeer, settled: (err?: Error | null) => void): void {
    if (this.stopping) {
      settled(new StoppedError());
      return;
    }
    let bytes: Buffer;
    try {
      bytes = this.checkSize(toSigned(message));
    } catch (err: unknown) {
      settled(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.store.get(peer).outbound.nextTracked(bytes, settled);
  }

  async sendWithAck(
    message: GossipMessageInit,
    timeoutMs: number,
    minAck: number,
    ...peers: RemotePeer[]
  ): Promise<AggregatedSendResult> {
    if (peers.length === 0) return new AggregatedSendResult([]);
    if (this.stopping) throw new StoppedError();
    const nonce = randomNonce();
    const signed = SignedMessage.create({ ...message, nonce });
    this.checkSize(signed);
    const outcomes: AckOutcome[] = [];
    await new Promise<void>((resolve) => {
      let acks = 0;
      let settled = 0;
      const pending = new Map<RemotePeer, () => void>();
      const finishPeer = (peer: RemotePeer, error: string): void => {
        const cleanup = pending.get(peer);
        if (!cleanup) return;
        pending.delete(peer);
        cleanup();
        outcomes.push({ peer, error });
        settled++;
        if (error === '') acks++;
        if (acks >= minAck || settled === peers.length) {
          for (const [p, c] of pending) {
            c();
            outcomes.push({ peer: p, error: 'no ack awaited: enough peers acknowledged' });
          }
          pending.clear();
          resolve();
        }
      };
      for (const peer of peers) {
        if (!peer.pkiId || peer.pkiId.length === 0) {
          pending.set(peer, () => undefined);
          finishPeer(peer, 'peer has no PKI-ID: its ack cannot be matched');
          continue;
        }
        const key = ackKey(peer.pkiId, nonce);
        const timer = setTimeout(() => finishPeer(peer, `timed out waiting for ack after ${timeoutMs} ms`), timeoutMs);
        timer.unref();
        pending.set(peer, () => {
          clearTimeout(timer);
          this.ackWaiters.delete(key);
        });
        this.ackWaiters.set(key, (error) => finishPeer(peer, error));
      }
      for (const peer of peers) {
        if (!pending.has(peer)) continue;
        this.sendAsync(signed, peer).catch((err: unknown) =>
          finishPeer(peer, err instanceof Error ? err.message : String(err)),
        );
      }
    });
    return new AggregatedSendResult(outcomes);
  }

  connect(peer: RemotePeer): Promise<ConnectionInfo> {
    if (this.stopping) return Promise.reject(new StoppedError());
    if (this.isSelf(peer)) return Promise.reject(new TypeError('cannot connect to self'));
    return this.store.ready(this.store.get(peer));
  }

  async probe(peer: RemotePeer): Promise<number> {
    if (this.stopping) throw new StoppedError();
    return this.dialer.probe(peer.endpoint);
  }

  async handshake(peer: RemotePeer): Promise<ConnectionInfo> {
    if (this.stopping) throw new StoppedError();
    const conn = new Connection('outbound', peer.endpoint, this.hooks, peer.pkiId);
    this.store.track(conn);
    const outcome = await this.dialAndHandshake(conn, peer, true);
    // The remote ends a probe stream: OK when it accepted us, an error with its reason if not.
    // A peer too old to know probes keeps the stream open; then its silence is consent.
    let timer: NodeJS.Timeout | undefined;
    const silence = new Promise<undefined>((resolve) => {
      timer = setTimeout(resolve, this.options.connTimeoutMs, undefined);
      timer.unref();
    });
    const close = await Promise.race([conn.closed, silence]);
    clearTimeout(timer);
    if (close === undefined) {
      void conn.close();
    } else if (!close.graceful) {
      const reason = close.error?.message ?? 'stream failed';
      throw new HandshakeError('remote-refused', `remote refused the handshake: ${reason}`);
    }
    return outcome.info;
  }

  accept(predicate: (message: ReceivedMessage) => boolean = () => true): Observable<ReceivedMessage> {
    return this.demux.accept(predicate);
  }

  async closeConn(peer: RemotePeer): Promise<void> {
    const pkiId = peer.pkiId ?? this.store.connections.find((c) => c.endpoint === peer.endpoint)?.info?.pkiId;
    if (pkiId) await this.store.closePeer(pkiId);
  }

  connections(): ConnectionSummary[] {
    return this.store.registered
      .filter((c) => c.info !== undefined && c.usable)
      .map((c) => ({
        id: c.id,
        pkiId: c.info!.pkiId,
        endpoint: c.endpoint,
        direction: c.direction,
        state: c.state,
        queued: c.outbound.depth,
        active: this.store.activeFor(c.info!.pkiId) === c,
      }));
  }

  queueDepth$(peer: RemotePeer): Observable<number> {
    return this.store.get(peer).outbound.depth$;
  }

  stats(): CommStats {
    return { ...this.counters, queued: this.queued, dropped: { ...this.counters.dropped } };
  }

  /** Responder: answers go back over the connection the message came on. */
  respond(received: ReceivedMessage, message: SignedMessage): Promise<void> {
    if (this.stopping) return Promise.reject(new StoppedError());
    let bytes: Buffer;
    try {
      bytes = this.checkSize(message);
    } catch (err: unknown) {
      return Promise.reject(err);
    }
    const origin = this.byId.get(received.connectionId);
    const conn = origin?.usable ? origin : this.store.activeFor(received.connectionInfo.pkiId);
    if (!conn) {
      this.reportDrop(received.connectionInfo.pkiId, received.connectionInfo.endpoint, bytes.length, 'connection-closed');
      return Promise.reject(new ConnectionClosedError('the connection the message came on has closed'));
    }
    return conn.outbound.nextQueued(bytes);
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const grace = Math.min(this.options.closeTimeoutMs, 2_000);
    await this.store.stop(grace);
    await this.server?.close(grace);
    this.dialer.closeAll();
    for (const settle of this.ackWaiters.values()) settle('comm stopped');
    this.ackWaiters.clear();
    this.demux.complete();
    this.presumedDead.complete();
    this.drops.complete();
    this.handshakeFailures.complete();
  }

  private onInboundStream(call: ServerGossipStream): void {
    if (this.stopping) {
      call.on('error', () => undefined);
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'comm is stopping' });
      return;
    }
    // The connection under the call, found once: its window, and the TLS certificate the client
    // presented (the handshake binds to it), read while the ALPN copy is let go.
    const session = http2SessionOf(call);
    widenReceiveWindow(session, this.options.flowControlWindow);
    let tlsCertificate: Buffer | undefined;
    if (this.options.tls) {
      const socket = tlsSocketOf(session);
      if (socket) releaseAlpnCopy(socket);
      tlsCertificate = peerCertificate(call, socket);
    }
    const conn = new Connection('inbound', call.getPeer(), this.hooks);
    this.wire(conn);
    const check = (first: Buffer): HandshakeOutcome => this.check(first, conn.endpoint, undefined, tlsCertificate, true);
    conn.handshake(call, this.ownConn, check, this.options.connTimeoutMs).then(
      (outcome) => {
        if (outcome.probe) {
          void conn.close();
          return;
        }
        // Without a logger, no record (hex string, object) is built per connection.
        if (this.logger !== silentLogger) {
          this.logger.debug({ pkiId: outcome.info.pkiId.toString('hex'), endpoint: conn.endpoint }, 'inbound connection');
        }
        this.store.register(conn);
      },
      (err: unknown) => {
        if (!conn.cancelled) this.handshakeFailed('inbound', conn.endpoint, err);
      },
    );
  }

  private async dialAndHandshake(conn: Connection, peer: RemotePeer, probe: boolean): Promise<HandshakeOutcome> {
    if (!this.byId.has(conn.id)) this.wire(conn);
    const deadline = setTimeout(
      () => conn.abort(new TimeoutError(`handshake with ${peer.endpoint} took over ${this.options.handshakeTimeoutMs} ms`)),
      this.options.handshakeTimeoutMs,
    );
    deadline.unref();
    try {
      const dialed = await this.dialer.dial(peer.endpoint);
      void conn.closed.then(() => dialed.close());
      if (conn.state === ConnectionState.Closed) throw conn.error ?? new ConnectionClosedError('connection closed while dialing');
      const stream = dialed.openStream();
      const check = (first: Buffer): HandshakeOutcome =>
        this.check(first, peer.endpoint, peer.pkiId, this.options.tls ? stream.getAuthContext()?.sslPeerCertificate?.raw : undefined, false);
      const outcome = await conn.handshake(stream, probe ? this.ownProbe : this.ownConn, check, this.options.connTimeoutMs);
      if (this.logger !== silentLogger) {
        this.logger.debug({ pkiId: outcome.info.pkiId.toString('hex'), endpoint: peer.endpoint }, 'outbound connection');
      }
      return outcome;
    } catch (err: unknown) {
      if (conn.state !== ConnectionState.Closed) conn.abort(err instanceof Error ? err : new Error(String(err)));
      if (!conn.cancelled) this.handshakeFailed('outbound', peer.endpoint, err);
      throw err;
    } finally {
      clearTimeout(deadline);
    }
  }

  /** Checks the remote's ConnEstablish; `tlsCertificate` is the one it presented (TLS only). */
  private check(
    first: Buffer,
    endpoint: string,
    expectedPkiId: Uint8Array | undefined,
    tlsCertificate: Buffer | undefined,
    serverSide: boolean,
  ): HandshakeOutcome {
    const remote = checkConnEstablish(first, {
      mapper: this.mapper,
      tls: this.options.tls,
      ...(tlsCertificate ? { remoteCertificate: tlsCertificate } : {}),
      // On our own server peerCertificate gives only client certificates OpenSSL verified against
      // our TLS CAs; on a server the caller owns, its CAs were used, so ours are checked here.
      ...(serverSide && this.options.server ? { tlsRootCerts: this.tlsRoots } : {}),
      ...(expectedPkiId ? { expectedPkiId } : {}),
    });
    return {
      probe: remote.probe,
      info: {
        pkiId: remote.pkiId,
        identity: remote.identity,
        endpoint,
        auth: { signedData: remote.signedData, signature: remote.signature, ...(tlsCertificate ? { tlsCertificate } : {}) },
      },
    };
  }

  /** Connects a connection's inbound side to the demux and acks to their waiters. */
  private wire(conn: Connection): void {
    this.byId.set(conn.id, conn);
    if (conn.direction === 'inbound') this.store.track(conn);
    conn.inbound$.subscribe({
      next: (received) => {
        const msg = received.message;
        if (msg.content === 'ack' && this.ackWaiters.size > 0) {
          const waiter = this.ackWaiters.get(ackKey(received.connectionInfo.pkiId, Long.fromValue(msg.nonce)));
          if (waiter) {
            waiter(msg.ack?.error ?? '');
            return;
          }
        }
        this.demux.publish(received);
      },
      complete: () => this.byId.delete(conn.id),
    });
  }

  private handshakeFailed(direction: 'inbound' | 'outbound', endpoint: string, err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.counters.handshakeFailures++;
    const reason = error instanceof HandshakeError ? error.reason : error.name;
    this.options.metrics?.handshakeFailed(reason);
    this.logger.warn({ direction, endpoint, reason, err: error.message }, 'handshake failed');
    if (!this.stopping) this.handshakeFailures.next({ direction, endpoint, error });
  }

  private checkSize(signed: SignedMessage): Buffer {
    const bytes = signed.bytes;
    if (bytes.length > this.options.maxSendMsgSize) {
      this.counters.dropped['too-large']++;
      this.options.metrics?.messageDropped('too-large');
      throw new MessageTooLargeError(bytes.length, this.options.maxSendMsgSize);
    }
    return bytes;
  }

  private isSelf(peer: RemotePeer): boolean {
    return peer.pkiId !== undefined && this.selfPkiId.equals(peer.pkiId);
  }

  private dropAll(conn: Connection, items: readonly OutboundItem[], reason: DropReason, cause?: Error): void {
    for (const item of items) {
      const text = cause ? `message dropped: ${reason}: ${cause.message}` : `message dropped: ${reason}`;
      item.settle?.(new ConnectionClosedError(text, cause ? { cause } : undefined));
      this.reportDrop(conn.info?.pkiId ?? toBuffer(conn.targetPkiId), conn.endpoint, item.bytes.length, reason);
    }
  }

  private reportDrop(pkiId: Buffer | undefined, endpoint: string, size: number, reason: DropReason): void {
    this.counters.dropped[reason]++;
    this.options.metrics?.messageDropped(reason);
    if (this.drops.observed) this.drops.next({ reason, endpoint, size, ...(pkiId ? { pkiId } : {}) });
  }
}

function defaultMapper(options: ResolvedCommOptions): IdentityMapper {
  const msps = options.msps ?? (options.self.msp ? [options.self.msp] : []);
  if (msps.length === 0) throw new TypeError('no trusted MSPs: pass msps, mapper, or a self with msp');
  return new MspIdentityMapper(new MspManager([...msps]), { pkiId: options.self.pkiId, identity: options.self.identity });
}

function toSigned(message: SignedMessage | GossipMessageInit): SignedMessage {
  return message instanceof SignedMessage ? message : SignedMessage.create(message);
}

function toBuffer(pkiId: Uint8Array | undefined): Buffer | undefined {
  return pkiId ? Buffer.from(pkiId) : undefined;
}

function hostOf(address: string): string {
  const i = address.lastIndexOf(':');
  return i < 0 ? address : address.slice(0, i);
}

