import { randomBytes } from 'node:crypto';
import Long from 'long';
import {
  BehaviorSubject,
  EMPTY,
  Subject,
  Subscription,
  asyncScheduler,
  distinctUntilChanged,
  map,
  merge,
  mergeMap,
  of,
  timer,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import type { Comm } from '../comm/comm.js';
import type { RemotePeer } from '../comm/connection-info.js';
import { silentLogger, type Logger } from '../comm/logger.js';
import type { SelfIdentity } from '../comm/options.js';
import type { ReceivedMessage } from '../comm/received-message.js';
import { MspIdentityMapper } from '../identity/identity-mapper.js';
import { MspManager } from '../identity/msp.js';
import { gossip } from '../proto/messages.js';
import { SignedMessage, type GossipMessageInit } from '../wire/signed-message.js';
import { createAliveMessage, verifyAliveMessage, type AliveVerifier } from './alive-message.js';
import {
  MembershipTable,
  trackMembership,
  type Member,
  type MembershipChange,
  type MembershipEvent,
  type MembershipView,
} from './membership-view.js';

/** Options of createMembership. Defaults are Fabric's (core.yaml peer.gossip.*). */
export interface MembershipOptions {
  /**
   * The local peer, as given to createComm (e.g. `loadPeerDir()`'s result): its identity goes
   * into alive messages, its signer signs them, its MSP checks others' when no verifier is given.
   */
  readonly self: Pick<SelfIdentity, 'identity' | 'signer' | 'msp'>;
  /** Endpoints (host:port) to announce ourselves to and learn the membership from (bootstrap). */
  readonly bootstrap?: readonly string[];
  /** How often an alive message goes to every alive member (aliveTimeInterval). Default 5 s. */
  readonly aliveIntervalMs?: number;
  /** Silence after which an alive member is dead (aliveExpirationTimeout). Default 25 s. */
  readonly aliveExpirationMs?: number;
  /** How often expiry is checked. Default aliveExpirationMs / 10, as Fabric. */
  readonly expirationCheckMs?: number;
  /**
   * How often dead members and bootstrap peers not yet alive get a MembershipRequest, carrying
   * our alive message (reconnectInterval). Default: aliveExpirationMs.
   */
  readonly reconnectIntervalMs?: number;
  /** Dead members are forgotten after this long. Default 20 × aliveExpirationMs. */
  readonly purgeAfterMs?: number;
  /** Checks others' alive messages. Default: an MSP identity mapper over `self.msp`. */
  readonly verifier?: AliveVerifier;
  /** Our inc_num. Default: the current time in nanoseconds (higher after every restart). */
  readonly incNum?: number | Long;
  /** Timers run on it (tests pass a TestScheduler). Default: asyncScheduler. */
  readonly scheduler?: SchedulerLike;
  readonly logger?: Logger;
}

/** Counters of a Membership since it started. */
export interface MembershipStats {
  /** Alive messages sent (each alive message or MembershipRequest, counted per target). */
  readonly sent: number;
  /** Alive messages received (directly or inside MembershipRequest/Response) and checked. */
  readonly received: number;
  /** Alive messages refused (bad signature, untrusted identity, malformed). */
  readonly invalid: number;
}

/**
 * Membership (Fabric's discovery, simplified): who is alive, who is dead.
 *
 * Each peer sends a signed AliveMessage to every alive member every aliveInterval, and a
 * MembershipRequest (carrying its alive message) to bootstrap peers and dead members every
 * reconnectInterval (and once at start). Alive messages are verified before they count. A member
 * silent for aliveExpiration, or reported by `comm.presumedDead$`, is dead; a newer alive message
 * (e.g. after a restart with a higher inc_num) revives it. MembershipRequests are answered with a
 * MembershipResponse listing the alive messages held, so a new peer learns the view from its
 * bootstrap peer. Alive messages are not forwarded further.
 */
export interface Membership {
  /**
   * The view, on every change (not on mere refreshes of alive members). Hot with replay: a new
   * subscriber gets the current view at once (like a BehaviorSubject). Completes on `stop()` or
   * when the comm stops; never errors.
   */
  readonly members$: Observable<MembershipView>;
  /** The alive members, from members$ (same temperature and completion). A PeerSource for Push and Pull. */
  readonly alive$: Observable<readonly Member[]>;
  /**
   * Each change of the view: join, dead, revive, update. Hot, no replay. Completes on `stop()` or
   * when the comm stops; never errors.
   */
  readonly changes$: Observable<MembershipChange>;
  /** Our inc_num (restart-dependent part of our PeerTime). */
  readonly incNum: Long;
  /** The current view. */
  view(): MembershipView;
  stats(): MembershipStats;
  /** Stops sending and listening, releases timers, completes the Observables. Idempotent. */
  stop(): void;
}

/** Starts membership over `comm`. Throws TypeError when self's identity is not comm's own. */
export function createMembership(comm: Comm, options: MembershipOptions): Membership {
  return new MembershipPipeline(comm, options);
}

class MembershipPipeline implements Membership {
  readonly incNum: Long;
  private readonly table: MembershipTable;
  private readonly view$: BehaviorSubject<MembershipView>;
  private readonly changes = new Subject<MembershipChange>();
  readonly members$: Observable<MembershipView>;
  readonly alive$: Observable<readonly Member[]>;
  readonly changes$: Observable<MembershipChange> = this.changes.asObservable();
  private readonly subscription = new Subscription();
  private readonly verifier: AliveVerifier;
  private readonly scheduler: SchedulerLike;
  private readonly logger: Logger;
  private readonly selfPkiId: Buffer;
  private seqNum = Long.UZERO;
  private stopped = false;
  private counters = { sent: 0, received: 0, invalid: 0 };

  constructor(
    private readonly comm: Comm,
    private readonly options: MembershipOptions,
  ) {
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.logger = options.logger ?? silentLogger;
    this.verifier = options.verifier ?? defaultVerifier(options.self);
    this.selfPkiId = comm.getPKIid();
    if (!this.verifier.pkiIdOf(options.self.identity).equals(this.selfPkiId)) {
      throw new TypeError("membership: self.identity is not the comm's identity (PKI-IDs differ)");
    }
    this.incNum = options.incNum === undefined ? nanoTime() : Long.fromValue(options.incNum).toUnsigned();
    const expirationMs = options.aliveExpirationMs ?? 25_000;
    this.table = new MembershipTable(this.selfPkiId, {
      expirationMs,
      ...(options.purgeAfterMs !== undefined ? { purgeAfterMs: options.purgeAfterMs } : {}),
    });
    this.view$ = new BehaviorSubject<MembershipView>(this.table.view());
    this.members$ = this.view$.asObservable();
    this.alive$ = this.members$.pipe(
      map((v) => v.alive),
      distinctUntilChanged(),
    );

    const received$ = comm.accept(isMembershipMessage).pipe(mergeMap((m) => this.onReceived(m)));
    const dead$ = comm.presumedDead$.pipe(map((pkiId): MembershipEvent => ({ type: 'presumed-dead', pkiId })));
    this.subscription.add(
      merge(received$, dead$)
        .pipe(trackMembership(this.table, options.expirationCheckMs ?? expirationMs / 10, this.scheduler))
        .subscribe({
          next: ({ changes, view }) => {
            this.view$.next(view);
            for (const change of changes) {
              if (change.type === 'dead' && change.reason === 'expired') {
                void comm.closeConn({ endpoint: change.member.endpoint, pkiId: change.member.pkiId }).catch(() => undefined);
              }
              this.changes.next(change);
            }
          },
          complete: () => this.stop(),
        }),
    );
    this.subscription.add(
      timer(options.aliveIntervalMs ?? 5_000, options.aliveIntervalMs ?? 5_000, this.scheduler).subscribe(() =>
        this.sendAlive(),
      ),
    );
    this.subscription.add(
      timer(0, options.reconnectIntervalMs ?? expirationMs, this.scheduler).subscribe(() => this.sendRequests()),
    );
  }

  view(): MembershipView {
    return this.table.view();
  }

  stats(): MembershipStats {
    return { ...this.counters };
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.subscription.unsubscribe();
    this.changes.complete();
    this.view$.complete();
  }

  /** A fresh alive message of ours (seq_num + 1). */
  private ownAlive(): SignedMessage {
    this.seqNum = this.seqNum.add(1);
    return createAliveMessage(
      {
        pkiId: this.selfPkiId,
        endpoint: this.comm.endpoint,
        identity: this.options.self.identity,
        incNum: this.incNum,
        seqNum: this.seqNum,
      },
      this.options.self.signer,
    );
  }

  private sendAlive(): void {
    const alive = this.table.view().alive;
    if (alive.length > 0) this.send(this.ownAlive(), alive.map(toPeer));
  }

  /** MembershipRequests to bootstrap peers not yet alive and to dead members. */
  private sendRequests(): void {
    const view = this.table.view();
    const aliveEndpoints = new Set(view.alive.map((m) => m.endpoint));
    const targets: RemotePeer[] = view.dead.map(toPeer);
    for (const endpoint of new Set(this.options.bootstrap ?? [])) {
      if (endpoint !== this.comm.endpoint && !aliveEndpoints.has(endpoint) && !view.dead.some((m) => m.endpoint === endpoint)) {
        targets.push({ endpoint });
      }
    }
    if (targets.length === 0) return;
    const request: GossipMessageInit = {
      nonce: randomNonce(),
      tag: gossip.GossipMessage.Tag.EMPTY,
      memReq: { selfInformation: this.ownAlive().envelope, known: this.table.list().map((e) => e.member.pkiId) },
    };
    this.send(SignedMessage.create(request), targets);
  }

  private send(message: SignedMessage, peers: RemotePeer[]): void {
    try {
      this.comm.send(message, ...peers);
      this.counters.sent += peers.length;
    } catch (err: unknown) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'membership: send failed');
    }
  }

  /** The events a received membership message carries; answers MembershipRequests. */
  private onReceived(m: ReceivedMessage): Observable<MembershipEvent> {
    const msg = m.message;
    switch (msg.content) {
      case 'aliveMsg':
        return this.check(m.signedMessage);
      case 'memReq': {
        this.respond(m);
        const self = msg.memReq?.selfInformation;
        return self ? this.check(SignedMessage.fromEnvelope(self)) : EMPTY;
      }
      case 'memRes':
        return merge(...(msg.memRes?.alive ?? []).map((e) => this.check(SignedMessage.fromEnvelope(e))));
      default:
        return EMPTY;
    }
  }

  /** An alive event for a valid alive message that is not stale; nothing otherwise. */
  private check(message: SignedMessage): Observable<MembershipEvent> {
    this.counters.received++;
    try {
      const alive = message.message.aliveMsg;
      const pkiId = alive?.membership?.pkiId;
      const ts = alive?.timestamp;
      // Cheap test first: a stale or replayed message is not worth a signature check.
      if (pkiId && ts && this.table.isStale(pkiId, { incNum: Long.fromValue(ts.incNum ?? 0), seqNum: Long.fromValue(ts.seqNum ?? 0) })) {
        return EMPTY;
      }
      const member = verifyAliveMessage(message, this.verifier);
      return of({ type: 'alive', member, message });
    } catch (err: unknown) {
      this.counters.invalid++;
      this.logger.debug({ err: err instanceof Error ? err.message : String(err) }, 'membership: alive message refused');
      return EMPTY;
    }
  }

  private respond(m: ReceivedMessage): void {
    const alive = [this.ownAlive().envelope];
    const dead: gossip.IEnvelope[] = [];
    for (const entry of this.table.list()) (entry.status === 'alive' ? alive : dead).push(entry.message.envelope);
    void m
      .respond({ nonce: m.message.nonce, tag: gossip.GossipMessage.Tag.EMPTY, memRes: { alive, dead } })
      .catch(() => undefined);
  }
}

function isMembershipMessage(m: ReceivedMessage): boolean {
  try {
    const content = m.message.content;
    return content === 'aliveMsg' || content === 'memReq' || content === 'memRes';
  } catch {
    return false;
  }
}

function toPeer(member: Member): RemotePeer {
  return { endpoint: member.endpoint, pkiId: member.pkiId };
}

function defaultVerifier(self: MembershipOptions['self']): AliveVerifier {
  if (!self.msp) throw new TypeError('membership: pass a verifier, or a self with its msp, to check alive messages');
  return new MspIdentityMapper(new MspManager([self.msp]));
}

/** Now in nanoseconds since the epoch, as Fabric's inc_num. */
function nanoTime(): Long {
  const ns = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  return Long.fromString(ns.toString(), true);
}

function randomNonce(): Long {
  const b = randomBytes(8);
  return new Long(b.readInt32LE(0), b.readInt32LE(4), true);
}
