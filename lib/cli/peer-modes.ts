import { createCommPeerService } from './comm-peer-service.js';
import { createGossipPeerService } from './gossip-peer-service.js';
import type { PeerServiceFactory } from './peer-service.js';

/** A way to run `rxgossip peer`, chosen with --mode. */
export interface PeerMode {
  readonly summary: string;
  readonly create: PeerServiceFactory;
}

/** The modes `rxgossip peer --mode` offers; another pipeline plugs in here as one more entry. */
export const PEER_MODES: Readonly<Record<string, PeerMode>> = {
  gossip: {
    summary: 'membership, push and pull (lib/gossip)',
    create: createGossipPeerService,
  },
  comm: {
    summary: 'comm alone: stdin lines go straight to connected peers',
    create: createCommPeerService,
  },
};

export const DEFAULT_PEER_MODE = 'gossip';

/** The --mode help text. */
export function describeMode(): string {
  return `what runs on top of comm: ${Object.entries(PEER_MODES)
    .map(([name, mode]) => `${name}: ${mode.summary}`)
    .join('; ')}`;
}
