// The messages between the demo's orchestrator and its peer processes (over Node's IPC channel).
import type { TopologySnapshot } from '../../lib/index.js';

/** Timings of the peers' gossip, in ms (shortened from Fabric's defaults so the demo is quick). */
export interface Timings {
  readonly aliveIntervalMs: number;
  readonly aliveExpirationMs: number;
  readonly pullIntervalMs: number;
}

/** What a peer process is started with (argv[2], JSON). */
export interface PeerConfig {
  readonly name: string;
  readonly dir: string;
  readonly listen: string;
  readonly bootstrap: readonly string[];
  readonly timings: Timings;
  /** Send a snapshot of this peer's view every 500 ms (for the live page, --ui). */
  readonly report?: boolean;
}

/** Orchestrator to peer. */
export type ToPeer = { readonly type: 'publish'; readonly id: number } | { readonly type: 'stop' };

/** One message delivered at a peer: its id, how, and when (ms, wall clock shared by all processes). */
export interface Delivery {
  readonly id: number;
  readonly at: number;
  readonly by: 'push' | 'pull';
}

/** Peer to orchestrator. */
export type FromPeer =
  | { readonly type: 'ready'; readonly endpoint: string; readonly pkiId: string }
  | { readonly type: 'view'; readonly alive: readonly string[]; readonly dead: readonly string[]; readonly at: number }
  | { readonly type: 'published'; readonly id: number; readonly at: number }
  | { readonly type: 'delivered'; readonly items: readonly Delivery[] }
  | { readonly type: 'topology'; readonly snapshot: TopologySnapshot }
  | { readonly type: 'stopped'; readonly stats: Record<string, unknown> };

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
