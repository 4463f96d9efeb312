import type { Server } from '@grpc/grpc-js';
import type { MessageSigner } from '../wire/signed-message.js';
import type { IdentityMapper } from '../identity/identity-mapper.js';
import type { MspConfig } from '../identity/msp.js';
import type { Logger } from './logger.js';
import type { CommMetrics } from './metrics.js';

/** What a connection does with a message when its outbound buffer is full. */
export type OverflowPolicy = 'drop-newest' | 'drop-oldest' | 'error';

/**
 * The local peer as comm needs it. `loadPeerDir()` returns a value of this shape.
 * `identity` is the marshalled msp.SerializedIdentity and `pkiId` is derived from it.
 */
export interface SelfIdentity {
  readonly identity: Uint8Array;
  readonly pkiId: Uint8Array;
  readonly signer: MessageSigner;
  /** The TLS pair this peer serves with and presents as client certificate when it dials. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** The MSP this peer belongs to, trusted by default. */
  readonly msp?: MspConfig;
  /** TLS CAs trusted by default (the peer directory's own). */
  readonly tlsRootCerts?: readonly Buffer[];
}

/** Options of createComm. Every timeout defaults to Fabric's value (see DEFAULTS). */
export interface CommOptions {
  /** Who we are. */
  readonly self: SelfIdentity;
  /**
   * Listen on host:port with our own gRPC server (port 0 picks a free port). With neither
   * `listen` nor `server` the comm only dials (probes, watchers): nobody can dial it.
   */
  readonly listen?: string;
  /** Attach to an existing grpc-js Server instead (Fabric's NewCommInstance); it stays the caller's. */
  readonly server?: Server;
  /**
   * The endpoint other peers reach us at, as advertised in membership. Defaults to the listen
   * address (with the bound port).
   */
  readonly externalEndpoint?: string;
  /** false for plaintext (tls_cert_hash empty, TLS binding not checked). Default true. */
  readonly tls?: boolean;
  /** TLS CAs to trust for servers we dial and clients that dial us. Default: self.tlsRootCerts. */
  readonly tlsRootCerts?: readonly Buffer[];
  /** Host name to verify servers' TLS certificates against, instead of the dialed host. */
  readonly tlsServerNameOverride?: string;
  /** MSPs whose identities are trusted. Default: [self.msp]. Ignored when `mapper` is given. */
  readonly msps?: readonly MspConfig[];
  /** Fabric's identity.Mapper. Default: an MSP-validating mapper over `msps`. */
  readonly mapper?: IdentityMapper;
  /** core.yaml peer.gossip.dialTimeout. */
  readonly dialTimeoutMs?: number;
  /** core.yaml peer.gossip.connTimeout: time to read the remote's ConnEstablish. */
  readonly connTimeoutMs?: number;
  /** Deadline of the Ping before GossipStream and of probe(). */
  readonly pingTimeoutMs?: number;
  /** Whole-handshake budget (dial + Ping + stream + ConnEstablish both ways). */
  readonly handshakeTimeoutMs?: number;
  /** core.yaml peer.gossip.sendBuffSize: messages queued per connection. */
  readonly sendBufferSize?: number;
  /** What happens when a connection's buffer is full. Default 'drop-newest' (Fabric). */
  readonly overflowPolicy?: OverflowPolicy;
  /** Largest message received, in bytes (core.yaml peer.gossip.maxRecvMsgSize). */
  readonly maxRecvMsgSize?: number;
  /** Largest message sent, in bytes (core.yaml peer.gossip.maxSendMsgSize). */
  readonly maxSendMsgSize?: number;
  /**
   * HTTP/2 flow-control window, in bytes, that this side grants a peer per stream and per
   * connection, both on connections it dials and on those it accepts: how much the peer may
   * send before waiting for this side to read. Default 1 MiB. HTTP/2 and node start at 64 KiB,
   * which keeps a fast sender of small messages waiting a round trip every 60 or so (grpc-go,
   * under Fabric, grows its own window up to 16 MiB as it measures the link). 65535 keeps
   * HTTP/2's default. Attached to a server the caller owns (`server`), the window is widened on the
   * HTTP/2 sessions that carry gossip streams, which that server's other services share.
   */
  readonly flowControlWindow?: number;
  /** Client keepalive ping interval (core.yaml peer.keepalive.client.interval). */
  readonly keepaliveTimeMs?: number;
  /** Client keepalive timeout (core.yaml peer.keepalive.client.timeout). */
  readonly keepaliveTimeoutMs?: number;
  /**
   * How long a duplicate connection from a simultaneous dial may stay open before this side
   * decides the remote keeps it (and switches to it). Default: 2 × connTimeoutMs.
   */
  readonly duplicateGraceMs?: number;
  /** How long a graceful close may take before the stream is cancelled. Default 5 s. */
  readonly closeTimeoutMs?: number;
  /**
   * Register our own server and the channels we dial with grpc-js's channelz (what a channelz
   * admin service in this process shows). Default false: channelz keeps trackers, a trace and
   * registry entries for every connection and counts every call, which costs each handshake
   * CPU and each live connection memory on both sides. A server passed as `server` keeps its
   * own setting.
   */
  readonly channelz?: boolean;
  /** Where log records go. Silent when absent. */
  readonly logger?: Logger;
  /** Where counters and gauges go. None when absent. */
  readonly metrics?: CommMetrics;
}

/** HTTP/2's initial flow-control window (RFC 9113), what node grants unless told otherwise. */
export const HTTP2_DEFAULT_WINDOW = 65_535;
/** The largest flow-control window HTTP/2 can express. */
const HTTP2_MAX_WINDOW = 2 ** 31 - 1;

/** Fabric's defaults (core.yaml and gossip/comm). */
export const DEFAULTS = {
  dialTimeoutMs: 3_000,
  connTimeoutMs: 2_000,
  pingTimeoutMs: 2_000,
  handshakeTimeoutMs: 10_000,
  sendBufferSize: 200,
  overflowPolicy: 'drop-newest' as OverflowPolicy,
  maxRecvMsgSize: 100 * 1024 * 1024,
  maxSendMsgSize: 100 * 1024 * 1024,
  keepaliveTimeMs: 60_000,
  keepaliveTimeoutMs: 20_000,
  closeTimeoutMs: 5_000,
  flowControlWindow: 1024 * 1024,
} as const;

/** CommOptions with every default filled in. */
export type ResolvedCommOptions = Required<
  Pick<
    CommOptions,
    | 'dialTimeoutMs'
    | 'connTimeoutMs'
    | 'pingTimeoutMs'
    | 'handshakeTimeoutMs'
    | 'sendBufferSize'
    | 'overflowPolicy'
    | 'maxRecvMsgSize'
    | 'maxSendMsgSize'
    | 'keepaliveTimeMs'
    | 'keepaliveTimeoutMs'
    | 'duplicateGraceMs'
    | 'closeTimeoutMs'
    | 'flowControlWindow'
    | 'tls'
  >
> &
  CommOptions;

export function resolveOptions(options: CommOptions): ResolvedCommOptions {
  const connTimeoutMs = options.connTimeoutMs ?? DEFAULTS.connTimeoutMs;
  const resolved = {
    ...options,
    dialTimeoutMs: options.dialTimeoutMs ?? DEFAULTS.dialTimeoutMs,
    connTimeoutMs,
    pingTimeoutMs: options.pingTimeoutMs ?? DEFAULTS.pingTimeoutMs,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs,
    sendBufferSize: options.sendBufferSize ?? DEFAULTS.sendBufferSize,
    overflowPolicy: options.overflowPolicy ?? DEFAULTS.overflowPolicy,
    maxRecvMsgSize: options.maxRecvMsgSize ?? DEFAULTS.maxRecvMsgSize,
    maxSendMsgSize: options.maxSendMsgSize ?? DEFAULTS.maxSendMsgSize,
    keepaliveTimeMs: options.keepaliveTimeMs ?? DEFAULTS.keepaliveTimeMs,
    keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? DEFAULTS.keepaliveTimeoutMs,
    duplicateGraceMs: options.duplicateGraceMs ?? 2 * connTimeoutMs,
    closeTimeoutMs: options.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs,
    flowControlWindow: options.flowControlWindow ?? DEFAULTS.flowControlWindow,
    tls: options.tls ?? true,
  };
  if (resolved.tls && !options.self.tls) {
    throw new TypeError('TLS is on but self.tls (cert and key) is missing; pass tls: false for plaintext');
  }
  if (options.listen && options.server) {
    throw new TypeError('createComm takes listen (host:port) or server (an existing grpc-js Server), not both');
  }
  if (resolved.sendBufferSize < 1) throw new RangeError('sendBufferSize must be at least 1');
  const window = resolved.flowControlWindow;
  if (!Number.isInteger(window) || window < HTTP2_DEFAULT_WINDOW || window > HTTP2_MAX_WINDOW) {
    throw new RangeError('flowControlWindow must be an integer from 65535 to 2^31 - 1 bytes');
  }
  return resolved;
}
