// What the lab's orchestrator and its peer processes say to each other: one JSON object per
// line, commands on the peer's stdin, reports on its stdout (the peer runs under
// `ip netns exec`, so plain pipes are the channel).

/** Gossip timings of the lab's peers, in ms (shortened from Fabric's so a run takes minutes). */
export interface LabTimings {
  readonly aliveIntervalMs: number;
  readonly aliveExpirationMs: number;
  readonly reconnectIntervalMs: number;
  readonly pullIntervalMs: number;
  /** comm's dial timeout (and Ping deadline); the handshake may take 3 times as long. */
  readonly dialTimeoutMs: number;
  /** How long a pull round waits for digests, then for updates (Fabric: 1 s and 1.5 s). */
  readonly digestWaitMs: number;
  readonly requestWaitMs: number;
}

/** A peer process's configuration (argv[2], JSON). */
export interface LabPeerConfig {
  readonly dir: string;
  readonly listen: string;
  readonly bootstrap: readonly string[];
  readonly timings: LabTimings;
}

/** Orchestrator to peer. */
export type LabCommand = { readonly type: 'publish'; readonly id: number } | { readonly type: 'stop' };

/** One message delivered at a peer. */
export interface LabDelivery {
  readonly id: number;
  readonly at: number;
  readonly by: 'push' | 'pull' | 'origin';
}

/** Peer to orchestrator. Times are wall-clock ms (performance.timeOrigin + now()), comparable across processes. */
export type LabReport =
  | { readonly type: 'ready'; readonly endpoint: string; readonly pkiId: string; readonly at: number }
  | { readonly type: 'view'; readonly alive: readonly string[]; readonly dead: readonly string[]; readonly at: number }
  | { readonly type: 'published'; readonly id: number; readonly at: number }
  | { readonly type: 'delivered'; readonly items: readonly LabDelivery[] }
  | { readonly type: 'stats'; readonly stats: Record<string, unknown>; readonly lastHandshakeFailure?: string }
  | { readonly type: 'stopped'; readonly stats: Record<string, unknown> };

/** Wall-clock milliseconds with sub-millisecond precision. */
export function wallClock(): number {
  return performance.timeOrigin + performance.now();
}
