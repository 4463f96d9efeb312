import Long from 'long';
import { Subject, Subscription, asyncScheduler, type Observable, type SchedulerLike } from 'rxjs';
import type { Comm } from '../comm/comm.js';
import type { RemotePeer } from '../comm/connection-info.js';
import { silentLogger, type Logger } from '../comm/logger.js';
import type { ReceivedMessage } from '../comm/received-message.js';
import { gossip } from '../proto/messages.js';
import { SignedMessage, type MessageSigner } from '../wire/signed-message.js';
import { burst } from './burst.js';
import { toDelivery, type DataDelivery } from './data-delivery.js';
import { payloadDigest, type DigestFn } from './data-digest.js';
import { MessageStore } from './message-store.js';
import { peersOf, samePkiId, selectPeers, type PeerSource } from './peer-selection.js';

/** Options of createPush. Defaults are Fabric's (core.yaml peer.gossip.*). */
export interface PushOptions {
  /** The store that remembers what was seen; share it with a Pull. Default: a new MessageStore. */
  readonly store?: MessageStore;
  /** How many peers each new message is forwarded to (propagatePeerNum). Default 3. */
  readonly fanout?: number;
  /** Most messages sent in one burst (maxPropagationBurstSize). Default 10. */
  readonly maxBurst?: number;
  /** Longest a message waits for its burst (maxPropagationBurstLatency), in ms. Default 10. */
  readonly burstDelayMs?: number;
  /** How messages are keyed. Default: SHA-256 of the envelope payload (payloadDigest). */
  readonly digestOf?: DigestFn;
  /** Signs published messages. Default: unsigned envelopes (as Fabric's blocks travel). */
  readonly signer?: MessageSigner;
  /** The channel published messages carry (tag CHAN_AND_ORG); others' are ignored. Default: none. */
  readonly channel?: Uint8Array;
  /**
   * Checks a received message before it is stored, delivered and forwarded (Fabric's block
   * verification); false drops it. Default: accept all. Must not throw.
   */
  readonly validate?: (received: ReceivedMessage) => boolean;
  /** Timers run on it (tests pass a TestScheduler). Default: asyncScheduler. */
  readonly scheduler?: SchedulerLike;
  /** Random numbers in [0, 1) for choosing peers. Default: Math.random. */
  readonly random?: () => number;
  readonly logger?: Logger;
}

/** Counters of a Push since it started. */
export interface PushStats {
  /** Data messages received (duplicates and invalid ones included). */
  readonly received: number;
  readonly duplicates: number;
  readonly invalid: number;
  readonly published: number;
  /** Messages handed to comm.send, counted once per target peer. */
  readonly sent: number;
}

/**
 * Push dissemination (Fabric's propagation through its batching emitter).
 *
 * Every data message new to this peer, received or published, is forwarded to `fanout` peers
 * chosen at random among the current peers of its PeerSource, never to the peer it came from;
 * messages go out in bursts. A message seen before (same digest in the store) is dropped.
 */
export interface Push {
  /**
   * Each data message received from another peer, once, when it is first seen. Hot: only
   * messages that arrive while subscribed. Completes on `stop()` or when the comm stops; never
   * errors. Local publications are not on it.
   */
  readonly delivered$: Observable<DataDelivery>;
  /** The store deciding what has been seen (shared with a Pull when given in options). */
  readonly store: MessageStore;
  /**
   * Originates a data message (`DataMessage{payload{seq_num, data}}`, seq_num by default one
   * more than the highest published so far) and sends it with the next burst. Returns its
   * digest. Publishing a message already held, or after stop(), sends nothing. Send failures
   * happen when the burst goes out and are logged, not thrown; throws TypeError only when
   * `digestOf` gives the message no digest.
   */
  publish(data: Uint8Array, seqNum?: number | Long): string;
  stats(): PushStats;
  /** Unsubscribes from the comm and cancels pending bursts. Idempotent; safe after comm.stop(). */
  stop(): void;
}

interface Outgoing {
  readonly message: SignedMessage;
  /** The peer it came from, never sent back to. */
  readonly from?: Uint8Array;
}

/** Starts push dissemination over `comm`, gossiping to the peers of `peers` (e.g. a Membership). */
export function createPush(comm: Comm, peers: PeerSource, options: PushOptions = {}): Push {
  return new PushPipeline(comm, peers, options);
}

class PushPipeline implements Push {
  readonly store: MessageStore;
  private readonly delivered = new Subject<DataDelivery>();
  readonly delivered$: Observable<DataDelivery> = this.delivered.asObservable();
  private readonly outgoing = new Subject<Outgoing>();
  private readonly subscription = new Subscription();
  private readonly fanout: number;
  private readonly digestOf: DigestFn;
  private readonly channel: Uint8Array;
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly self: Buffer;
  private current: readonly RemotePeer[] = [];
  private nextSeq = Long.UONE;
  private stopped = false;
  private counters = { received: 0, duplicates: 0, invalid: 0, published: 0, sent: 0 };

  constructor(
    private readonly comm: Comm,
    peers: PeerSource,
    private readonly options: PushOptions,
  ) {
    const scheduler = options.scheduler ?? asyncScheduler;
    this.fanout = options.fanout ?? 3;
    if (!Number.isInteger(this.fanout) || this.fanout < 1) throw new RangeError('push: fanout must be a positive integer');
    this.store = options.store ?? new MessageStore({ scheduler });
    this.digestOf = options.digestOf ?? payloadDigest;
    this.channel = options.channel ?? new Uint8Array(0);
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? silentLogger;
    this.self = comm.getPKIid();

    this.subscription.add(peersOf(peers).subscribe((list) => (this.current = list)));
    this.subscription.add(
      this.outgoing
        .pipe(burst(options.maxBurst ?? 10, options.burstDelayMs ?? 10, scheduler))
        .subscribe((batch) => this.sendBurst(batch)),
    );
    this.subscription.add(
      comm.accept((m) => this.isOurs(m)).subscribe({
        next: (m) => this.onReceived(m),
        complete: () => this.stop(),
      }),
    );
  }

  publish(data: Uint8Array, seqNum?: number | Long): string {
    const seq = seqNum === undefined ? this.nextSeq : Long.fromValue(seqNum).toUnsigned();
    if (seq.gte(this.nextSeq)) this.nextSeq = seq.add(1);
    const channelled = this.channel.length > 0;
    const message = SignedMessage.create(
      {
        nonce: 0,
        channel: this.channel,
        tag: channelled ? gossip.GossipMessage.Tag.CHAN_AND_ORG : gossip.GossipMessage.Tag.EMPTY,
        dataMsg: { payload: { seqNum: seq, data } },
      },
      this.options.signer,
    );
    const digest = this.digestOf(message);
    if (digest === undefined) throw new TypeError('push: digestOf returned no digest for a published data message');
    if (this.stopped || !this.store.add(digest, message)) return digest;
    this.counters.published++;
    this.outgoing.next({ message });
    return digest;
  }

  stats(): PushStats {
    return { ...this.counters };
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.subscription.unsubscribe();
    this.outgoing.complete();
    this.delivered.complete();
  }

  private isOurs(m: ReceivedMessage): boolean {
    try {
      const msg = m.message;
      return msg.content === 'dataMsg' && Buffer.compare(msg.channel ?? new Uint8Array(0), this.channel) === 0;
    } catch {
      return false;
    }
  }

  private onReceived(m: ReceivedMessage): void {
    this.counters.received++;
    const digest = this.digestOf(m.signedMessage);
    if (digest === undefined || (this.options.validate && !this.options.validate(m))) {
      this.counters.invalid++;
      return;
    }
    if (!this.store.add(digest, m.signedMessage)) {
      this.counters.duplicates++;
      return;
    }
    this.delivered.next(toDelivery(digest, m.signedMessage, m.connectionInfo));
    this.outgoing.next({ message: m.signedMessage, from: m.connectionInfo.pkiId });
  }

  private sendBurst(batch: readonly Outgoing[]): void {
    for (const { message, from } of batch) {
      const targets = selectPeers(
        this.current,
        this.fanout,
        (p) => p.endpoint === this.comm.endpoint || samePkiId(p.pkiId, this.self) || samePkiId(p.pkiId, from),
        this.random,
      );
      if (targets.length === 0) continue;
      try {
        this.comm.send(message, ...targets);
        this.counters.sent += targets.length;
      } catch (err: unknown) {
        this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'push: send failed');
      }
    }
  }
}
