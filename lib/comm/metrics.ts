/**
 * Counters and gauges comm reports, named after Fabric's gossip comm metrics. Pass an
 * implementation (e.g. the prom-client adapter) in CommOptions.metrics; absent, nothing is kept
 * beyond the counters comm.stats() returns.
 */
export interface CommMetrics {
  /** gossip_comm_messages_sent */
  messageSent(): void;
  /** gossip_comm_messages_received */
  messageReceived(): void;
  /** gossip_comm_overflow_count and every other dropped message, by reason. */
  messageDropped(reason: string): void;
  /** Live authenticated connections. */
  connections(count: number): void;
  /** Messages queued across all connections' outbound buffers. */
  queueDepth(depth: number): void;
  handshakeFailed(reason: string): void;
  presumedDead(): void;
}
