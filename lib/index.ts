/**
 * rxgossip: Hyperledger Fabric's gossip comm layer for Node.js, on RxJS and grpc-js, speaking
 * Fabric's wire protocol (gossip.Gossip over gRPC, Fabric's protobuf Envelope/GossipMessage).
 *
 * @module rxgossip
 */
export { createComm } from './comm/comm.js';
export type {
  Comm,
  CommStats,
  ConnectionSummary,
  DroppedMessage,
  HandshakeFailureEvent,
} from './comm/comm.js';
export type { CommOptions, OverflowPolicy, SelfIdentity } from './comm/options.js';
export { DEFAULTS } from './comm/options.js';
export type { ConnectionInfo, RemotePeer } from './comm/connection-info.js';
export { ConnectionState } from './comm/connection.js';
export { ReceivedMessage, type Responder } from './comm/received-message.js';
export type { DropReason } from './comm/outbound-buffer.js';
export { AggregatedSendResult, type AckOutcome } from './comm/send-with-ack.js';
export type { Logger } from './comm/logger.js';
export type { CommMetrics } from './comm/metrics.js';
export {
  buildConnEstablish,
  checkConnEstablish,
  certificateHash,
  type AuthenticatedRemote,
  type ConnEstablishSource,
  type HandshakeContext,
} from './comm/handshake.js';
export { SignedMessage, type GossipMessageInit, type MessageSigner } from './wire/signed-message.js';
export { gossipServiceDefinition, GOSSIP_STREAM_PATH, PING_PATH } from './wire/service.js';
export * from './errors.js';
export * from './identity/index.js';
export { gossip, msp } from './proto/messages.js';
export { default as Long } from 'long';
export * from './gossip/index.js';
export * from './ui/index.js';
