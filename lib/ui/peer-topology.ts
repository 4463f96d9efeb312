import {
  EMPTY,
  ReplaySubject,
  Subject,
  Subscription,
  asyncScheduler,
  map,
  merge,
  shareReplay,
  takeUntil,
  timer,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import type { Comm } from '../comm/comm.js';
import type { DataDelivery } from '../gossip/data-delivery.js';
import type { Membership } from '../gossip/membership.js';
import type { Pull } from '../gossip/pull.js';
import type { Push } from '../gossip/push.js';
import { RateMeter } from './rate-meter.js';
import type { DeliveryEvent, TopologyEdge, TopologyNode, TopologySnapshot, TopologySource } from './topology.js';

/** What one peer shows of itself. Everything but the comm is optional. */
export interface PeerTopologyOptions {
  /** Its membership: who is alive or dead. Without it, the connected peers are the nodes. */
  readonly membership?: Membership;
  /** The alive expiration the membership runs with, shown on the page. */
  readonly aliveExpirationMs?: number;
  /** Push and pull, whose deliveries feed the dissemination view. */
  readonly push?: Pick<Push, 'delivered$'>;
  readonly pull?: Pick<Pull, 'delivered$'>;
  /** Digests of the messages this peer publishes (push.publish's return values). */
  readonly published$?: Observable<string>;
  /** How often a snapshot is taken while someone watches. Default 1000 ms. */
  readonly sampleMs?: number;
  /** How many recent deliveries a new watcher gets at once. Default 40. */
  readonly replayDeliveries?: number;
  /** The page's title. Default "peer <endpoint>". */
  readonly title?: string;
  readonly scheduler?: SchedulerLike;
  /** Wall clock (epoch ms) for lastSeen and event times. Default Date.now. */
  readonly now?: () => number;
}

/** A TopologySource over one peer's comm and pipelines; `stop()` releases it. */
export interface PeerTopology extends TopologySource {
  /** Unsubscribes from the comm and completes the streams. Idempotent. */
  stop(): void;
}

/**
 * The view of one peer, built only on the public Comm and pipeline API: itself, the members its
 * membership knows (alive/dead, when an alive message from each last arrived, messages per
 * second received from each), and its own connections as edges with their queue depths.
 * Snapshots are shared by every watcher (rates need one reader), taken only while someone
 * watches; the message counting runs from creation until `stop()`.
 */
export function createPeerTopology(comm: Comm, options: PeerTopologyOptions = {}): PeerTopology {
  return new PeerTopologyImpl(comm, options);
}

class PeerTopologyImpl implements PeerTopology {
  readonly snapshots$: Observable<TopologySnapshot>;
  readonly deliveries$: Observable<DeliveryEvent>;
  private readonly stopped = new Subject<void>();
  private readonly subscription = new Subscription();
  private readonly received = new Map<string, number>();
  private readonly lastSeen = new Map<string, number>();
  private readonly rates = new RateMeter();
  private readonly selfId: string;
  private readonly now: () => number;
  private isStopped = false;

  constructor(
    private readonly comm: Comm,
    private readonly options: PeerTopologyOptions,
  ) {
    this.selfId = comm.getPKIid().toString('hex');
    this.now = options.now ?? Date.now;
    // Alive messages go straight from each member to each other (membership does not forward
    // them), so their arrival is when we last heard from that member.
    this.subscription.add(
      comm.accept().subscribe((m) => {
        const sender = m.connectionInfo.pkiId.toString('hex');
        this.received.set(sender, (this.received.get(sender) ?? 0) + 1);
        const alive = m.message.aliveMsg?.membership?.pkiId;
        if (alive && alive.length > 0) this.lastSeen.set(Buffer.from(alive).toString('hex'), this.now());
      }),
    );
    const scheduler = options.scheduler ?? asyncScheduler;
    this.snapshots$ = timer(0, options.sampleMs ?? 1000, scheduler).pipe(
      map(() => this.snapshot()),
      takeUntil(this.stopped),
      shareReplay({ bufferSize: 1, refCount: true }),
    );
    const delivered = (d: DataDelivery, via: 'push' | 'pull'): DeliveryEvent => ({
      message: d.digest,
      at: this.selfId,
      from: d.from.pkiId.toString('hex'),
      via,
      time: this.now(),
    });
    // Kept from creation, so a page opened later still shows the latest messages.
    const recent = new ReplaySubject<DeliveryEvent>(options.replayDeliveries ?? 40);
    this.deliveries$ = recent.asObservable();
    merge(
      options.push ? options.push.delivered$.pipe(map((d) => delivered(d, 'push'))) : EMPTY,
      options.pull ? options.pull.delivered$.pipe(map((d) => delivered(d, 'pull'))) : EMPTY,
      options.published$
        ? options.published$.pipe(
            map((digest): DeliveryEvent => ({ message: digest, at: this.selfId, origin: this.selfId, via: 'publish', latencyMs: 0, time: this.now() })),
          )
        : EMPTY,
    )
      .pipe(takeUntil(this.stopped))
      .subscribe(recent);
  }

  /** The picture now. */
  snapshot(): TopologySnapshot {
    const at = this.now();
    const stats = this.comm.stats();
    const nodes = new Map<string, TopologyNode>();
    nodes.set(this.selfId, {
      id: this.selfId,
      label: this.comm.endpoint || 'self',
      endpoint: this.comm.endpoint,
      state: 'alive',
      self: true,
      running: true,
      ...defined('sentPerSec', this.rates.rate('self:sent', stats.sent, at)),
      ...defined('receivedPerSec', this.rates.rate('self:received', stats.received, at)),
      queued: stats.queued,
    });
    const queuedTo = new Map<string, number>();
    for (const c of this.comm.connections()) {
      const id = c.pkiId.toString('hex');
      queuedTo.set(id, (queuedTo.get(id) ?? 0) + c.queued);
    }
    const peerNode = (id: string, endpoint: string, state: TopologyNode['state']): TopologyNode => ({
      id,
      label: endpoint,
      endpoint,
      state,
      ...defined('lastSeen', this.lastSeen.get(id)),
      ...defined('receivedPerSec', this.rates.rate(`from:${id}`, this.received.get(id) ?? 0, at)),
      ...defined('queued', queuedTo.get(id)),
      ...(queuedTo.has(id) ? {} : { detail: 'no open connection from here' }),
    });
    const view = this.options.membership?.view();
    if (view) {
      for (const m of view.alive) nodes.set(m.pkiId.toString('hex'), peerNode(m.pkiId.toString('hex'), m.endpoint, 'alive'));
      for (const m of view.dead) nodes.set(m.pkiId.toString('hex'), peerNode(m.pkiId.toString('hex'), m.endpoint, 'dead'));
    }
    const edges: TopologyEdge[] = [];
    for (const c of this.comm.connections()) {
      const id = c.pkiId.toString('hex');
      // Without membership (comm mode) a connected peer is all we know of it.
      if (!nodes.has(id)) nodes.set(id, { ...peerNode(id, c.endpoint, view ? 'unknown' : 'alive'), detail: 'connected' });
      if (!edges.some((e) => e.to === id)) edges.push({ from: this.selfId, to: id, queued: queuedTo.get(id) ?? 0 });
    }
    this.rates.retain(new Set(['self:sent', 'self:received', ...[...nodes.keys()].map((id) => `from:${id}`)]));
    // Peers membership purged and comm closed are gone from the page: forget them here too.
    for (const map of [this.received, this.lastSeen]) for (const id of map.keys()) if (!nodes.has(id)) map.delete(id);
    return {
      at,
      title: this.options.title ?? `peer ${this.comm.endpoint}`,
      vantage: 'peer',
      nodes: [...nodes.values()],
      edges,
      ...defined('aliveExpirationMs', this.options.aliveExpirationMs),
    };
  }

  stop(): void {
    if (this.isStopped) return;
    this.isStopped = true;
    this.subscription.unsubscribe();
    this.stopped.next();
    this.stopped.complete();
  }
}

/** `{ [key]: value }` when value is defined, else `{}` (optional fields stay absent in the JSON). */
function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
