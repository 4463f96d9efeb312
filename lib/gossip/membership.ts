import { randomBytes } from 'node:crypto';
import Long from 'long';
import {
  BehaviorSubject,
  EMPTY,
  Subject,
  Subscription,
  asyncScheduler,
  distinctUntilChanged,
  from,
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
import { UnknownIdentityError } from '../errors.js';
import { mspIdOf } from '../identity/serialized-identity.js';
import { gossip } from '../proto/messages.js';
import { SignedMessage, type GossipMessageInit, type MessageSigner } from '../wire/signed-message.js';
import { createAliveMessage, knownSecretOf, verifyAliveMessage, type AliveVerifier } from './alive-message.js';
import { concealFor, mayDisclose } from './disclosure.js';
import { createIdentityPull, type IdentityPull, type IdentityPullOptions } from './identity-pull.js';
import { selectPeers } from './peer-selection.js';
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
   * The local peer's identity and signer. Default: the comm's (`comm.identity`, `comm.signer`);
   * kept for compatibility, its identity must be the comm's.
   */
  readonly self?: Pick<SelfIdentity, 'identity' | 'signer'> & Partial<Pick<SelfIdentity, 'msp'>>;
  /** Endpoints (host:port) to announce ourselves to and learn the membership from (bootstrap). */
  readonly bootstrap?: readonly string[];
  /** How often our alive message goes out (aliveTimeInterval). Default 5 s. */
  readonly aliveIntervalMs?: number;
  /** Silence after which an alive member is dead (aliveExpirationTimeout). Default 25 s. */
  readonly aliveExpirationMs?: number;
  /** How often expiry is checked. Default aliveExpirationMs / 10, as Fabric. */
  readonly expirationCheckMs?: number;
  /**
   * How often dead members and bootstrap peers that never answered get a MembershipRequest,
   * carrying our alive message (reconnectInterval). Default: aliveExpirationMs, as Fabric.
   */
  readonly reconnectIntervalMs?: number;
  /** Dead members are forgotten after this long (bootstrap peers never). Default 20 × aliveExpirationMs. */
  readonly purgeAfterMs?: number;
  /**
   * How long after start our alive messages embed our identity (publishCertPeriod); afterwards
   * receivers verify them with the identity they hold for our PKI-ID. Default 10 s.
   */
  readonly publishCertPeriodMs?: number;
  /**
   * How many alive members get each of our alive messages, and each alive message relayed
   * (propagatePeerNum). Default 3. Relays make up for the rest, as in Fabric.
   */
  readonly propagatePeers?: number;
  /**
   * The endpoint peers of our organization reach us at, sent in the signed secret envelope of our
   * alive messages. Default: the comm's bound address (`comm.internalEndpoint`), else comm.endpoint.
   * Our external endpoint is `comm.endpoint`: '' announces none, as Fabric's default.
   */
  readonly internalEndpoint?: string;
  /**
   * The identity pull (Fabric's cert store), which learns identities of members that no longer
   * embed them: on by default with Fabric's timings; false turns it off.
   */
  readonly identityPull?: boolean | Omit<IdentityPullOptions, 'scheduler' | 'logger' | 'mapper' | 'identity' | 'signer'>;
  /** Checks others' alive messages and stores their identities. Default: comm.identityMapper. */
  readonly verifier?: AliveVerifier;
  /** Our inc_num. Default: the current time in nanoseconds (higher after every restart). */
  readonly incNum?: number | Long;
  /** Timers run on it (tests pass a TestScheduler). Default: asyncScheduler. */
  readonly scheduler?: SchedulerLike;
  /** Random numbers in [0, 1) for choosing peers. Default: Math.random. */
  readonly random?: () => number;
  readonly logger?: Logger;
}

/** Counters of a Membership since it started. */
export interface MembershipStats {
  /** Messages sent (alive messages, relays, MembershipRequests/Responses), counted per target. */
  readonly sent: number;
  /** Alive messages received (directly or inside MembershipRequest/Response) and checked. */
  readonly received: number;
  /** Alive messages refused (bad signature, untrusted identity, malformed). */
  readonly invalid: number;
  /** Alive messages put aside because their sender's identity is not known yet (then pulled). */
  readonly unknownIdentity: number;
  /** Alive messages of others relayed on. */
  readonly relayed: number;
}

/**
 * Membership (Fabric's discovery): who is alive, who is dead, and the identities behind them.
 *
 * Every aliveInterval a signed AliveMessage of ours goes to `propagatePeers` random alive members;
 * each peer relays every new alive message it receives directly to as many others, so members
 * learn of each other through a third peer. Our alive messages embed our identity during
 * publishCertPeriod only, carry our internal endpoint in a secret envelope for our organization,
 * and announce `comm.endpoint` ('' for none) to all. Received alive messages are verified against
 * the embedded identity (then stored in the identity mapper) or the stored one; an unknown PKI-ID
 * starts an identity pull from the peer that sent it. Bootstrap peers get a MembershipRequest
 * (random nonce) until one answers; dead members get one (nonce 0) every reconnectInterval.
 * A member silent for aliveExpiration, or reported by `comm.presumedDead$`, is dead; a newer alive
 * message (e.g. after a restart with a higher inc_num) revives it. MembershipRequests are answered
 * with the requester's alive message first, the other members', then ours.
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
  /** The identity pull this membership runs, unless turned off. */
  readonly identityPull: IdentityPull | undefined;
  /** The current view. */
  view(): MembershipView;
  stats(): MembershipStats;
  /** Stops sending and listening, releases timers, completes the Observables. Idempotent. */
  stop(): void;
}

/** Starts membership over `comm`. Throws TypeError when self's identity is not comm's own. */
export function createMembership(comm: Comm, options: MembershipOptions = {}): Membership {
  return new MembershipPipeline(comm, options);
}

class MembershipPipeline implements Membership {
  readonly incNum: Long;
  readonly identityPull: IdentityPull | undefined;
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
  private readonly identity: Uint8Array;
  private readonly signer: MessageSigner;
  private readonly selfOrg: string;
  private readonly internalEndpoint: string;
  /** Bootstrap endpoints that have not answered a MembershipRequest yet, with the nonce last sent. */
  private readonly unanswered = new Map<string, string>();
  private readonly certUntil: number;
  private readonly propagatePeers: number;
  private readonly random: () => number;
  private lastAlive: SignedMessage | undefined;
  private seqNum = Long.UZERO;
  private stopped = false;
  private counters = { sent: 0, received: 0, invalid: 0, unknownIdentity: 0, relayed: 0 };

  constructor(
    private readonly comm: Comm,
    options: MembershipOptions,
  ) {
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.logger = options.logger ?? silentLogger;
    this.random = options.random ?? Math.random;
    this.verifier = options.verifier ?? comm.identityMapper;
    this.selfPkiId = comm.getPKIid();
    this.identity = options.self?.identity ?? comm.identity;
    this.signer = options.self?.signer ?? comm.signer;
    if (!this.verifier.pkiIdOf(this.identity).equals(this.selfPkiId)) {
      throw new TypeError("membership: self.identity is not the comm's identity (PKI-IDs differ)");
    }
    this.selfOrg = mspIdOf(this.identity) ?? '';
    this.internalEndpoint = options.internalEndpoint ?? (comm.internalEndpoint || comm.endpoint);
    const bootstrap = [...new Set(options.bootstrap ?? [])].filter((e) => e !== comm.endpoint && e !== this.internalEndpoint);
    for (const endpoint of bootstrap) this.unanswered.set(endpoint, '');
    this.propagatePeers = options.propagatePeers ?? 3;
    this.certUntil = this.scheduler.now() + (options.publishCertPeriodMs ?? 10_000);
    this.incNum = options.incNum === undefined ? nanoTime() : Long.fromValue(options.incNum).toUnsigned();
    const expirationMs = options.aliveExpirationMs ?? 25_000;
    const bootstrapEndpoints = new Set(bootstrap);
    this.table = new MembershipTable(this.selfPkiId, {
      expirationMs,
      ...(options.purgeAfterMs !== undefined ? { purgeAfterMs: options.purgeAfterMs } : {}),
      keep: (m) => bootstrapEndpoints.has(m.endpoint) || bootstrapEndpoints.has(m.externalEndpoint ?? ''),
    });
    this.view$ = new BehaviorSubject<MembershipView>(this.table.view());
    this.members$ = this.view$.asObservable();
    this.alive$ = this.members$.pipe(
      map((v) => v.alive),
      distinctUntilChanged(),
    );
    if (options.identityPull !== false) {
      this.identityPull = createIdentityPull(comm, this.alive$, {
        ...(typeof options.identityPull === 'object' ? options.identityPull : {}),
        mapper: this.verifier,
        identity: this.identity,
        signer: this.signer,
        scheduler: this.scheduler,
        logger: this.logger,
        random: this.random,
      });
      this.subscription.add(() => this.identityPull?.stop());
    }

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
    const aliveMs = options.aliveIntervalMs ?? 5_000;
    this.subscription.add(timer(aliveMs, aliveMs, this.scheduler).subscribe(() => this.sendAlive()));
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

  /**
   * A fresh alive message of ours (seq_num + 1): our identity embedded during publishCertPeriod,
   * our internal endpoint in the secret envelope.
   */
  private ownAlive(): SignedMessage {
    this.seqNum = this.seqNum.add(1);
    const withIdentity = this.scheduler.now() < this.certUntil;
    return createAliveMessage(
      {
        pkiId: this.selfPkiId,
        endpoint: this.comm.endpoint,
        ...(withIdentity ? { identity: this.identity } : {}),
        ...(this.internalEndpoint ? { internalEndpoint: this.internalEndpoint } : {}),
        incNum: this.incNum,
        seqNum: this.seqNum,
      },
      this.signer,
    );
  }

  /** Our alive message to `propagatePeers` random alive members (Fabric gossips it, never to the dead). */
  private sendAlive(): void {
    const alive = this.view$.value.alive;
    if (alive.length === 0) return;
    const message = this.ownAlive();
    this.lastAlive = message;
    const self: Member = this.selfMember();
    for (const target of selectPeers(alive, this.propagatePeers, (m) => !this.disclosable(self, m), this.random)) {
      this.send(this.conceal(message, target), [toPeer(target)]);
    }
  }

  /** Relays an alive message received directly, new to us, to others (not its sender, not its subject). */
  private relay(m: ReceivedMessage, member: Member): void {
    // The view as last emitted: it changes with joins and deaths, not with every alive message.
    const targets = selectPeers(
      this.view$.value.alive,
      this.propagatePeers,
      (t) => t.pkiId.equals(member.pkiId) || t.pkiId.equals(m.connectionInfo.pkiId) || !this.disclosable(member, t),
      this.random,
    );
    for (const target of targets) {
      this.send(this.conceal(m.signedMessage, target), [toPeer(target)]);
      this.counters.relayed++;
    }
  }

  /**
   * MembershipRequests: to bootstrap peers that never answered (random nonce, until one answers,
   * as Fabric's Connect) and to dead members (nonce 0, Fabric's reconnect to the dead).
   */
  private sendRequests(): void {
    const view = this.table.view();
    const targets: Array<{ peer: RemotePeer; nonce: Long }> = [];
    for (const endpoint of this.unanswered.keys()) {
      const nonce = randomNonce();
      this.unanswered.set(endpoint, nonce.toString());
      targets.push({ peer: { endpoint }, nonce });
    }
    for (const member of view.dead) {
      if (!this.unanswered.has(member.endpoint)) targets.push({ peer: toPeer(member), nonce: Long.UZERO });
    }
    if (targets.length === 0) return;
    const alive = this.ownAlive();
    for (const { peer, nonce } of targets) {
      // Bootstrap peers are of our organization by Fabric's rules: they get the secret envelope.
      const selfInformation = peer.pkiId ? this.conceal(alive, this.memberAt(peer.pkiId)).envelope : alive.envelope;
      const request: GossipMessageInit = { nonce, tag: gossip.GossipMessage.Tag.EMPTY, memReq: { selfInformation, known: [] } };
      this.send(SignedMessage.create(request), [peer]);
    }
  }

  private send(message: SignedMessage, peers: RemotePeer[]): void {
    try {
      this.comm.send(message, ...peers);
      this.counters.sent += peers.length;
    } catch (err: unknown) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'membership: send failed');
    }
  }

  /** The events a received membership message carries; answers MembershipRequests, relays alive messages. */
  private onReceived(m: ReceivedMessage): Observable<MembershipEvent> {
    const msg = m.message;
    switch (msg.content) {
      case 'aliveMsg': {
        const event = this.check(m.signedMessage, m);
        if (event) this.relay(m, event.member);
        return event ? of(event) : EMPTY;
      }
      case 'memReq': {
        const self = msg.memReq?.selfInformation;
        if (!self) return EMPTY;
        const selfMessage = SignedMessage.fromEnvelope(self);
        // Fabric: the self information must be the alive message of the peer that sent the request.
        if (!sameSender(selfMessage, m)) {
          this.counters.invalid++;
          this.logger.debug({}, "membership: MembershipRequest whose self information is not its sender's");
          return EMPTY;
        }
        const event = this.check(selfMessage, m);
        const requester = event?.member ?? this.table.get(m.connectionInfo.pkiId)?.member;
        if (requester) this.respond(m, requester, event);
        return event ? of(event) : EMPTY;
      }
      case 'memRes': {
        const nonce = Long.fromValue(msg.nonce ?? 0).toUnsigned().toString();
        for (const [endpoint, sent] of this.unanswered) if (sent === nonce) this.unanswered.delete(endpoint);
        const events: MembershipEvent[] = [];
        for (const envelope of msg.memRes?.alive ?? []) {
          const event = this.check(SignedMessage.fromEnvelope(envelope), m);
          if (event) events.push(event);
        }
        // Dead members we never heard of are learned as dead, so that we reconnect to them.
        for (const envelope of msg.memRes?.dead ?? []) {
          const event = this.check(SignedMessage.fromEnvelope(envelope), m);
          if (event && !this.table.get(event.member.pkiId)) events.push({ ...event, type: 'listed-dead' });
        }
        return events.length > 0 ? from(events) : EMPTY;
      }
      default:
        return EMPTY;
    }
  }

  /** An alive event for a valid alive message that is not stale; undefined otherwise. */
  private check(message: SignedMessage, via: ReceivedMessage): Extract<MembershipEvent, { type: 'alive' }> | undefined {
    let pkiId: Uint8Array | null | undefined;
    try {
      const alive = message.message.aliveMsg;
      pkiId = alive?.membership?.pkiId;
      const ts = alive?.timestamp;
      // Cheap test first: a stale or replayed message (or our own) is not worth a signature check.
      if (pkiId && ts && this.table.isStale(pkiId, { incNum: Long.fromValue(ts.incNum ?? 0), seqNum: Long.fromValue(ts.seqNum ?? 0) })) {
        return undefined;
      }
      this.counters.received++;
      const known = pkiId ? this.table.get(pkiId) : undefined;
      const member = verifyAliveMessage(message, this.verifier, known && knownSecretOf(known.message, known.member));
      return { type: 'alive', member, message };
    } catch (err: unknown) {
      if (err instanceof UnknownIdentityError) {
        // Not a forgery: we do not know this identity yet. The peer that sent it must know it.
        this.counters.unknownIdentity++;
        this.identityPull?.pullNow([{ endpoint: via.connectionInfo.endpoint, pkiId: via.connectionInfo.pkiId }]);
        return undefined;
      }
      this.counters.invalid++;
      this.logger.debug({ err: err instanceof Error ? err.message : String(err) }, 'membership: alive message refused');
      return undefined;
    }
  }

  /**
   * Answers a MembershipRequest as Fabric does: outer nonce = the request's, tag EMPTY, unsigned;
   * alive = the requester's alive message as it signed it, the other alive members', ours last;
   * dead = the dead members'. What the requester may see follows Fabric's disclosure rules.
   */
  private respond(m: ReceivedMessage, requester: Member, event: MembershipEvent | undefined): void {
    const requesterEntry = event?.type === 'alive' ? event.message : this.table.get(requester.pkiId)?.message;
    const alive: gossip.IEnvelope[] = [];
    const dead: gossip.IEnvelope[] = [];
    if (requesterEntry) alive.push(this.conceal(requesterEntry, requester).envelope);
    for (const entry of this.table.list()) {
      if (entry.member.pkiId.equals(requester.pkiId) || !this.disclosable(entry.member, requester)) continue;
      (entry.status === 'alive' ? alive : dead).push(this.conceal(entry.message, requester).envelope);
    }
    this.lastAlive ??= this.ownAlive();
    alive.push(this.conceal(this.lastAlive, requester).envelope);
    const response: GossipMessageInit = { nonce: m.message.nonce, tag: gossip.GossipMessage.Tag.EMPTY, memRes: { alive, dead } };
    this.counters.sent++;
    void m.respond(response).catch(() => undefined);
  }

  private selfMember(): Member {
    return {
      pkiId: this.selfPkiId,
      endpoint: this.internalEndpoint || this.comm.endpoint,
      externalEndpoint: this.comm.endpoint,
      internalEndpoint: this.internalEndpoint,
      identity: this.identity,
      time: { incNum: this.incNum, seqNum: this.seqNum },
    };
  }

  /** The member of a PKI-ID, if known. */
  private memberAt(pkiId: Uint8Array): Member | undefined {
    return this.table.get(pkiId)?.member;
  }

  /** Whether an alive message about `subject` may go to `target` (Fabric's disclosure rules). */
  private disclosable(subject: Member, target: Member): boolean {
    return mayDisclose({
      selfOrg: this.selfOrg,
      memberOrg: mspIdOf(subject.identity),
      memberHasExternalEndpoint: (subject.externalEndpoint ?? subject.endpoint) !== '',
      targetOrg: mspIdOf(target.identity),
    });
  }

  /** The message as `target` may get it: no secret envelope outside our organization. */
  private conceal(message: SignedMessage, target: Member | undefined): SignedMessage {
    return concealFor(message, this.selfOrg, target ? mspIdOf(target.identity) : undefined);
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

/** Whether an alive message is about the peer at the other end of the connection. */
function sameSender(message: SignedMessage, m: ReceivedMessage): boolean {
  try {
    const pkiId = message.message.aliveMsg?.membership?.pkiId;
    return pkiId !== undefined && pkiId !== null && Buffer.from(pkiId).equals(m.connectionInfo.pkiId);
  } catch {
    return false;
  }
}

function toPeer(member: Member): RemotePeer {
  return { endpoint: member.endpoint, pkiId: member.pkiId };
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
