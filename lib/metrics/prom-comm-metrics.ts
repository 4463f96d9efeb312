import { Counter, Gauge, register as globalRegistry, type Registry } from 'prom-client';
import type { CommMetrics } from '../comm/metrics.js';

/** Options of createPromCommMetrics. */
export interface PromCommMetricsOptions {
  /** Where the metrics are registered. Default: prom-client's global registry. */
  readonly registry?: Registry;
}

/** The metric names, Fabric's where Fabric has one (`gossip_comm_*`). */
export const COMM_METRIC_NAMES = {
  sent: 'gossip_comm_messages_sent',
  received: 'gossip_comm_messages_received',
  overflow: 'gossip_comm_overflow_count',
  dropped: 'gossip_comm_messages_dropped',
  connections: 'gossip_comm_connections',
  queueDepth: 'gossip_comm_queue_depth',
  handshakeFailures: 'gossip_comm_handshake_failures',
  presumedDead: 'gossip_comm_presumed_dead',
} as const;

/** Drop reasons comm reports today; each series starts at 0 so dashboards see it before it moves. */
const KNOWN_DROP_REASONS = ['overflow', 'connection-closed', 'dial-failed', 'stopped', 'too-large'] as const;

/**
 * CommMetrics on prom-client: pass it as `CommOptions.metrics` and scrape its registry.
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `gossip_comm_messages_sent` | counter | |
 * | `gossip_comm_messages_received` | counter | |
 * | `gossip_comm_overflow_count` | counter | |
 * | `gossip_comm_messages_dropped` | counter | `reason` |
 * | `gossip_comm_connections` | gauge | |
 * | `gossip_comm_queue_depth` | gauge | |
 * | `gossip_comm_handshake_failures` | counter | `reason` |
 * | `gossip_comm_presumed_dead` | counter | |
 *
 * The first three carry Fabric's names and meaning (without Prometheus' `_total` suffix, as a
 * Fabric peer exports them). One instance per comm and registry: registering the same names
 * twice in one registry throws.
 */
export class PromCommMetrics implements CommMetrics {
  /** The registry the metrics live in. */
  readonly registry: Registry;
  private readonly sent: Counter;
  private readonly received: Counter;
  private readonly overflow: Counter;
  private readonly dropped: Counter<'reason'>;
  private readonly connectionCount: Gauge;
  private readonly depth: Gauge;
  private readonly handshakeFailures: Counter<'reason'>;
  private readonly dead: Counter;

  constructor(options: PromCommMetricsOptions = {}) {
    const registry = options.registry ?? globalRegistry;
    this.registry = registry;
    const registers = [registry];
    const names = COMM_METRIC_NAMES;
    this.sent = new Counter({ name: names.sent, help: 'Number of messages sent', registers });
    this.received = new Counter({ name: names.received, help: 'Number of messages received', registers });
    this.overflow = new Counter({
      name: names.overflow,
      help: 'Number of outgoing queue buffer overflows',
      registers,
    });
    this.dropped = new Counter({
      name: names.dropped,
      help: 'Number of outgoing messages dropped, by reason',
      labelNames: ['reason'] as const,
      registers,
    });
    this.connectionCount = new Gauge({
      name: names.connections,
      help: 'Number of live authenticated connections',
      registers,
    });
    this.depth = new Gauge({
      name: names.queueDepth,
      help: 'Messages waiting in the outbound buffers of all connections',
      registers,
    });
    this.handshakeFailures = new Counter({
      name: names.handshakeFailures,
      help: 'Number of failed handshakes (inbound and outbound), by reason',
      labelNames: ['reason'] as const,
      registers,
    });
    this.dead = new Counter({
      name: names.presumedDead,
      help: 'Number of times a peer was presumed dead',
      registers,
    });
    for (const reason of KNOWN_DROP_REASONS) this.dropped.inc({ reason }, 0);
  }

  messageSent(): void {
    this.sent.inc();
  }

  messageReceived(): void {
    this.received.inc();
  }

  messageDropped(reason: string): void {
    if (reason === 'overflow') this.overflow.inc();
    this.dropped.inc({ reason });
  }

  connections(count: number): void {
    this.connectionCount.set(count);
  }

  queueDepth(depth: number): void {
    this.depth.set(depth);
  }

  handshakeFailed(reason: string): void {
    this.handshakeFailures.inc({ reason });
  }

  presumedDead(): void {
    this.dead.inc();
  }

  /** Removes these metrics from the registry (e.g. before creating a new instance on it). */
  unregister(): void {
    for (const name of Object.values(COMM_METRIC_NAMES)) this.registry.removeSingleMetric(name);
  }
}

/** A PromCommMetrics on `options.registry` (default: prom-client's global registry). */
export function createPromCommMetrics(options: PromCommMetricsOptions = {}): PromCommMetrics {
  return new PromCommMetrics(options);
}
