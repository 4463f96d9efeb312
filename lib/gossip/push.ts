import type { KeyObject } from 'node:crypto';
import Long from 'long';
import {
  Subject,
  Subscription,
  asyncScheduler,
  concatMap,
  from,
  of,
  type Observable,
  type OperatorFunction,
  type SchedulerLike,
} from 'rxjs';
import type { Comm } from '../comm/comm.js';
import type { ConnectionInfo, RemotePeer } from '../comm/connection-info.js';
import { silentLogger, type Logger } from '../comm/logger.js';
import type { ReceivedMessage } from '../comm/received-message.js';
import { GossipError, MessageTooLargeError, StoppedError, UnknownOriginError } from '../errors.js';
import type { IdentityMapper } from '../identity/identity-mapper.js';
import { BatchVerifier } from '../identity/batch-verifier.js';
import { checkSignatureForm, verifySignatureAsync } from '../identity/signer.js';
import { gossip } from '../proto/messages.js';
import { encodeDataEnvelope } from '../wire/data-envelope.js';
import type { SignedMessage, MessageSigner } from '../wire/signed-message.js';
import { burst } from './burst.js';
import { toDelivery, type DataDelivery } from './data-delivery.js';
import { payloadDigest, payloadDigestOf, type DigestFn } from './data-digest.js';
import { claimedOrigin, publicKeyOf, verifyDataMessage } from './data-origin.js';
import { MessageStore } from './message-store.js';
import { peersOf, samePkiId, selectPeers, type PeerSource } from './peer-selection.js';

/** Options of createPush. Defaults are Fabric's (core.yaml peer.gossip.*) unless said otherwise. */
export interface PushOptions {
  /** The store that remembers what was seen; share it with a Pull. Default: a new MessageStore. */
  readonly store?: MessageStore;
  /** How many peers each new message is forwarded to (propagatePeerNum). Default 3. */
  readonly fanout?: number;
  /**
   * When messages go out. `immediate` (the default): each is handed to the comm as soon as it is
   * published or received, so a lone message waits for nothing; the comm queues per connection,
   * and holding messages back would only add latency. `window`: Fabric's batching emitter, a burst
   * goes out when it holds `maxBurst` messages or `burstDelayMs` after its first one (Fabric's
   * default: 10 messages or 10 ms, so a lone message waits the full 10 ms).
   */
  readonly batching?: 'immediate' | 'window';
  /** Most messages sent in one burst (maxPropagationBurstSize), `window` only. Default 10. */
  readonly maxBurst?: number;
  /** Longest a message waits for its burst (maxPropagationBurstLatency), in ms, `window` only. Default 10. */
  readonly burstDelayMs?: number;
  /**
   * Most messages in flight to one peer: admitted by push and not yet taken by that peer's
   * stream. `publishAsync` and `publishAll` wait while a target is at this bound (and resume when
   * it is down to half); `publish` and forwarding drop (reason `overflow`). Default 200 (Fabric's
   * send buffer).
   */
  readonly maxInFlight?: number;
  /** How messages are keyed. Default: SHA-256 of the envelope payload (payloadDigest). */
  readonly digestOf?: DigestFn;
  /**
   * Whether published messages are signed by this peer as their originator (see data-origin.ts):
   * the Envelope signature covers the payload, which names this peer in `origin_pki_id`. Default
   * false (Fabric NoopSigns data messages; its blocks carry their own signatures), or true when
   * `signer` is given.
   */
  readonly sign?: boolean;
  /** Signs published messages. Default: the comm's signer. It must sign for the comm's identity. */
  readonly signer?: MessageSigner;
  /**
   * Whether every received message must carry a valid originator signature (verifyDataMessage
   * against `identityMapper`) before it is stored, delivered or forwarded. Default false.
   */
  readonly verifyOrigin?: boolean;
  /**
   * With `verifyOrigin`: whether the ECDSA math is done off the main thread, up to
   * `maxPendingVerifications` at a time, beyond which the event loop verifies too (which slows
   * reading, and so the senders). `true` or `'worker'`: on a worker thread, in batches (one per
   * push, started at the first verification: BatchVerifier, the cheapest for the event loop);
   * `'threadpool'`: one node:crypto async verify per message on libuv's threadpool (four threads
   * by default, a crypto job per message). Fabric's checks of the signature's form and the
   * origin's identity stay on the event loop. Deliveries may then come in another order than
   * the messages arrived. Default true; false verifies in line
   * (verifyDataMessage, through the mapper's own `verify`: use it for a mapper with other rules).
   */
  readonly verifyOffThread?: boolean | 'worker' | 'threadpool';
  /**
   * Most verifications in progress off the main thread. Default 4,096: what the comm's 1 MiB
   * HTTP/2 window lets a sender have in flight is about 900 messages of 1 KiB, and below that
   * the event loop would verify most of a fast sender's messages itself, competing with the
   * worker for the cores (bench, signed push: with 256, the receiver's event loop was busy
   * 0.91–0.93 of the time; with 4,096, 0.26–0.30, the worker verifying).
   */
  readonly maxPendingVerifications?: number;
  /** Where originator identities are looked up. Default: the comm's identity mapper. */
  readonly identityMapper?: IdentityMapper;
  /**
   * Called when a message names an originator the identity mapper does not know (the message is
   * refused): the place to ask for that identity, e.g. an identity pull. Must not throw.
   */
  readonly onUnknownOrigin?: (pkiId: Buffer, from: ConnectionInfo) => void;
  /** The channel published messages carry (tag CHAN_AND_ORG); others' are ignored. Default: none. */
  readonly channel?: Uint8Array;
  /**
   * Checks a received message before it is stored, delivered and forwarded (Fabric's block
   * verification), after the originator check when there is one; false drops it. Default:
   * accept all. Must not throw.
   */
  readonly validate?: (received: ReceivedMessage) => boolean;
  /** Timers run on it (tests pass a TestScheduler). Default: asyncScheduler. */
  readonly scheduler?: SchedulerLike;
  /** Random numbers in [0, 1) for choosing peers. Default: Math.random. */
  readonly random?: () => number;
  readonly logger?: Logger;
}

/** Why push could not send a message (to one peer, or at all). */
export type PushDropReason = 'overflow' | 'connection-closed' | 'dial-failed' | 'stopped' | 'too-large' | 'no-peers';

/** A message push could not send, and why. */
export interface PushDrop {
  readonly digest: string;
  readonly reason: PushDropReason;
  /** The peer it was meant for; absent when there was nobody to send it to (`no-peers`). */
  readonly peer?: RemotePeer;
  /** The comm's error, when the comm refused or dropped it. */
  readonly error?: Error;
}

/** A received message push refused, and why. */
export interface PushRejection {
  readonly from: ConnectionInfo;
  /**
   * SignatureError, UnknownOriginError or DecodeError from the originator check, or a
   * GossipError when `validate` refused the message.
   */
  readonly error: Error;
}

/** Counters of a Push since it started. */
export interface PushStats {
  /** Data messages received (duplicates and invalid ones included). */
  readonly received: number;
  readonly duplicates: number;
  /** Received messages refused: undecodable, bad originator signature, or refused by validate. */
  readonly invalid: number;
  /** Received messages refused because their originator's identity is unknown (not in `invalid`). */
  readonly unknownOrigin: number;
  readonly published: number;
  /** Messages the target peer's stream took, counted once per peer. */
  readonly sent: number;
  /** Messages admitted and not yet taken by the peer's stream (nor dropped), per peer. */
  readonly inFlight: number;
  /** Messages push could not send, per peer (once per message for `no-peers`), by reason. */
  readonly dropped: Readonly<Record<PushDropReason, number>>;
}

/** A message to publish with its seq_num (by default one more than the highest published). */
export interface PublishInit {
  readonly data: Uint8Array;
  readonly seqNum?: number | Long;
}

/**
 * Push dissemination (Fabric's propagation through its batching emitter).
 *
 * Every data message new to this peer, received or published, is forwarded to `fanout` peers
 * chosen at random among the current peers of its PeerSource, never to the peer it came from.
 * A message seen before (same digest in the store) is dropped. Every (message, peer) pair push
 * admits ends up either in `stats().sent` (that peer's stream took it) or on `drops$` and in
 * `stats().dropped` with the reason: nothing is counted as sent that was not.
 */
export interface Push {
  /**
   * Each data message received from another peer, once, when it is first seen (and its
   * originator verified, with `verifyOrigin`). Hot: only messages that arrive while subscribed.
   * Completes on `stop()` or when the comm stops; never errors. Local publications are not on it.
   */
  readonly delivered$: Observable<DataDelivery>;
  /** Every message push could not send, with the peer and reason. Hot; completes on stop(). */
  readonly drops$: Observable<PushDrop>;
  /** Every received message refused, with the typed error. Hot; completes on stop(). */
  readonly rejected$: Observable<PushRejection>;
  /** The store deciding what has been seen (shared with a Pull when given in options). */
  readonly store: MessageStore;
  /**
   * Originates a data message (`DataMessage{payload{seq_num, data}}`, seq_num by default one
   * more than the highest published so far) and sends it at once without waiting: a target
   * already holding `maxInFlight` messages is skipped and the skip reported on `drops$`
   * (`overflow`). Returns its digest. Publishing a message already held sends nothing; after
   * stop() it is counted as dropped (`stopped`). Throws TypeError only when `digestOf` gives the
   * message no digest.
   */
  publish(data: Uint8Array, seqNum?: number | Long): string;
  /**
   * Like publish, but waits until every target has room (fewer than `maxInFlight` messages in
   * flight) instead of dropping: resolves with the digest once the message is queued to all of
   * them. Rejects with StoppedError when push stops first.
   */
  publishAsync(data: Uint8Array, seqNum?: number | Long): Promise<string>;
  /**
   * The RxJS form of publishAsync: publishes each value of the source in order, one at a time,
   * each waiting for room (values that arrive meanwhile queue, as in concatMap), and emits its
   * digest. E.g. `from(chunks).pipe(push.publishAll())`. Errors with StoppedError if push stops.
   */
  publishAll(): OperatorFunction<Uint8Array | PublishInit, string>;
  stats(): PushStats;
  /**
   * Unsubscribes from the comm; messages still waiting for their burst are dropped (`stopped`)
   * and waiting publishers rejected. Idempotent; safe after comm.stop().
   */
  stop(): void;
}

/** The messages in flight to one peer, and the publishers waiting for room there. */
interface Lane {
  inFlight: number;
  waiters: Array<() => void>;
}

interface Outgoing {
  readonly message: SignedMessage;
  readonly digest: string;
  readonly targets: readonly RemotePeer[];
  readonly lanes: readonly Lane[];
}

/** Starts push dissemination over `comm`, gossiping to the peers of `peers` (e.g. a Membership). */
export function createPush(comm: Comm, peers: PeerSource, options: PushOptions = {}): Push {
  return new PushPipeline(comm, peers, options);
}

const NO_CHANNEL = new Uint8Array(0);
const NO_ORIGIN = new Uint8Array(0);

class PushPipeline implements Push {
  readonly store: MessageStore;
  private readonly delivered = new Subject<DataDelivery>();
  readonly delivered$: Observable<DataDelivery> = this.delivered.asObservable();
  private readonly drops = new Subject<PushDrop>();
  readonly drops$: Observable<PushDrop> = this.drops.asObservable();
  private readonly rejected = new Subject<PushRejection>();
  readonly rejected$: Observable<PushRejection> = this.rejected.asObservable();
  /** Bursts in `window` mode; undefined in `immediate` mode. */
  private readonly outgoing: Subject<Outgoing> | undefined;
  private readonly subscription = new Subscription();
  private readonly fanout: number;
  private readonly maxInFlight: number;
  private readonly resumeAt: number;
  private readonly digestOf: DigestFn;
  private readonly channel: Uint8Array;
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly self: Buffer;
  private readonly signer: MessageSigner | undefined;
  private readonly mapper: IdentityMapper | undefined;
  private readonly lanes = new Map<string, Lane>();
  private readonly laneOf = new WeakMap<RemotePeer, Lane>();
  /** Verifies originator signatures on a worker thread; started at the first one. */
  private verifier: BatchVerifier | undefined;
  /** Digests being verified off the main thread, with the signature being checked. */
  private readonly verifying = new Map<string, Uint8Array>();
  private readonly offThread: false | 'worker' | 'threadpool';
  private readonly maxPending: number;
  /** The current peers, without this one. */
  private current: readonly RemotePeer[] = [];
  private nextSeq = Long.UONE;
  private stopped = false;
  private counters = { received: 0, duplicates: 0, invalid: 0, unknownOrigin: 0, published: 0, sent: 0, inFlight: 0 };
  private dropped: Record<PushDropReason, number> = {
    overflow: 0,
    'connection-closed': 0,
    'dial-failed': 0,
    stopped: 0,
    'too-large': 0,
    'no-peers': 0,
  };

  constructor(
    private readonly comm: Comm,
    peers: PeerSource,
    private readonly options: PushOptions,
  ) {
    const scheduler = options.scheduler ?? asyncScheduler;
    this.fanout = options.fanout ?? 3;
    if (!Number.isInteger(this.fanout) || this.fanout < 1) throw new RangeError('push: fanout must be a positive integer');
    this.maxInFlight = options.maxInFlight ?? 200;
    if (!Number.isInteger(this.maxInFlight) || this.maxInFlight < 1) {
      throw new RangeError('push: maxInFlight must be a positive integer');
    }
    this.resumeAt = Math.floor(this.maxInFlight / 2);
    this.store = options.store ?? new MessageStore({ scheduler });
    this.digestOf = options.digestOf ?? payloadDigest;
    this.channel = options.channel ?? NO_CHANNEL;
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? silentLogger;
    this.self = comm.getPKIid();
    this.signer = (options.sign ?? options.signer !== undefined) ? (options.signer ?? comm.signer) : undefined;
    this.mapper = options.verifyOrigin ? (options.identityMapper ?? comm.identityMapper) : undefined;
    const offThread = options.verifyOffThread ?? true;
    this.offThread = offThread === true ? 'worker' : offThread;
    this.maxPending = options.maxPendingVerifications ?? 4096;
    if (!Number.isInteger(this.maxPending) || this.maxPending < 0) {
      throw new RangeError('push: maxPendingVerifications must be a non-negative integer');
    }

    this.subscription.add(
      peersOf(peers).subscribe((list) => {
        // Never this peer itself: filtered once per list rather than once per message.
        this.current = list.filter((p) => !(p.endpoint === comm.endpoint || samePkiId(p.pkiId, this.self)));
      }),
    );
    if (options.batching === 'window') {
      const outgoing = new Subject<Outgoing>();
      this.outgoing = outgoing;
      this.subscription.add(
        outgoing
          .pipe(burst(options.maxBurst ?? 10, options.burstDelayMs ?? 10, scheduler))
          .subscribe((batch) => batch.forEach((out) => this.send(out))),
      );
    }
    this.subscription.add(
      comm.accept((m) => this.isOurs(m)).subscribe({
        next: (m) => this.onReceived(m),
        complete: () => this.stop(),
      }),
    );
  }

  publish(data: Uint8Array, seqNum?: number | Long): string {
    const message = this.create(data, seqNum);
    const digest = this.publishedDigest(message);
    if (digest === undefined) throw new TypeError('push: digestOf returned no digest for a published data message');
    if (this.stopped) {
      this.drop(digest, 'stopped');
      return digest;
    }
    if (!this.store.add(digest, message)) return digest;
    this.counters.published++;
    this.route(message, digest, undefined, true);
    return digest;
  }

  publishAsync(data: Uint8Array, seqNum?: number | Long): Promise<string> {
    try {
      const published = this.publishWhenRoom(data, seqNum);
      return typeof published === 'string' ? Promise.resolve(published) : published;
    } catch (err: unknown) {
      return Promise.reject(err);
    }
  }

  publishAll(): OperatorFunction<Uint8Array | PublishInit, string> {
    return concatMap((item) => {
      const published = item instanceof Uint8Array ? this.publishWhenRoom(item) : this.publishWhenRoom(item.data, item.seqNum);
      // Admitted at once: go on synchronously, without a promise per message.
      return typeof published === 'string' ? of(published) : from(published);
    });
  }

  /**
   * publishAsync's work: the digest when the message was admitted at once (or held already, or
   * had nobody to go to), a promise of it when it waits for room. Throws what publishAsync rejects with.
   */
  private publishWhenRoom(data: Uint8Array, seqNum?: number | Long): string | Promise<string> {
    if (this.stopped) throw new StoppedError('push is stopped');
    const message = this.create(data, seqNum);
    const digest = this.publishedDigest(message);
    if (digest === undefined) throw new TypeError('push: digestOf returned no digest for a published data message');
    if (!this.store.add(digest, message)) return digest;
    this.counters.published++;
    const targets = this.targets(undefined);
    if (targets.length === 0) {
      this.drop(digest, 'no-peers');
      return digest;
    }
    const lanes = targets.map((t) => this.lane(t));
    if (lanes.every((l) => l.inFlight < this.maxInFlight)) {
      this.admit(message, digest, targets, lanes);
      return digest;
    }
    return this.room(lanes).then(() => {
      this.admit(message, digest, targets, lanes);
      return digest;
    });
  }

  stats(): PushStats {
    return { ...this.counters, dropped: { ...this.dropped } };
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    // Completing the bursts hands what they hold to send(), which counts it as dropped.
    this.outgoing?.complete();
    this.subscription.unsubscribe();
    this.verifier?.close();
    for (const lane of this.lanes.values()) this.wake(lane);
    this.delivered.complete();
    this.drops.complete();
    this.rejected.complete();
  }

  private create(data: Uint8Array, seqNum: number | Long | undefined): SignedMessage {
    const seq = seqNum === undefined ? this.nextSeq : Long.fromValue(seqNum).toUnsigned();
    if (seq.gte(this.nextSeq)) this.nextSeq = seq.add(1);
    const channelled = this.channel.length > 0;
    return encodeDataEnvelope(
      {
        channel: this.channel,
        tag: channelled ? gossip.GossipMessage.Tag.CHAN_AND_ORG : gossip.GossipMessage.Tag.EMPTY,
        seqNum: seq,
        data,
        originPkiId: this.signer ? this.self : NO_ORIGIN,
      },
      this.signer,
    );
  }

  /** The digest of a message this peer publishes (a data message with a payload by construction). */
  private publishedDigest(message: SignedMessage): string | undefined {
    // The default digest without decoding the message just encoded.
    return this.digestOf === payloadDigest ? payloadDigestOf(message.payload) : this.digestOf(message);
  }

  private isOurs(m: ReceivedMessage): boolean {
    try {
      const msg = m.message;
      return msg.content === 'dataMsg' && Buffer.compare(msg.channel ?? NO_CHANNEL, this.channel) === 0;
    } catch {
      return false;
    }
  }

  private onReceived(m: ReceivedMessage): void {
    this.counters.received++;
    const signed = m.signedMessage;
    let digest: string | undefined;
    try {
      digest = this.digestOf(signed);
    } catch (err: unknown) {
      this.reject(m, err);
      return;
    }
    if (digest === undefined) {
      this.reject(m, new GossipError('data message has no payload'));
      return;
    }
    // Before any check: a duplicate costs no verification. (With nothing to check, adding it
    // to the store in accept() finds duplicates, for one look-up instead of two.)
    if ((this.mapper !== undefined || this.options.validate !== undefined) && this.store.has(digest)) {
      this.counters.duplicates++;
      return;
    }
    if (this.mapper) {
      if (this.offThread && this.verifying.size < this.maxPending) {
        const pending = this.verifying.get(digest);
        if (pending !== undefined && Buffer.compare(pending, signed.signature) === 0) {
          this.counters.duplicates++;
          return;
        }
        // What needs no cryptography is checked now, so that it fails at once.
        let key: KeyObject;
        try {
          const { identity } = claimedOrigin(signed, this.mapper);
          key = publicKeyOf(identity);
          checkSignatureForm(key, signed.signature);
        } catch (err: unknown) {
          this.refuse(m, err);
          return;
        }
        // Another signature over the same payload is checked too: a forged copy arriving first
        // must not shadow the genuine one.
        const signature = signed.signature;
        this.verifying.set(digest, signature);
        if (this.offThread === 'threadpool') {
          verifySignatureAsync(key, signed.payload, signature).then(
            () => this.verified(m, digest, signature, undefined),
            (err: unknown) => this.verified(m, digest, signature, err ?? new Error('verification failed')),
          );
          return;
        }
        this.verifier ??= new BatchVerifier();
        this.verifier.verify(key, signed.payload, signature, (err) => this.verified(m, digest, signature, err));
        return;
      }
      try {
        verifyDataMessage(signed, this.mapper);
      } catch (err: unknown) {
        this.refuse(m, err);
        return;
      }
    }
    this.accept(m, digest, false);
  }

  /** The originator signature of a received message was checked off the main thread. */
  private verified(m: ReceivedMessage, digest: string, signature: Uint8Array, err: unknown): void {
    if (this.verifying.get(digest) === signature) this.verifying.delete(digest);
    if (err) this.refuse(m, err);
    else this.accept(m, digest, true);
  }

  /** A received message passed the originator check (if any): validate, store, deliver, forward. */
  private accept(m: ReceivedMessage, digest: string, later: boolean): void {
    if (this.stopped) return;
    if (this.options.validate) {
      // Verified off the main thread: another copy may have got in meanwhile (validate is not
      // asked about a duplicate).
      if (later && this.store.has(digest)) {
        this.counters.duplicates++;
        return;
      }
      if (!this.options.validate(m)) {
        this.reject(m, new GossipError('refused by validate'));
        return;
      }
    }
    const signed = m.signedMessage;
    if (!this.store.add(digest, signed)) {
      this.counters.duplicates++;
      return;
    }
    this.delivered.next(toDelivery(digest, signed, m.connectionInfo));
    this.route(signed, digest, m.connectionInfo.pkiId, false);
  }

  /** A received message failed the originator check. */
  private refuse(m: ReceivedMessage, err: unknown): void {
    if (this.stopped) return;
    if (err instanceof UnknownOriginError) {
      this.counters.unknownOrigin++;
      this.options.onUnknownOrigin?.(err.pkiId, m.connectionInfo);
      if (this.rejected.observed) this.rejected.next({ from: m.connectionInfo, error: err });
      return;
    }
    this.reject(m, err);
  }

  private reject(m: ReceivedMessage, err: unknown): void {
    this.counters.invalid++;
    if (this.rejected.observed) {
      this.rejected.next({ from: m.connectionInfo, error: err instanceof Error ? err : new Error(String(err)) });
    }
  }

  /** Chooses targets for a new message and admits it to those with room; the others are drops. */
  private route(message: SignedMessage, digest: string, from: Uint8Array | undefined, published: boolean): void {
    const chosen = this.targets(from);
    if (chosen.length === 0) {
      // A forwarded message with nobody else to go to is not lost: everyone we know has it.
      if (published) this.drop(digest, 'no-peers');
      return;
    }
    const targets: RemotePeer[] = [];
    const lanes: Lane[] = [];
    for (const peer of chosen) {
      const lane = this.lane(peer);
      if (lane.inFlight >= this.maxInFlight) {
        this.drop(digest, 'overflow', peer);
        continue;
      }
      targets.push(peer);
      lanes.push(lane);
    }
    if (targets.length > 0) this.admit(message, digest, targets, lanes);
  }

  private targets(from: Uint8Array | undefined): RemotePeer[] {
    if (from === undefined || from.length === 0) return selectPeers(this.current, this.fanout, undefined, this.random);
    return selectPeers(this.current, this.fanout, (p) => samePkiId(p.pkiId, from), this.random);
  }

  private admit(message: SignedMessage, digest: string, targets: readonly RemotePeer[], lanes: readonly Lane[]): void {
    for (const lane of lanes) lane.inFlight++;
    this.counters.inFlight += lanes.length;
    const out: Outgoing = { message, digest, targets, lanes };
    if (this.outgoing) this.outgoing.next(out);
    else this.send(out);
  }

  private send({ message, digest, targets, lanes }: Outgoing): void {
    for (let i = 0; i < targets.length; i++) {
      const peer = targets[i]!;
      const lane = lanes[i]!;
      if (this.stopped) {
        this.settle(lane);
        this.drop(digest, 'stopped', peer);
        continue;
      }
      this.sendOne(message, digest, peer, lane);
    }
  }

  /**
   * Hands one message to the comm for one peer and counts the outcome, once: sent, or dropped
   * with the comm's reason. Through sendTracked's callback when the comm has it: a promise per
   * (message, peer) and its reactions cost the sender more than the rest of a send. (The
   * callbacks are anonymous on purpose: a named closure per message costs more under tsx.)
   */
  private sendOne(message: SignedMessage, digest: string, peer: RemotePeer, lane: Lane): void {
    let done = false;
    try {
      if (this.comm.sendTracked) {
        this.comm.sendTracked(message, peer, (err) => {
          if (done) return;
          done = true;
          this.settled(digest, peer, lane, err);
        });
      } else {
        this.comm.sendAsync(message, peer).then(
          () => this.settled(digest, peer, lane, undefined),
          (err: unknown) => this.settled(digest, peer, lane, err ?? new Error('send failed')),
        );
        done = true;
      }
    } catch (err: unknown) {
      // A Comm that throws instead of reporting: the same drop (unless it reported first).
      if (done) return;
      done = true;
      this.settled(digest, peer, lane, err ?? new Error('send failed'));
    }
  }

  /** The comm took (`err` empty) or dropped one message for one peer. */
  private settled(digest: string, peer: RemotePeer, lane: Lane, err: unknown): void {
    this.settle(lane);
    if (!err) {
      this.counters.sent++;
      return;
    }
    const error = err instanceof Error ? err : new Error(String(err));
    this.drop(digest, reasonOf(error), peer, error);
  }

  /** One message to the lane's peer was taken or dropped. */
  private settle(lane: Lane): void {
    lane.inFlight--;
    this.counters.inFlight--;
    if (lane.inFlight <= this.resumeAt) this.wake(lane);
  }

  private wake(lane: Lane): void {
    if (lane.waiters.length === 0) return;
    const waiters = lane.waiters;
    lane.waiters = [];
    for (const resume of waiters) resume();
  }

  /** Resolves once every lane has room; rejects with StoppedError when push stops first. */
  private async room(lanes: readonly Lane[]): Promise<void> {
    for (;;) {
      const full = lanes.find((l) => l.inFlight >= this.maxInFlight);
      if (full === undefined) return;
      await new Promise<void>((resolve) => full.waiters.push(resolve));
      if (this.stopped) throw new StoppedError('push stopped while waiting for room');
    }
  }

  private lane(peer: RemotePeer): Lane {
    // The same peer objects come back from the PeerSource message after message.
    let lane = this.laneOf.get(peer);
    if (lane !== undefined) return lane;
    const key = peer.pkiId && peer.pkiId.length > 0 ? Buffer.from(peer.pkiId).toString('hex') : `@${peer.endpoint}`;
    lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = { inFlight: 0, waiters: [] };
      this.lanes.set(key, lane);
    }
    this.laneOf.set(peer, lane);
    return lane;
  }

  private drop(digest: string, reason: PushDropReason, peer?: RemotePeer, error?: Error): void {
    this.dropped[reason]++;
    if (reason !== 'stopped' && reason !== 'no-peers') {
      this.logger.debug({ digest, reason, endpoint: peer?.endpoint, err: error?.message }, 'push: message dropped');
    }
    if (this.drops.observed) this.drops.next({ digest, reason, ...(peer ? { peer } : {}), ...(error ? { error } : {}) });
  }
}

/** The drop reason a comm error stands for. */
function reasonOf(error: Error): PushDropReason {
  if (error instanceof StoppedError) return 'stopped';
  if (error instanceof MessageTooLargeError) return 'too-large';
  return /dial-failed/.test(error.message) ? 'dial-failed' : 'connection-closed';
}
