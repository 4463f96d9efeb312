import type { NodeState, TopologyEdge, TopologyNode, TopologySnapshot } from './topology.js';

/** What a host running several peers knows of one of them. */
export interface PeerReport {
  /** A name to draw instead of its endpoint. */
  readonly name?: string;
  /** Whether its process runs now. */
  readonly running: boolean;
  /** Its own latest snapshot (createPeerTopology), kept after it stopped. */
  readonly snapshot?: TopologySnapshot;
}

/** How the merged picture is labelled. */
export interface MergeOptions {
  readonly title: string;
  readonly at: number;
  readonly aliveExpirationMs?: number;
}

/**
 * One picture of a cluster from the views of its peers. Each peer is drawn with what it says of
 * itself (rates, queue depth) and with the verdict of the *other running* peers on it: `alive`
 * when all that know it see it alive, `dead` when all see it dead, `partial` while they disagree
 * (a death or a restart spreading), `unknown` when none knows it. Its last-seen time is the latest
 * any of them heard from it. Edges are the running peers' own connections. A stopped peer's
 * view counts for nothing: it is out of date.
 */
export function mergeSnapshots(reports: readonly PeerReport[], options: MergeOptions): TopologySnapshot {
  const selves = new Map<string, { node: TopologyNode; report: PeerReport }>();
  for (const report of reports) {
    const self = report.snapshot?.nodes.find((n) => n.self === true);
    if (self) selves.set(self.id, { node: self, report });
  }
  const views = reports.filter((r) => r.running && r.snapshot !== undefined).map((r) => r.snapshot!);
  const selfOf = (view: TopologySnapshot): string | undefined => view.nodes.find((n) => n.self === true)?.id;

  // Every peer anyone mentions, in the order of the reports, then members only others know of.
  const ids: string[] = [...selves.keys()];
  for (const view of views) for (const n of view.nodes) if (!ids.includes(n.id)) ids.push(n.id);

  const nodes: TopologyNode[] = ids.map((id) => {
    const own = selves.get(id);
    let alive = 0;
    let dead = 0;
    let reporters = 0;
    let lastSeen: number | undefined;
    let endpoint = own?.node.endpoint ?? '';
    for (const view of views) {
      if (selfOf(view) === id) continue;
      reporters++;
      const seen = view.nodes.find((n) => n.id === id);
      if (!seen) continue;
      if (seen.state === 'alive') alive++;
      else if (seen.state === 'dead') dead++;
      if (seen.lastSeen !== undefined && (lastSeen === undefined || seen.lastSeen > lastSeen)) lastSeen = seen.lastSeen;
      endpoint ||= seen.endpoint;
    }
    const known = alive + dead;
    const state: NodeState = known === 0 ? 'unknown' : alive === known ? 'alive' : dead === known ? 'dead' : 'partial';
    const running = own ? own.report.running : undefined;
    const measured = own?.report.running ? own.node : undefined;
    return {
      id,
      label: own?.report.name ?? endpoint,
      endpoint,
      state,
      ...(running !== undefined ? { running } : {}),
      ...(lastSeen !== undefined ? { lastSeen } : {}),
      ...(measured?.sentPerSec !== undefined ? { sentPerSec: measured.sentPerSec } : {}),
      ...(measured?.receivedPerSec !== undefined ? { receivedPerSec: measured.receivedPerSec } : {}),
      ...(measured?.queued !== undefined ? { queued: measured.queued } : {}),
      detail: `seen alive by ${alive}, dead by ${dead}, of ${reporters} other running peer(s)`,
    };
  });

  const edges: TopologyEdge[] = [];
  for (const view of views) {
    const self = selfOf(view);
    for (const e of view.edges) if (e.from === self) edges.push(e);
  }
  return {
    at: options.at,
    title: options.title,
    nodes,
    edges,
    ...(options.aliveExpirationMs !== undefined ? { aliveExpirationMs: options.aliveExpirationMs } : {}),
  };
}
