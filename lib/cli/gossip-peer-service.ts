import Long from 'long';
import { Subject, map, merge, type Observable } from 'rxjs';
import { createMembership, createPull, createPush, MessageStore, type Membership, type MembershipChange, type Pull, type Push } from '../gossip/index.js';
import { createPeerTopology, type PeerTopology } from '../ui/peer-topology.js';
import { dataEvent } from './comm-peer-service.js';
import type { PeerEvent, PeerService, PeerServiceContext } from './peer-service.js';

/**
 * `rxgossip peer --mode gossip`: the gossip pipelines of lib/gossip over comm. Membership (Fabric's
 * discovery: signed alive messages, bootstrap by MembershipRequest, identity pull) says who is
 * alive, with Fabric peers too; push spreads each published
 * line to random alive members, who forward it; pull fills in what push missed. Prints each
 * membership change and each data message the first time it arrives.
 */
export function createGossipPeerService(ctx: PeerServiceContext): PeerService {
  return new GossipPeerService(ctx);
}

class GossipPeerService implements PeerService {
  private readonly membership: Membership;
  private readonly push: Push;
  private readonly pull: Pull;
  private readonly local = new Subject<PeerEvent>();
  /** Digests of what we publish, for the live page. */
  private readonly published = new Subject<string>();
  private readonly comm: PeerServiceContext['comm'];
  private readonly aliveExpirationMs: number | undefined;
  private seqNum = Long.UZERO;
  private stopped = false;
  readonly events$: Observable<PeerEvent>;

  constructor(ctx: PeerServiceContext) {
    const { comm, logger } = ctx;
    this.comm = comm;
    this.aliveExpirationMs = ctx.aliveExpirationMs;
    this.membership = createMembership(comm, {
      self: ctx.self,
      bootstrap: ctx.bootstrap,
      logger,
      ...(ctx.aliveIntervalMs !== undefined ? { aliveIntervalMs: ctx.aliveIntervalMs } : {}),
      ...(ctx.aliveExpirationMs !== undefined ? { aliveExpirationMs: ctx.aliveExpirationMs } : {}),
      ...(ctx.reconnectIntervalMs !== undefined ? { reconnectIntervalMs: ctx.reconnectIntervalMs } : {}),
      ...(ctx.publishCertPeriodMs !== undefined ? { publishCertPeriodMs: ctx.publishCertPeriodMs } : {}),
    });
    const store = new MessageStore();
    this.push = createPush(comm, this.membership, { store, logger });
    this.pull = createPull(comm, this.membership, { store, logger });
    this.events$ = merge(
      this.membership.changes$.pipe(map(membershipEvent)),
      this.push.delivered$.pipe(map((d) => dataEvent(d.from, d.seqNum, d.data, 'push'))),
      this.pull.delivered$.pipe(map((d) => dataEvent(d.from, d.seqNum, d.data, 'pull'))),
      this.local,
    );
  }

  /** Membership contacts the bootstrap peers by itself, at once and then periodically. */
  async start(): Promise<void> {}

  async publish(data: Uint8Array): Promise<string> {
    this.seqNum = this.seqNum.add(1);
    const digest = this.push.publish(data, this.seqNum);
    this.published.next(digest);
    const seqNum = this.seqNum.toString();
    if (!this.stopped) this.local.next({ event: 'published', seqNum, alive: this.membership.view().alive.length });
    return seqNum;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.pull.stop();
    this.push.stop();
    this.membership.stop();
    this.local.complete();
    this.published.complete();
  }

  topology(): PeerTopology {
    return createPeerTopology(this.comm, {
      membership: this.membership,
      push: this.push,
      pull: this.pull,
      published$: this.published,
      // Fabric's aliveExpirationTimeout, membership's default.
      aliveExpirationMs: this.aliveExpirationMs ?? 25_000,
    });
  }
}

function membershipEvent(change: MembershipChange): PeerEvent {
  return {
    event: 'membership',
    change: change.type,
    pkiId: change.member.pkiId.toString('hex'),
    endpoint: change.member.endpoint,
    ...(change.type === 'dead' ? { reason: change.reason } : {}),
  };
}
