/**
 * The gossip peers a bench worker holds for the cluster scenario (scenario-cluster.ts): one comm,
 * membership, push and pull per peer, as an application builds them from lib/gossip, and a record
 * of every delivery (latency from its publication, push or pull). Driven by worker.ts commands.
 */
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import {
  createComm,
  createMembership,
  createPull,
  createPush,
  loadPeerDir,
  MessageStore,
  type Comm,
  type Membership,
  type Pull,
  type Push,
} from './rxgossip.js';

/** Gossip timings of the cluster (Fabric's core.yaml names in the options' docs). */
export interface ClusterTimings {
  readonly aliveIntervalMs: number;
  readonly aliveExpirationMs: number;
  readonly pullIntervalMs: number;
}

interface Peer {
  readonly comm: Comm;
  membership?: Membership;
  store?: MessageStore;
  push?: Push;
  pull?: Pull;
  /** Ids of the messages delivered here (push or pull), to tell when all arrived. */
  readonly seen: Set<number>;
  /** Ids this peer published (not delivered back to it). */
  readonly own: Set<number>;
}

/**
 * How long this worker's event loop was held up (a message waits behind whatever runs before it):
 * the gaps between ticks of a 10 ms timer (10 ms on an idle loop); and how long V8 paused for
 * garbage collection. Since the last reset; started by clusterStart and stopped by clusterStop, so
 * that only the cluster's workers run them.
 */
let loopDelay: IntervalHistogram | undefined;
let gcObserver: PerformanceObserver | undefined;
let gcPauses = { totalMs: 0, maxMs: 0 };

function startMonitors(): void {
  stopMonitors();
  loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcPauses.totalMs += entry.duration;
      gcPauses.maxMs = Math.max(gcPauses.maxMs, entry.duration);
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
}

function stopMonitors(): void {
  loopDelay?.disable();
  gcObserver?.disconnect();
  loopDelay = undefined;
  gcObserver = undefined;
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
const wallNow = (): number => performance.timeOrigin + performance.now();

/** The data of message `id`: its id and publication time, padded to `size` bytes. */
function encodeData(id: number, size: number): Buffer {
  const data = Buffer.alloc(Math.max(16, size));
  data.writeUInt32BE(id, 0);
  data.writeDoubleBE(wallNow(), 8);
  return data;
}

const peers: Peer[] = [];
/** Handshake failures by reason (addresses and ids left out), since start. */
const failures = new Map<string, number>();
/** Latencies (ms) of deliveries by push and by pull, in arrival order. */
let pushLatencies: number[] = [];
let pullLatencies: number[] = [];
let waiter: { expected: number; resolve(): void } | undefined;
/** Ids of the messages being measured: deliveries of others (stragglers of a warm-up) are not counted. */
let window = { first: 0, count: Number.MAX_SAFE_INTEGER };

function delivered(peer: Peer, data: Uint8Array, by: 'push' | 'pull'): void {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.length < 16) return;
  const id = bytes.readUInt32BE(0);
  const latency = wallNow() - bytes.readDoubleBE(8);
  if (id < window.first || id >= window.first + window.count || peer.seen.has(id)) return;
  peer.seen.add(id);
  (by === 'push' ? pushLatencies : pullLatencies).push(latency);
  if (waiter && complete(waiter.expected)) {
    const w = waiter;
    waiter = undefined;
    w.resolve();
  }
}

function complete(expected: number): boolean {
  return peers.every((p) => p.seen.size + p.own.size >= expected);
}

/** Creates a listening comm per peer directory; returns their endpoints. */
export async function clusterStart(dirs: string[]): Promise<Array<{ endpoint: string; pkiIdHex: string }>> {
  startMonitors();
  const selves = await Promise.all(dirs.map((dir) => loadPeerDir(dir)));
  const comms = await Promise.all(
    // Every peer dials every other at once on 2 shared cores: far more patient dials than one
    // peer per machine needs, or the start-up storm turns into failed dials and flapping views.
    selves.map((self) =>
      createComm({
        self,
        listen: '127.0.0.1:0',
        dialTimeoutMs: 120_000,
        pingTimeoutMs: 120_000,
        connTimeoutMs: 120_000,
        handshakeTimeoutMs: 180_000,
      }),
    ),
  );
  for (const comm of comms) {
    peers.push({ comm, seen: new Set(), own: new Set() });
    comm.handshakeFailures$.subscribe((f) => {
      const reason = f.error.message.replace(/[0-9a-f]{16,}|127\.0\.0\.1:\d+|\d+ ms/g, '…').slice(0, 80);
      failures.set(reason, (failures.get(reason) ?? 0) + 1);
    });
  }
  return comms.map((comm) => ({ endpoint: comm.endpoint, pkiIdHex: comm.getPKIid().toString('hex') }));
}

/**
 * Starts membership, push and pull on every peer, bootstrapping from `bootstrap`, one peer every
 * `spacingMs` (peers join a network one by one, not all in the same millisecond).
 */
export async function clusterJoin(args: {
  dirs: string[];
  bootstrap: string[];
  timings: ClusterTimings;
  fanout: number;
  spacingMs: number;
}): Promise<void> {
  const selves = await Promise.all(args.dirs.map((dir) => loadPeerDir(dir)));
  for (const [i, peer] of peers.entries()) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, args.spacingMs));
    const self = selves[i]!;
    const { comm } = peer;
    const membership = createMembership(comm, {
      self,
      bootstrap: args.bootstrap.filter((endpoint) => endpoint !== comm.endpoint),
      aliveIntervalMs: args.timings.aliveIntervalMs,
      aliveExpirationMs: args.timings.aliveExpirationMs,
    });
    const store = new MessageStore({ capacity: 100_000 });
    const pull = createPull(comm, membership, { store, pullIntervalMs: args.timings.pullIntervalMs });
    pull.delivered$.subscribe((d) => delivered(peer, d.data, 'pull'));
    Object.assign(peer, { membership, pull, store });
    startPush(peer, args.fanout);
  }
}

function startPush(peer: Peer, fanout: number): void {
  peer.push?.stop();
  const push = createPush(peer.comm, peer.membership!, { store: peer.store!, fanout });
  push.delivered$.subscribe((d) => delivered(peer, d.data, 'push'));
  peer.push = push;
}

/** Restarts push on every peer with another fan-out (same stores, same membership). */
export function clusterFanout(fanout: number): void {
  for (const peer of peers) startPush(peer, fanout);
}

/** Fewest and most alive members seen by a local peer. */
export function clusterView(): { minAlive: number; maxAlive: number } {
  const alive = peers.map((p) => p.membership?.view().alive.length ?? 0);
  return { minAlive: Math.min(...alive), maxAlive: Math.max(...alive) };
}

/**
 * Publishes the given messages, each from its local peer at its time (ms after now), with data
 * of `size` bytes. Resolves when the last is published.
 */
export function clusterPublish(args: { plan: Array<{ id: number; peer: number; atMs: number }>; size: number }): Promise<number> {
  const start = performance.now();
  const plan = [...args.plan].sort((a, b) => a.atMs - b.atMs);
  let next = 0;
  return new Promise((resolve) => {
    const tick = (): void => {
      const elapsed = performance.now() - start;
      while (next < plan.length && plan[next]!.atMs <= elapsed) {
        const { id, peer } = plan[next++]!;
        const p = peers[peer]!;
        p.own.add(id);
        p.push!.publish(encodeData(id, args.size));
      }
      if (next < plan.length) {
        setTimeout(tick, Math.max(0, Math.min(5, plan[next]!.atMs - (performance.now() - start))));
      } else {
        resolve(plan.length);
      }
    };
    tick();
  });
}

/** Resolves once every local peer has `expected` messages (delivered or its own), or at the timeout. */
export function clusterExpect(args: { expected: number; timeoutMs: number }): Promise<{ complete: boolean; missing: number }> {
  const missing = (): number => peers.reduce((sum, p) => sum + Math.max(0, args.expected - p.seen.size - p.own.size), 0);
  if (complete(args.expected)) return Promise.resolve({ complete: true, missing: 0 });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiter = undefined;
      resolve({ complete: false, missing: missing() });
    }, args.timeoutMs);
    waiter = {
      expected: args.expected,
      resolve: () => {
        clearTimeout(timer);
        resolve({ complete: true, missing: 0 });
      },
    };
  });
}

/** The latencies recorded since the last reset, and the comms' drop counters. */
export function clusterResults(): {
  push: number[];
  pull: number[];
  drops: number;
  connections: number;
  failures: Record<string, number>;
  loop: { p99Ms: number; maxMs: number };
  gc: { totalMs: number; maxMs: number };
} {
  let drops = 0;
  let connections = 0;
  for (const p of peers) {
    const stats = p.comm.stats();
    drops += Object.values(stats.dropped).reduce((a, b) => a + b, 0);
    connections += stats.connections;
  }
  return {
    push: pushLatencies,
    pull: pullLatencies,
    drops,
    connections,
    failures: Object.fromEntries(failures),
    loop: { p99Ms: (loopDelay?.percentile(99) ?? NaN) / 1e6, maxMs: (loopDelay?.max ?? NaN) / 1e6 },
    gc: gcPauses,
  };
}

/** Forgets what was recorded; from now on only ids in [first, first + count) are counted. */
export function clusterReset(args: { first: number; count: number }): void {
  window = { first: args.first, count: args.count };
  pushLatencies = [];
  pullLatencies = [];
  loopDelay?.reset();
  gcPauses = { totalMs: 0, maxMs: 0 };
  for (const p of peers) {
    p.seen.clear();
    p.own.clear();
  }
}

export async function clusterStop(): Promise<void> {
  for (const p of peers) {
    p.push?.stop();
    p.pull?.stop();
    p.membership?.stop();
  }
  await Promise.all(peers.map((p) => p.comm.stop()));
  peers.length = 0;
  stopMonitors();
}
