import type Long from 'long';
import {
  Subject,
  Subscription,
  asyncScheduler,
  concat,
  defer,
  exhaustMap,
  ignoreElements,
  map,
  merge,
  of,
  tap,
  timer,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import type { Comm } from '../comm/comm.js';
import type { ConnectionInfo, RemotePeer } from '../comm/connection-info.js';
import { silentLogger, type Logger } from '../comm/logger.js';
import type { ReceivedMessage } from '../comm/received-message.js';
import { gossip } from '../proto/messages.js';
import { SignedMessage, type GossipMessageInit } from '../wire/signed-message.js';
import { toDelivery, type DataDelivery } from './data-delivery.js';
import { payloadDigest, type DigestFn } from './data-digest.js';
import type { MessageStore } from './message-store.js';
import { peersOf, samePkiId, selectPeers, type PeerSource } from './peer-selection.js';
import { nonceKey, pullRound, type PulledItem, type PullReply } from './pull-round.js';

/** Options of createPull. Defaults are Fabric's (core.yaml peer.gossip.* and its pull mediator). */
export interface PullOptions {
  /** What this peer holds: advertised in digests, served in updates, filled by pulls. Share it with Push. */
  readonly store: MessageStore;
  /** Time between rounds (pullInterval). Default 4 s. */
  readonly pullIntervalMs?: number;
  /** Peers asked per round (pullPeerNum). Default 3. */
  readonly pullPeers?: number;
  /** How long digests are awaited after the hellos (digestWaitTime). Default 1 s. */
  readonly digestWaitMs?: number;
  /** How long updates are awaited after the requests (requestWaitTime). Default 1.5 s. */
  readonly requestWaitMs?: number;
  /** How messages are keyed; must match the Push sharing the store. Default: payloadDigest. */
  readonly digestOf?: DigestFn;
  /**
   * The channel pull messages carry; others' are ignored. Block pull messages are tagged
   * CHAN_AND_ORG as Fabric requires; a Fabric peer only answers those of a channel it joined.
   * Default: none (rxgossip peers only).
   */
  readonly channel?: Uint8Array;
  /** The msg_type of pull messages: only pull messages of this type are answered. Default BLOCK_MSG. */
  readonly msgType?: gossip.PullMsgType;
  /** Checks a pulled message before it is stored and delivered; false drops it. Must not throw. */
  readonly validate?: (message: SignedMessage, from: ConnectionInfo) => boolean;
  /** Timers run on it (tests pass a TestScheduler). Default: asyncScheduler. */
  readonly scheduler?: SchedulerLike;
  /** Random numbers in [0, 1) for choosing peers. Default: Math.random. */
  readonly random?: () => number;
  /** Nonce generator (a random uint64 per peer per round). Default: 8 random bytes. */
  readonly nonce?: () => Long;
  readonly logger?: Logger;
}

/** What one initiator round did. */
export interface PullRoundResult {
  /** The peers sent a Hello. */
  readonly peers: readonly RemotePeer[];
  /** Messages obtained that were new to this peer. */
  readonly pulled: number;
}

/** Counters of a Pull since it started. */
export interface PullStats {
  readonly rounds: number;
  readonly pulled: number;
  /** Hellos answered with a digest. */
  readonly hellos: number;
  /** Requests answered with an update. */
  readonly requests: number;
  /** Items received that were refused by `validate`. */
  readonly invalid: number;
}

/**
 * Pull, or anti-entropy (Fabric's pull mediator): a peer that missed pushes catches up.
 *
 * Every pullInterval, a round (see `pullRound`) asks `pullPeers` random peers of the PeerSource
 * for the digests they hold (Hello → DataDigest), requests the missing ones (DataRequest) and
 * stores what comes back (DataUpdate); rounds never overlap. At the same time, this peer answers
 * others' Hellos with the digests of its store, and their DataRequests (with the nonce of a Hello
 * it answered within digestWait + requestWait, from the same peer) with the envelopes it holds,
 * unchanged. Only pull messages of its msg_type and channel are answered (the identity pull's
 * Hellos are not block pulls), and its own are tagged as Fabric requires (CHAN_AND_ORG for
 * blocks). Pulled messages are delivered, not pushed on.
 */
export interface Pull {
  /**
   * Each data message obtained by pull that was new to this peer, once. Hot. Completes on
   * `stop()` or when the comm stops; never errors.
   */
  readonly delivered$: Observable<DataDelivery>;
  /** The outcome of each round, when it ends. Hot; completes like delivered$. */
  readonly rounds$: Observable<PullRoundResult>;
  /** Starts a round now, unless one is running. */
  pullNow(): void;
  stats(): PullStats;
  /** Abandons the running round, cancels timers, unsubscribes. Idempotent; safe after comm.stop(). */
  stop(): void;
}

/** Starts pull over `comm`, pulling from the peers of `peers` (e.g. a Membership). */
export function createPull(comm: Comm, peers: PeerSource, options: PullOptions): Pull {
  return new PullPipeline(comm, peers, options);
}

class PullPipeline implements Pull {
  private readonly delivered = new Subject<DataDelivery>();
  readonly delivered$: Observable<DataDelivery> = this.delivered.asObservable();
  private readonly rounds = new Subject<PullRoundResult>();
  readonly rounds$: Observable<PullRoundResult> = this.rounds.asObservable();
  private readonly trigger = new Subject<void>();
  private readonly subscription = new Subscription();
  private readonly store: MessageStore;
  private readonly scheduler: SchedulerLike;
  private readonly digestOf: DigestFn;
  private readonly channel: Uint8Array;
  private readonly msgType: gossip.PullMsgType;
  private readonly logger: Logger;
  private readonly self: Buffer;
  /** Nonces of Hellos answered: who sent them and until when their DataRequest is served. */
  private readonly incoming = new Map<string, { from: Buffer; until: number }>();
  private current: readonly RemotePeer[] = [];
  private stopped = false;
  private counters = { rounds: 0, pulled: 0, hellos: 0, requests: 0, invalid: 0 };

  constructor(
    private readonly comm: Comm,
    peers: PeerSource,
    private readonly options: PullOptions,
  ) {
    this.store = options.store;
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.digestOf = options.digestOf ?? payloadDigest;
    this.channel = options.channel ?? new Uint8Array(0);
    this.msgType = options.msgType ?? gossip.PullMsgType.BLOCK_MSG;
    this.logger = options.logger ?? silentLogger;
    this.self = comm.getPKIid();
    const interval = options.pullIntervalMs ?? 4_000;

    this.subscription.add(peersOf(peers).subscribe((list) => (this.current = list)));
    this.subscription.add(
      comm.accept((m) => this.isOurs(m, 'hello', 'dataReq')).subscribe({
        next: (m) => this.answer(m),
        complete: () => this.stop(),
      }),
    );
    this.subscription.add(
      merge(timer(interval, interval, this.scheduler), this.trigger)
        .pipe(exhaustMap(() => this.round()))
        .subscribe((result) => this.rounds.next(result)),
    );
  }

  pullNow(): void {
    if (!this.stopped) this.trigger.next();
  }

  stats(): PullStats {
    return { ...this.counters };
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.subscription.unsubscribe();
    this.trigger.complete();
    this.incoming.clear();
    this.delivered.complete();
    this.rounds.complete();
  }

  private round(): Observable<PullRoundResult> {
    return defer(() => {
      const peers = selectPeers(
        this.current,
        this.options.pullPeers ?? 3,
        (p) => p.endpoint === this.comm.endpoint || samePkiId(p.pkiId, this.self),
        this.options.random,
      );
      let pulled = 0;
      const replies$: Observable<PullReply> = this.comm
        .accept((m) => this.isOurs(m, 'dataDig', 'dataUpdate'))
        .pipe(map((m) => ({ from: m.connectionInfo, message: m.message })));
      const items$ = pullRound({
        peers,
        replies$,
        send: (peer, message) => this.send(peer, message),
        lacks: (digest) => !this.store.has(digest),
        digestOf: this.digestOf,
        digestWaitMs: this.options.digestWaitMs ?? 1_000,
        requestWaitMs: this.options.requestWaitMs ?? 1_500,
        msgType: this.msgType,
        scheduler: this.scheduler,
        ...(this.options.random ? { random: this.options.random } : {}),
        ...(this.options.nonce ? { nonce: this.options.nonce } : {}),
      });
      const result$ = defer(() => {
        this.counters.rounds++;
        return of<PullRoundResult>({ peers, pulled });
      });
      return concat(items$.pipe(tap((item) => (pulled += this.onPulled(item) ? 1 : 0)), ignoreElements()), result$);
    });
  }

  /** Stores and delivers a pulled message; true when it was new. */
  private onPulled(item: PulledItem): boolean {
    if (this.options.validate && !this.options.validate(item.message, item.from)) {
      this.counters.invalid++;
      return false;
    }
    if (!this.store.add(item.digest, item.message)) return false;
    this.counters.pulled++;
    this.delivered.next(toDelivery(item.digest, item.message, item.from));
    return true;
  }

  /** Responder side: a Hello gets our digests, a DataRequest of a Hello we answered gets the items. */
  private answer(m: ReceivedMessage): void {
    const msg = m.message;
    const now = this.scheduler.now();
    // Insertion order is expiry order (every nonce lives equally long): stop at the first live one.
    for (const [key, entry] of this.incoming) {
      if (entry.until > now) break;
      this.incoming.delete(key);
    }
    if (msg.content === 'hello') {
      const key = nonceKey(msg.hello?.nonce);
      if (this.incoming.size >= MAX_INCOMING) this.incoming.delete(this.incoming.keys().next().value!);
      this.incoming.set(key, {
        from: m.connectionInfo.pkiId,
        until: now + (this.options.digestWaitMs ?? 1_000) + (this.options.requestWaitMs ?? 1_500),
      });
      this.counters.hellos++;
      const digests = this.store.digests().map((d) => Buffer.from(d, 'utf8'));
      this.reply(m, { dataDig: { nonce: msg.hello?.nonce ?? 0, digests, msgType: this.msgType } });
      return;
    }
    const request = msg.dataReq;
    const hello = this.incoming.get(nonceKey(request?.nonce));
    if (!request || !hello || !hello.from.equals(m.connectionInfo.pkiId)) return;
    const data: gossip.IEnvelope[] = [];
    for (const raw of request.digests ?? []) {
      const held = this.store.get(Buffer.from(raw).toString('utf8'));
      if (held) data.push(held.envelope);
    }
    this.counters.requests++;
    this.reply(m, { dataUpdate: { nonce: request.nonce ?? 0, data, msgType: this.msgType } });
  }

  private reply(m: ReceivedMessage, content: GossipMessageInit): void {
    void m.respond(this.wrap(content)).catch(() => undefined);
  }

  private send(peer: RemotePeer, content: GossipMessageInit): void {
    try {
      this.comm.send(this.wrap(content), peer);
    } catch (err: unknown) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'pull: send failed');
    }
  }

  /**
   * Puts a pull message in a GossipMessage with our channel and the tag Fabric requires of its
   * msg_type (IsTagLegal): CHAN_AND_ORG for block pull, EMPTY for identity pull. Fabric drops a
   * block-pull message with any other tag as illegal.
   */
  private wrap(content: GossipMessageInit): SignedMessage {
    return SignedMessage.create({ ...content, nonce: 0, channel: this.channel, tag: pullTag(this.msgType) });
  }

  /** A pull message of our msg_type and channel: Hellos of another kind (identity pull) are not ours. */
  private isOurs(m: ReceivedMessage, ...contents: string[]): boolean {
    try {
      const msg = m.message;
      if (msg.content === undefined || !contents.includes(msg.content)) return false;
      const pull = msg.hello ?? msg.dataDig ?? msg.dataReq ?? msg.dataUpdate;
      return (
        (pull?.msgType ?? gossip.PullMsgType.UNDEFINED) === this.msgType &&
        Buffer.compare(msg.channel ?? new Uint8Array(0), this.channel) === 0
      );
    } catch {
      return false;
    }
  }
}

/** The tag Fabric requires of a pull message of `msgType`. */
export function pullTag(msgType: gossip.PullMsgType): gossip.GossipMessage.Tag {
  return msgType === gossip.PullMsgType.IDENTITY_MSG ? gossip.GossipMessage.Tag.EMPTY : gossip.GossipMessage.Tag.CHAN_AND_ORG;
}

/** Most Hello nonces remembered at once (the oldest is forgotten first). */
const MAX_INCOMING = 10_000;
