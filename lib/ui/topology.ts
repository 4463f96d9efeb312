import type { Observable } from 'rxjs';

/**
 * What the live page draws, as plain JSON-able data: the same shapes whether one peer serves its
 * own view (`rxgossip peer --ui`) or an orchestrator serves a whole cluster (the demo).
 */

/**
 * A peer on the page. `alive`/`dead` is the membership's verdict; `partial` means the peers that
 * report on it disagree (some still see it alive); `unknown` means nobody reports on it yet.
 */
export type NodeState = 'alive' | 'dead' | 'partial' | 'unknown';

export interface TopologyNode {
  /** Its PKI-ID, hex. */
  readonly id: string;
  /** A short name to draw (a peer name, or its endpoint). */
  readonly label: string;
  readonly endpoint: string;
  readonly state: NodeState;
  /** The peer that serves the page (its own view). */
  readonly self?: boolean;
  /** Whether its process runs, when the page's host knows (the demo does). */
  readonly running?: boolean;
  /** When an alive message from it last arrived (epoch ms), if one did. */
  readonly lastSeen?: number;
  /** Messages it sent / received per second over the last sample, when known. */
  readonly sentPerSec?: number;
  readonly receivedPerSec?: number;
  /** Messages waiting in its outbound buffers, when known. */
  readonly queued?: number;
  /** Free-form detail for the tooltip, e.g. "seen alive by 2 of 3". */
  readonly detail?: string;
}

/** An open gossip connection between two peers (undirected on the page). */
export interface TopologyEdge {
  readonly from: string;
  readonly to: string;
  /** Messages queued on it at the `from` side. */
  readonly queued?: number;
}

/** The whole picture at one instant. */
export interface TopologySnapshot {
  /** Epoch ms. */
  readonly at: number;
  /** Whose view this is, e.g. "peer 127.0.0.1:7051" or "cluster demo, 4 peers". */
  readonly title: string;
  readonly nodes: readonly TopologyNode[];
  readonly edges: readonly TopologyEdge[];
  /**
   * `peer`: one peer's own view, so deliveries are only the ones at that peer (the page shows
   * each message's last hop); `cluster`: a host that sees every peer (the page shows each
   * message's reach). Default `cluster`.
   */
  readonly vantage?: 'peer' | 'cluster';
  /** The membership's alive expiration (ms), so the page can say how soon death is detected. */
  readonly aliveExpirationMs?: number;
}

/**
 * A data message reaching a peer. `latencyMs` is from its publication to this arrival when the
 * host knows both (the demo: one clock for all processes); a single peer only knows its own hop.
 */
export interface DeliveryEvent {
  /** Identifies the message (its digest or the demo's id). */
  readonly message: string;
  /** The node it reached. */
  readonly at: string;
  /** The node that published it, when known. */
  readonly origin?: string;
  /** The node it came from on its last hop, when known. */
  readonly from?: string;
  readonly via?: 'publish' | 'push' | 'pull';
  readonly latencyMs?: number;
  /** Epoch ms of the arrival. */
  readonly time: number;
}

/** Kill and restart of a peer process: only hosts that run the processes (the demo) have them. */
export interface PeerControls {
  kill(nodeId: string): Promise<void>;
  restart(nodeId: string): Promise<void>;
}

/** Feeds the page. */
export interface TopologySource {
  /**
   * Snapshots of the topology. Cold: each subscriber gets one at once, then one per sample
   * period, until it unsubscribes or the source stops (then it completes). Never errors.
   */
  readonly snapshots$: Observable<TopologySnapshot>;
  /**
   * Data messages reaching peers. Hot, possibly replaying the last few to a new subscriber (so a
   * page opened later is not empty); completes when the source stops. Never errors.
   */
  readonly deliveries$: Observable<DeliveryEvent>;
}
