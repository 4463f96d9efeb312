/**
 * Prometheus metrics for rxgossip: a prom-client implementation of CommMetrics and a small
 * node:http endpoint to scrape it. Needs the `prom-client` package.
 * @module
 */
export {
  COMM_METRIC_NAMES,
  PromCommMetrics,
  createPromCommMetrics,
  type PromCommMetricsOptions,
} from './prom-comm-metrics.js';
export { serveMetrics, type MetricsServer, type ServeMetricsOptions } from './serve-metrics.js';
