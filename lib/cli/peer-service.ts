import type { Observable } from 'rxjs';
import type { Comm } from '../comm/comm.js';
import type { Logger } from '../comm/logger.js';
import type { LocalPeer } from '../identity/peer-dir.js';
import type { PeerTopology } from '../ui/peer-topology.js';
import type { MessageRecord } from './message-format.js';

/** Something `rxgossip peer` prints, as it happens (one line of text, or one JSON object). */
export type PeerEvent =
  | {
      readonly event: 'listening';
      readonly endpoint: string;
      readonly pkiId: string;
      readonly mspid: string;
      readonly mode: string;
      readonly metrics?: string;
      readonly ui?: string;
    }
  /** A bootstrap peer answered and a connection to it is open. */
  | { readonly event: 'connected'; readonly endpoint: string; readonly pkiId: string }
  /** A bootstrap peer could not be reached or refused us. */
  | { readonly event: 'unreachable'; readonly endpoint: string; readonly error: string }
  /** The membership view changed (gossip mode). */
  | {
      readonly event: 'membership';
      readonly change: 'join' | 'revive' | 'update' | 'dead';
      readonly pkiId: string;
      readonly endpoint: string;
      readonly reason?: string;
    }
  /**
   * A data message reached us (`from` is the peer that sent it to us, not necessarily its
   * originator). `text` when its data is printable UTF-8; `via` in gossip mode.
   */
  | {
      readonly event: 'data';
      readonly from: { readonly pkiId: string; readonly endpoint: string };
      readonly seqNum: string;
      readonly hex: string;
      readonly text?: string;
      readonly via?: 'push' | 'pull';
    }
  /** Any other message (comm mode). */
  | { readonly event: 'message'; readonly message: MessageRecord; readonly line: string }
  /** comm found a peer unreachable. */
  | { readonly event: 'presumed-dead'; readonly pkiId: string }
  /**
   * A line from stdin went out: to `peers` peers (comm mode), or into push dissemination with
   * `alive` members known (gossip mode).
   */
  | { readonly event: 'published'; readonly seqNum: string; readonly peers?: number; readonly alive?: number }
  | { readonly event: 'stopped'; readonly signal: string };

/** What a peer service gets to work with. */
export interface PeerServiceContext {
  readonly comm: Comm;
  readonly self: LocalPeer;
  /** Bootstrap endpoints, host:port. */
  readonly bootstrap: readonly string[];
  /** Whether comm runs TLS (for error messages). */
  readonly tls: boolean;
  readonly logger: Logger;
  /** Membership timing (gossip mode); Fabric's defaults when absent. */
  readonly aliveIntervalMs?: number;
  readonly aliveExpirationMs?: number;
  readonly reconnectIntervalMs?: number;
  readonly publishCertPeriodMs?: number;
}

/**
 * What `rxgossip peer` runs on top of comm: comm alone (createCommPeerService), or the gossip
 * pipelines. It reports what happens on `events$` and publishes what is typed on stdin.
 */
export interface PeerService {
  /** Events to print. Hot; completes after `stop()` (or when the comm stops). */
  readonly events$: Observable<PeerEvent>;
  /** Starts talking to the bootstrap peers; resolves once each was tried. */
  start(): Promise<void>;
  /** Sends `data` (a line of stdin) as a data message; resolves with its seq_num. */
  publish(data: Uint8Array): Promise<string>;
  /** Stops the service (not the comm, which the command stops next). Idempotent. */
  stop(): Promise<void>;
  /**
   * What the live page (--ui) shows of this service; modes without it get comm's connections
   * only. The caller stops it.
   */
  topology?(): PeerTopology;
}

export type PeerServiceFactory = (ctx: PeerServiceContext) => PeerService;
