/**
 * Scenario 4: a push cluster at scale. N gossip peers (comm + membership + push + pull from
 * lib/gossip, Fabric's default fan-out and timings, push sending at once), spread over worker processes that hold many
 * peers each, with their own generated identities over mutual TLS. Once membership has converged
 * (every peer sees the N-1 others alive), messages are published at a fixed rate from peers
 * chosen at random; every message must reach every peer. Measured:
 *
 * - delivery latency (publication to first delivery at a peer, all peers), p50/p90/p99/max;
 * - the share of deliveries made by push and by pull;
 * - CPU time of all worker processes per delivered message, while publishing, and the cluster's
 *   background CPU (alive messages, pull rounds) measured just before, per second.
 */
import { join } from 'node:path';
import { log, now, percentile, sleep, Worker } from './support.js';
import type { ClusterTimings } from './cluster-peers.js';

export interface ClusterConfig {
  readonly peers: number;
  readonly workers: number;
  readonly durationMs: number;
  /**
   * Fewest messages a run publishes: at low rates the run lasts longer than durationMs, because
   * a p99 over a handful of messages is the luck of one or two of them (ten messages at 1/s gave
   * 139 to 800 ms in back-to-back runs of the same cluster).
   */
  readonly minMessages: number;
  readonly payloadSize: number;
  readonly timings: ClusterTimings;
  /**
   * What to measure, one after the other on the same cluster: push's fan-out (Fabric's default is
   * 3) and the messages published per second, over all peers.
   */
  readonly runs: ReadonlyArray<{ readonly fanout: number; readonly rate: number }>;
  /** Peers of a worker join one every this many ms. */
  readonly joinSpacingMs: number;
  /** Longest wait for membership to converge, and for the last deliveries. */
  readonly convergeTimeoutMs: number;
  readonly settleTimeoutMs: number;
  readonly dirs: readonly string[];
}

export interface ClusterResult {
  readonly fanout: number;
  readonly peers: number;
  readonly workers: number;
  readonly rate: number;
  readonly messages: number;
  /** Deliveries expected: messages × (peers − 1). */
  readonly expected: number;
  readonly delivered: number;
  readonly complete: boolean;
  readonly byPush: number;
  readonly byPull: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  /** p99 of the deliveries push made (pull's are bounded below by its interval, not by speed). */
  readonly pushP99: number;
  readonly max: number;
  /** Rate actually achieved by the publishers (messages/s). */
  readonly publishedPerSec: number;
  /** µs of CPU (all workers) per delivered message while publishing. */
  readonly cpuPerDeliveryUs: number;
  /** Cores used by the idle cluster (alive messages, pull rounds). */
  readonly backgroundCores: number;
  /** Cores used by the cluster while publishing. */
  readonly publishingCores: number;
  readonly convergeSeconds: number;
  readonly connections: number;
  readonly drops: number;
  /** Failed handshakes since start, by reason (the start-up storm's). */
  readonly handshakeFailures: Record<string, number>;
  /** Gaps between ticks of a 10 ms timer in the workers (the worst worker's p99, and the longest of all), ms. */
  readonly loopP99Ms: number;
  readonly loopMaxMs: number;
  /** Garbage-collection pauses of all workers: longest, and total per worker-second, ms. */
  readonly gcMaxMs: number;
  readonly gcMsPerSec: number;
}

interface Results {
  push: number[];
  pull: number[];
  drops: number;
  connections: number;
  failures: Record<string, number>;
  loop: { p99Ms: number; maxMs: number };
  gc: { totalMs: number; maxMs: number };
}

/** A cluster run: how membership converged, then one result per fan-out (none if it did not). */
export interface ClusterRun {
  readonly converged: boolean;
  /** Fewest alive members a peer saw when convergence was declared or given up. */
  readonly minAlive: number;
  readonly convergeSeconds: number;
  readonly connections: number;
  readonly handshakeFailures: Record<string, number>;
  readonly rows: ClusterResult[];
}

export async function runCluster(config: ClusterConfig): Promise<ClusterRun> {
  const W = Math.min(config.workers, config.peers);
  const N = config.peers;
  if (config.dirs.length < N) throw new Error(`cluster: need ${N} peer identities`);
  const workers = Array.from({ length: W }, (_, i) => new Worker(`cluster-${i}`));
  // Peer i lives in worker i % W at local index floor(i / W).
  const dirsOf = (w: number): string[] => config.dirs.slice(0, N).filter((_, i) => i % W === w);
  const all = <T>(cmd: string, args: (w: number) => unknown = () => ({})): Promise<T[]> =>
    Promise.all(workers.map((worker, w) => worker.request<T>(cmd, args(w))));
  try {
    const t0 = now();
    const endpoints = await all<Array<{ endpoint: string }>>('cluster-start', (w) => ({ dirs: dirsOf(w) }));
    const bootstrap = [0, 1, 2].filter((i) => i < N).map((i) => endpoints[i % W]![Math.floor(i / W)]!.endpoint);
    log(`cluster: ${N} peers in ${W} processes listening; joining one every ${config.joinSpacingMs} ms per process`);
    await all('cluster-join', (w) => ({
      dirs: dirsOf(w),
      bootstrap,
      timings: config.timings,
      fanout: config.runs[0]?.fanout ?? 3,
      spacingMs: config.joinSpacingMs,
    }));
    // Converged: every peer sees the N-1 others alive, and no connection opened or closed for a second.
    let minAlive = 0;
    let connections = -1;
    let stableSince = now();
    let lastLog = now();
    const deadline = now() + config.convergeTimeoutMs;
    while (now() < deadline) {
      const views = await all<{ minAlive: number }>('cluster-view');
      minAlive = Math.min(...views.map((v) => v.minAlive));
      const progress = await all<Results>('cluster-results');
      const open = progress.reduce((sum, r) => sum + r.connections, 0);
      if (open !== connections) stableSince = now();
      connections = open;
      if (minAlive >= N - 1 && now() - stableSince >= 1_000) break;
      if (now() - lastLog >= 5_000) {
        lastLog = now();
        const failed = progress.reduce((sum, r) => sum + Object.values(r.failures).reduce((a, b) => a + b, 0), 0);
        log(`  ${((now() - t0) / 1000).toFixed(0)} s: the peer seeing fewest sees ${minAlive} alive; ${open} connection ends open; ${failed} failed handshakes`);
      }
      await sleep(1_000);
    }
    const convergeSeconds = (now() - t0) / 1000;
    const startup = await all<Results>('cluster-results');
    const run = {
      minAlive,
      convergeSeconds,
      connections,
      handshakeFailures: sumCounts(startup.map((r) => r.failures)),
    };
    if (minAlive < N - 1) {
      log(`cluster: membership did not converge in ${convergeSeconds.toFixed(0)} s (a peer sees only ${minAlive} of ${N - 1}); not measured`);
      return { ...run, converged: false, rows: [] };
    }
    log(`cluster: every peer sees the ${N - 1} others after ${convergeSeconds.toFixed(1)} s`);

    const out: ClusterResult[] = [];
    let firstId = 0;
    for (const { fanout, rate } of config.runs) {
      await all('cluster-fanout', () => ({ fanout }));
      out.push(await measure(all, W, N, { ...config, rate }, fanout, convergeSeconds, (firstId += 1_000_000)));
    }
    return { ...run, converged: true, rows: out };
  } finally {
    await Promise.all(workers.map((w) => w.shutdown(10_000)));
  }
}

/** How long a run publishes: durationMs, or long enough for minMessages at its rate. */
function runDurationMs(config: Pick<ClusterConfig, 'durationMs' | 'minMessages'> & { readonly rate: number }): number {
  return Math.max(config.durationMs, Math.ceil((config.minMessages / config.rate) * 1000));
}

/** How many messages a run of `durationMs` at `rate` per second publishes (at least one). */
function messagesIn(rate: number, durationMs: number): number {
  return Math.max(1, Math.round((rate * durationMs) / 1000));
}

async function measure(
  all: <T>(cmd: string, args?: (w: number) => unknown) => Promise<T[]>,
  W: number,
  N: number,
  config: ClusterConfig & { readonly rate: number },
  fanout: number,
  convergeSeconds: number,
  firstId: number,
): Promise<ClusterResult> {
  {
    // Warm-up (JIT, bursts, the first pull rounds): a second of traffic, not measured.
    await all('cluster-reset', () => ({ first: firstId + 500_000, count: messagesIn(config.rate, 1_000) }));
    await publishAndWait(all, W, N, config, 1_000, firstId + 500_000);
    const durationMs = runDurationMs(config);
    await all('cluster-reset', () => ({ first: firstId, count: messagesIn(config.rate, durationMs) }));

    const cpu = async (): Promise<number> => (await all<NodeJS.CpuUsage>('cpu')).reduce((s, c) => s + c.user + c.system, 0);
    // Cores of the idle cluster: each worker's CPU over its own clock between two readings, summed
    // (a busy worker answers late; dividing by the lead's 2 s overstated it, up to 2.65 of 2 cores).
    type Clocked = NodeJS.CpuUsage & { at: number };
    const idleMs = 2_000;
    const idleStartAt = now();
    const idleStart = await all<Clocked>('cpu-clock');
    await sleep(idleMs);
    const idleEnd = await all<Clocked>('cpu-clock');
    const backgroundCores = idleEnd.reduce((sum, end, w) => {
      const start = idleStart[w]!;
      return sum + (end.user + end.system - start.user - start.system) / 1000 / (end.at - start.at);
    }, 0);

    // BENCH_PROFILE_DIR=dir: CPU profiles of every worker while publishing.
    const profileDir = process.env.BENCH_PROFILE_DIR;
    if (profileDir) await all('profile-start');
    const cpuBefore = await cpu();
    const start = now();
    const { messages, complete, publishMs } = await publishAndWait(all, W, N, config, durationMs, firstId);
    const elapsedMs = now() - start;
    const cpuUsed = (await cpu()) - cpuBefore;
    if (profileDir) await all('profile-stop', (w) => ({ file: join(profileDir, `cluster-fanout${fanout}-rate${config.rate}-worker${w}.cpuprofile`) }));
    const results = await all<Results>('cluster-results');
    const push = results.flatMap((r) => r.push);
    const pull = results.flatMap((r) => r.pull);
    const latencies = [...push, ...pull].sort((a, b) => a - b);
    const delivered = latencies.length;
    const result: ClusterResult = {
      fanout,
      peers: N,
      workers: W,
      rate: config.rate,
      messages,
      expected: messages * (N - 1),
      delivered,
      complete,
      byPush: push.length,
      byPull: pull.length,
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      pushP99: percentile([...push].sort((a, b) => a - b), 99),
      max: latencies[latencies.length - 1] ?? NaN,
      publishedPerSec: messages / (publishMs / 1000),
      cpuPerDeliveryUs: delivered > 0 ? cpuUsed / delivered : NaN,
      backgroundCores,
      publishingCores: cpuUsed / 1000 / elapsedMs,
      convergeSeconds,
      connections: results.reduce((s, r) => s + r.connections, 0),
      drops: results.reduce((s, r) => s + r.drops, 0),
      handshakeFailures: sumCounts(results.map((r) => r.failures)),
      loopP99Ms: Math.max(...results.map((r) => r.loop.p99Ms)),
      loopMaxMs: Math.max(...results.map((r) => r.loop.maxMs)),
      gcMaxMs: Math.max(...results.map((r) => r.gc.maxMs)),
      gcMsPerSec: results.reduce((sum, r) => sum + r.gc.totalMs, 0) / W / ((now() - idleStartAt) / 1000),
    };
    log(
      `cluster, fan-out ${fanout}: ${delivered}/${result.expected} deliveries (${((100 * push.length) / Math.max(1, delivered)).toFixed(1)}% push), ` +
        `p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, max ${result.max.toFixed(0)} ms; ` +
        `${result.cpuPerDeliveryUs.toFixed(0)} µs CPU per delivery; loop delay p99 ${result.loopP99Ms.toFixed(0)} ms, ` +
        `max ${result.loopMaxMs.toFixed(0)} ms; GC max ${result.gcMaxMs.toFixed(0)} ms, ${result.gcMsPerSec.toFixed(0)} ms/s`,
    );
    return result;
  }
}

/**
 * Publishes `rate × durationMs` messages (ids from `firstId`) from random peers at an even pace,
 * then waits until every peer has every one of them.
 */
async function publishAndWait(
  all: <T>(cmd: string, args?: (w: number) => unknown) => Promise<T[]>,
  W: number,
  N: number,
  config: ClusterConfig & { readonly rate: number },
  durationMs: number,
  firstId: number,
): Promise<{ messages: number; complete: boolean; publishMs: number }> {
  const rate = config.rate;
  const messages = messagesIn(rate, durationMs);
  const plans: Array<Array<{ id: number; peer: number; atMs: number }>> = Array.from({ length: W }, () => []);
  for (let k = 0; k < messages; k++) {
    const origin = Math.floor(Math.random() * N);
    plans[origin % W]!.push({ id: firstId + k, peer: Math.floor(origin / W), atMs: (k * 1000) / rate });
  }
  const start = now();
  await all('cluster-publish', (w) => ({ plan: plans[w], size: config.payloadSize }));
  const publishMs = now() - start;
  const outcomes = await all<{ complete: boolean; missing: number }>('cluster-expect', () => ({
    expected: messages,
    timeoutMs: config.settleTimeoutMs,
  }));
  const missing = outcomes.reduce((s, o) => s + o.missing, 0);
  if (missing > 0) log(`cluster: ${missing} deliveries missing after ${config.settleTimeoutMs} ms`);
  return { messages, complete: missing === 0, publishMs };
}

function sumCounts(counts: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of counts) for (const [k, v] of Object.entries(c)) out[k] = (out[k] ?? 0) + v;
  return out;
}
