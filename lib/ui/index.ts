/**
 * The live topology page: a node:http server streaming a peer's (or a cluster's) membership,
 * connections, message rates and dissemination to a browser over Server-Sent Events.
 */
export type {
  DeliveryEvent,
  NodeState,
  PeerControls,
  TopologyEdge,
  TopologyNode,
  TopologySnapshot,
  TopologySource,
} from './topology.js';
export { createPeerTopology, type PeerTopology, type PeerTopologyOptions } from './peer-topology.js';
export { serveUi, CONTROL_HEADER, type UiServer, type UiServerOptions, type UiServerStats } from './ui-server.js';
export { RateMeter } from './rate-meter.js';
export { mergeSnapshots, type MergeOptions, type PeerReport } from './merge-snapshots.js';
