import Long from 'long';
import { Observable, asyncScheduler, interval, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { SignedMessage } from '../wire/signed-message.js';

/**
 * A peer's logical clock (Fabric's PeerTime): `incNum` is chosen at start (the start time in ns)
 * and grows across restarts; `seqNum` grows with each alive message in between. Unsigned.
 */
export interface PeerTime {
  readonly incNum: Long;
  readonly seqNum: Long;
}

/** Orders two PeerTimes: negative when `a` is older, 0 when equal, positive when newer. */
export function comparePeerTime(a: PeerTime, b: PeerTime): number {
  return a.incNum.toUnsigned().compare(b.incNum.toUnsigned()) || a.seqNum.toUnsigned().compare(b.seqNum.toUnsigned());
}

/** A peer in the membership view, as its latest verified alive message describes it. */
export interface Member {
  readonly pkiId: Buffer;
  /**
   * Where it is reached: its internal endpoint when its alive message carried one (in the secret
   * envelope, for peers of its organization), else the endpoint it advertises (Fabric's
   * PreferredEndpoint).
   */
  readonly endpoint: string;
  /** The endpoint it advertises to everyone ('' when it has none, Fabric's default). */
  readonly externalEndpoint?: string;
  /** The endpoint in its alive message's secret envelope ('' when none). */
  readonly internalEndpoint?: string;
  /** Its marshalled msp.SerializedIdentity. */
  readonly identity: Uint8Array;
  /** Its PeerTime when this snapshot was taken. */
  readonly time: PeerTime;
}

/** A snapshot of the membership: who is alive, who is presumed dead. Immutable. */
export interface MembershipView {
  readonly alive: readonly Member[];
  readonly dead: readonly Member[];
}

/**
 * A change of the view. `join`: first heard of, alive. `dead`: alive no more (`reason` says
 * whether its alive messages stopped for the expiration timeout or comm found it unreachable), or
 * first heard of as dead in a MembershipResponse (`listed`).
 * `revive`: a dead member sent a newer alive message (e.g. it restarted with a higher inc_num).
 * `update`: an alive member restarted (new inc_num) or moved (new endpoint) before it was found dead.
 */
export type MembershipChange =
  | { readonly type: 'join' | 'revive' | 'update'; readonly member: Member }
  | { readonly type: 'dead'; readonly member: Member; readonly reason: 'expired' | 'presumed-dead' | 'listed' };

/** What the membership table is fed with. */
export type MembershipEvent =
  /** A verified alive message (the caller verified its signature and identity). */
  | { readonly type: 'alive'; readonly member: Member; readonly message: SignedMessage }
  /** comm found the peer unreachable (Comm.presumedDead$). */
  | { readonly type: 'presumed-dead'; readonly pkiId: Uint8Array }
  /** A verified alive message another peer listed as dead (Fabric learns such members, as dead, if unknown). */
  | { readonly type: 'listed-dead'; readonly member: Member; readonly message: SignedMessage };

/** One entry of the table. */
export interface MembershipEntry {
  readonly member: Member;
  readonly status: 'alive' | 'dead';
  /** The latest alive message, to hand on in MembershipResponses. */
  readonly message: SignedMessage;
  /** When its latest newer alive message arrived (scheduler time). */
  readonly lastSeen: number;
  /** When it took its current status. */
  readonly since: number;
}

/** Timing of a MembershipTable. */
export interface MembershipTableOptions {
  /** Alive members silent for longer than this are dead (Fabric's aliveExpirationTimeout). */
  readonly expirationMs: number;
  /** Dead members are forgotten this long after they died. Default 20 × expirationMs. */
  readonly purgeAfterMs?: number;
  /** Dead members never forgotten (Fabric keeps bootstrap and anchor peers). Default: none. */
  readonly keep?: (member: Member) => boolean;
}

/**
 * The membership state (Fabric's discovery: its alive and dead lists), with no timers of its own:
 * every method takes the current time, so it runs the same in real and virtual time.
 *
 * Rules: a member is only ever replaced by a strictly newer PeerTime (stale and replayed alive
 * messages change nothing); a newer alive message refreshes an alive member and revives a dead
 * one; the local peer (selfPkiId) is never a member.
 */
export class MembershipTable {
  private readonly entries = new Map<string, MembershipEntry>();
  private readonly selfKey: string;
  readonly expirationMs: number;
  readonly purgeAfterMs: number;
  private readonly keep: (member: Member) => boolean;

  constructor(selfPkiId: Uint8Array, options: MembershipTableOptions) {
    this.keep = options.keep ?? (() => false);
    this.selfKey = Buffer.from(selfPkiId).toString('hex');
    this.expirationMs = options.expirationMs;
    this.purgeAfterMs = options.purgeAfterMs ?? 20 * options.expirationMs;
    if (!(this.expirationMs > 0)) throw new RangeError('membership: expirationMs must be positive');
  }

  /** Applies one event at time `now`; returns the change it caused, if any. */
  apply(event: MembershipEvent, now: number): MembershipChange | undefined {
    switch (event.type) {
      case 'alive':
        return this.alive(event.member, event.message, now);
      case 'listed-dead':
        return this.listedDead(event.member, event.message, now);
      default:
        return this.presumedDead(event.pkiId, now);
    }
  }

  /** A member another peer lists as dead: learned as dead if unknown, ignored otherwise (as Fabric). */
  listedDead(member: Member, message: SignedMessage, now: number): MembershipChange | undefined {
    const key = member.pkiId.toString('hex');
    if (key === this.selfKey || this.entries.has(key)) return undefined;
    this.entries.set(key, { member, status: 'dead', message, lastSeen: now, since: now });
    return { type: 'dead', member, reason: 'listed' };
  }

  /** Whether an alive message with this PeerTime would change nothing (self, stale or replayed). */
  isStale(pkiId: Uint8Array, time: PeerTime): boolean {
    const key = Buffer.from(pkiId).toString('hex');
    if (key === this.selfKey) return true;
    const known = this.entries.get(key);
    return known !== undefined && comparePeerTime(time, known.member.time) <= 0;
  }

  /** A verified alive message from `member`. */
  alive(member: Member, message: SignedMessage, now: number): MembershipChange | undefined {
    if (this.isStale(member.pkiId, member.time)) return undefined;
    const key = member.pkiId.toString('hex');
    const known = this.entries.get(key);
    if (known === undefined) {
      this.entries.set(key, { member, status: 'alive', message, lastSeen: now, since: now });
      return { type: 'join', member };
    }
    if (known.status === 'dead') {
      this.entries.set(key, { member, status: 'alive', message, lastSeen: now, since: now });
      return { type: 'revive', member };
    }
    this.entries.set(key, { ...known, member, message, lastSeen: now });
    const moved = known.member.endpoint !== member.endpoint || !known.member.time.incNum.equals(member.time.incNum);
    return moved ? { type: 'update', member } : undefined;
  }

  /** comm found the peer unreachable: an alive member is dead at once. */
  presumedDead(pkiId: Uint8Array, now: number): MembershipChange | undefined {
    const key = Buffer.from(pkiId).toString('hex');
    const known = this.entries.get(key);
    if (known === undefined || known.status === 'dead') return undefined;
    this.entries.set(key, { ...known, status: 'dead', since: now });
    return { type: 'dead', member: known.member, reason: 'presumed-dead' };
  }

  /**
   * Moves alive members not heard from for longer than expirationMs to dead, and forgets those
   * dead for longer than purgeAfterMs. Returns the `dead` changes.
   */
  expire(now: number): MembershipChange[] {
    const changes: MembershipChange[] = [];
    for (const [key, entry] of this.entries) {
      if (entry.status === 'alive' && now - entry.lastSeen > this.expirationMs) {
        this.entries.set(key, { ...entry, status: 'dead', since: now });
        changes.push({ type: 'dead', member: entry.member, reason: 'expired' });
      } else if (entry.status === 'dead' && now - entry.since > this.purgeAfterMs && !this.keep(entry.member)) {
        this.entries.delete(key);
      }
    }
    return changes;
  }

  /** The entry of a PKI-ID, if known. */
  get(pkiId: Uint8Array): MembershipEntry | undefined {
    return this.entries.get(Buffer.from(pkiId).toString('hex'));
  }

  /** Every entry, in the order members were first heard of. */
  list(): MembershipEntry[] {
    return [...this.entries.values()];
  }

  /** The current view. */
  view(): MembershipView {
    const alive: Member[] = [];
    const dead: Member[] = [];
    for (const entry of this.entries.values()) (entry.status === 'alive' ? alive : dead).push(entry.member);
    return { alive, dead };
  }
}

/** One step of the membership: the changes an event or an expiry check caused, and the view after. */
export interface MembershipUpdate {
  readonly changes: readonly MembershipChange[];
  readonly view: MembershipView;
}

/**
 * Feeds `table` with the source's events and checks expiry every `checkIntervalMs` (Fabric's
 * aliveExpirationCheckInterval), on `scheduler`'s clock. Emits an update for every event or check
 * that changed something. Cold: the check timer runs while subscribed. Completes when the source
 * completes, errors when it errors.
 */
export function trackMembership(
  table: MembershipTable,
  checkIntervalMs: number,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<MembershipEvent, MembershipUpdate> {
  if (!(checkIntervalMs > 0)) throw new RangeError('membership: checkIntervalMs must be positive');
  return (events$) =>
    new Observable<MembershipUpdate>((subscriber) => {
      const emit = (changes: readonly MembershipChange[]): void => {
        if (changes.length > 0) subscriber.next({ changes, view: table.view() });
      };
      const ticks = interval(checkIntervalMs, scheduler).subscribe(() => emit(table.expire(scheduler.now())));
      const events = events$.subscribe({
        next: (event) => {
          const change = table.apply(event, scheduler.now());
          emit(change ? [change] : []);
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
      return () => {
        ticks.unsubscribe();
        events.unsubscribe();
      };
    });
}
