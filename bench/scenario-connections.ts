/**
 * Scenario 3: connection scale. For each size N and repetition, a fresh server process
 * (`--expose-gc`) runs one comm; dialer processes hold N comm instances with distinct generated
 * identities, and each of them connects to the server (dial, TLS, Ping, GossipStream, ConnEstablish
 * both ways) by sending it one message. Measured on the server process:
 *
 * - handshakes per second: N / (time from the dial order to the N-th message counted by the server);
 * - RSS per live connection: (RSS after − RSS before) / N, both after a full GC, with one warm-up
 *   connection already open before the baseline (so one-time costs of the first TLS session are
 *   not charged to the others);
 * - CPU time per handshake of the server and of the dialers (process.cpuUsage()).
 *
 * The same is measured for raw grpc-js (mutual TLS, one connection per dial, one Envelope written
 * each way on a GossipStream, no gossip handshake) as the floor rxgossip builds on, twice: with the
 * calls Fabric's dialer opens on every new connection (a Ping, then the GossipStream: the baseline
 * of the targets) and with the GossipStream alone.
 */
import { join } from 'node:path';
import { log, now, sleep, summarize, Worker, type Summary } from './support.js';

export interface ConnectionsConfig {
  readonly sizes: readonly number[];
  readonly reps: number;
  readonly dialerWorkers: number;
  /** Concurrent dials per dialer process. */
  readonly concurrency: number;
  readonly serverDir: string;
  /** Dialer identities: at least max(sizes) + 1 (the last is the warm-up connection). */
  readonly dialerDirs: readonly string[];
}

export interface ConnectionsStats {
  /** KiB of RSS per live connection. */
  readonly rssPerConnKiB: Summary;
  /** KiB of V8 heap (used) per live connection. */
  readonly heapPerConnKiB: Summary;
  readonly handshakesPerSec: Summary;
  /** CPU time per handshake spent by the server process, in ms. */
  readonly serverCpuMs: Summary;
  /** CPU time per handshake spent by the dialer processes together, in ms. */
  readonly dialerCpuMs: Summary;
  readonly failures: number;
  readonly errors: string[];
  /** The same peers dialing again after closing (absent for the stream-only baseline). */
  readonly reconnect?: {
    readonly handshakesPerSec: Summary;
    readonly serverCpuMs: Summary;
    readonly dialerCpuMs: Summary;
    readonly failures: number;
  };
}

export interface ConnectionsRow {
  readonly connections: number;
  readonly rx: ConnectionsStats;
  /** Raw grpc-js opening what Fabric's dialer opens: a Ping, then the GossipStream. */
  readonly raw: ConnectionsStats;
  /** Raw grpc-js opening the GossipStream alone. */
  readonly rawStream: ConnectionsStats;
}

interface DialResult {
  ok: number;
  failed: number;
  errors: string[];
  ms: number;
}

interface Round {
  rate?: number;
  serverCpuMs: number;
  dialerCpuMs: number;
  failed: number;
  errors: string[];
}

interface Once extends Round {
  rssKiB?: number;
  heapKiB?: number;
  live: number;
  /** The same peers dialing again after closing: the server has seen them. */
  reconnect?: Round;
}

type Kind = 'rx' | 'raw' | 'rawStream';
const KINDS: readonly Kind[] = ['rx', 'raw', 'rawStream'];

export async function runConnections(config: ConnectionsConfig): Promise<ConnectionsRow[]> {
  const maxN = Math.max(...config.sizes);
  const W = config.dialerWorkers;
  if (config.dialerDirs.length < maxN + 1) throw new Error(`connections: need ${maxN + 1} dialer identities`);
  const dialers = Array.from({ length: W }, (_, i) => new Worker(`conn-dialer-${i}`));
  try {
    // Dialer i lives in worker i % W at index floor(i / W); the warm-up dialer is the last one.
    const dirs = config.dialerDirs.slice(0, maxN + 1);
    log(`connections: starting ${dirs.length} dialer comms in ${W} processes`);
    const t0 = now();
    await Promise.all(dialers.map((d, w) => d.request('rx-start', { dirs: dirs.filter((_, i) => i % W === w) })));
    log(`connections: dialers ready in ${((now() - t0) / 1000).toFixed(1)} s`);
    const ctx: Context = { config, dialers, warmupIndex: maxN };

    const rows: ConnectionsRow[] = [];
    for (const n of config.sizes) {
      const results: Record<Kind, Once[]> = { rx: [], raw: [], rawStream: [] };
      for (let rep = 0; rep < config.reps; rep++) {
        for (const kind of KINDS) {
          const once = await measureOnce(ctx, kind, n, rep);
          results[kind].push(once);
          log(
            `  ${kind.padEnd(9)} ${n} connections, rep ${rep + 1}/${config.reps}: ${once.rate?.toFixed(0) ?? 'n/a'} handshakes/s, ` +
              `${once.rssKiB?.toFixed(1) ?? 'n/a'} KiB RSS/conn (${once.live} live, ${once.failed} failed); ` +
              `CPU/handshake: server ${once.serverCpuMs.toFixed(2)} ms, dialers ${once.dialerCpuMs.toFixed(2)} ms` +
              (once.reconnect
                ? `; again: ${once.reconnect.rate?.toFixed(0) ?? 'n/a'} handshakes/s, server ${once.reconnect.serverCpuMs.toFixed(2)} ms, ` +
                  `dialers ${once.reconnect.dialerCpuMs.toFixed(2)} ms (${once.reconnect.failed} failed)`
                : ''),
          );
        }
      }
      rows.push({
        connections: n,
        rx: summarizeRuns(results.rx),
        raw: summarizeRuns(results.raw),
        rawStream: summarizeRuns(results.rawStream),
      });
    }
    return rows;
  } finally {
    await Promise.all(dialers.map((d) => d.shutdown()));
  }
}

interface Context {
  readonly config: ConnectionsConfig;
  readonly dialers: readonly Worker[];
  readonly warmupIndex: number;
}

async function measureOnce(ctx: Context, kind: Kind, n: number, rep: number): Promise<Once> {
  const { config, dialers } = ctx;
  const W = dialers.length;
  const server = new Worker(`conn-server-${kind}-${n}-${rep}`, { exposeGc: true });
  try {
    let target: { endpoint: string; pkiIdHex?: string };
    if (kind === 'rx') {
      const [remote] = await server.request<Array<{ endpoint: string; pkiIdHex: string }>>('rx-start', {
        dirs: [config.serverDir],
      });
      target = remote!;
    } else {
      target = await server.request<{ endpoint: string }>('raw-start', { dir: config.serverDir });
    }
    // The raw server answers each stream's envelope, so that both sides of every raw connection
    // have written, as in the gossip handshake.
    await server.request('mode', { mode: kind === 'rx' ? 'count' : 'both' });
    const dial = (worker: Worker, indices: number[], concurrency: number): Promise<DialResult> =>
      kind === 'rx'
        ? worker.request<DialResult>('dial', { ...target, indices, concurrency })
        : worker.request<DialResult>('raw-dial', {
            endpoint: target.endpoint,
            dir: config.dialerDirs[0],
            count: indices.length,
            concurrency,
            ping: kind === 'raw',
          });

    // One connection first, then the baseline.
    const warm = ctx.warmupIndex;
    await dial(dialers[warm % W]!, [Math.floor(warm / W)], 1);
    await server.request('expect', { target: kind === 'rx' ? 'rx' : 'raw', indices: [0], perComm: 1 });
    await sleep(200);
    const before = await server.request<NodeJS.MemoryUsage>('mem');

    const cpu = (): Promise<NodeJS.CpuUsage[]> => Promise.all([server, ...dialers].map((w) => w.request<NodeJS.CpuUsage>('cpu')));
    /** All n dialed at once: the rate, and the CPU per handshake of the server and of the dialers. */
    const round = async (label: string): Promise<Round> => {
      // BENCH_PROFILE_DIR=dir: CPU profiles of the server and the dialers while they handshake.
      const profileDir = process.env.BENCH_PROFILE_DIR;
      const profiled = [server, ...dialers];
      if (profileDir) await Promise.all(profiled.map((w) => w.request('profile-start')));
      await server.request('reset');
      const cpuBefore = await cpu();
      const start = now();
      const counted = server.request('expect', { target: kind === 'rx' ? 'rx' : 'raw', indices: [0], perComm: n });
      const results = await Promise.all(
        dialers.map((d, w) => {
          const indices: number[] = [];
          for (let i = w; i < n; i += W) indices.push(Math.floor(i / W));
          return dial(d, indices, config.concurrency);
        }),
      );
      const failed = results.reduce((sum, r) => sum + r.failed, 0);
      const errors = results.flatMap((r) => r.errors).slice(0, 5);
      let rate: number | undefined;
      if (failed === 0) {
        await counted;
        rate = n / ((now() - start) / 1000);
      }
      const cpuAfter = await cpu();
      if (profileDir) {
        await Promise.all(
          profiled.map((w, i) =>
            w.request('profile-stop', {
              file: join(profileDir, `${kind}-${n}-${rep}-${label}-${i === 0 ? 'server' : `dialer${i - 1}`}.cpuprofile`),
            }),
          ),
        );
      }
      const cpuMs = cpuAfter.map((c, i) => (c.user + c.system - cpuBefore[i]!.user - cpuBefore[i]!.system) / 1000);
      return {
        serverCpuMs: cpuMs[0]! / n,
        dialerCpuMs: cpuMs.slice(1).reduce((a, b) => a + b, 0) / n,
        failed,
        errors,
        ...(rate !== undefined ? { rate } : {}),
      };
    };

    const first = await round('first');
    await sleep(500);
    const live = await server.request<number>('connections');
    const after = await server.request<NodeJS.MemoryUsage>('mem');
    // The warm-up connection is in the baseline already.
    const conns = live - 1;

    // The same dialers again, once every connection is gone: a server that has seen these peers
    // (rxgossip: its MSP cache knows their identities). Not for the stream-only baseline.
    let reconnect: Round | undefined;
    if (kind !== 'rawStream' && first.failed === 0) {
      if (kind === 'rx') await Promise.all(dialers.map((d) => d.request('close-peer', target)));
      else await Promise.all(dialers.map((d) => d.request('raw-close')));
      await server.request('wait-connections', { atMost: 0, timeoutMs: 15_000 });
      // Streams are counted; their sockets close just after: let that finish outside the round.
      await sleep(1_000);
      reconnect = await round('again');
    }
    const once: Once = {
      ...first,
      live,
      ...(reconnect ? { reconnect } : {}),
      ...(conns > 0
        ? { rssKiB: (after.rss - before.rss) / conns / 1024, heapKiB: (after.heapUsed - before.heapUsed) / conns / 1024 }
        : {}),
    };

    // Close every connection and wait until the dialers saw it, so that the next server (same
    // identity, new port) is dialed afresh.
    if (kind === 'rx') {
      await server.request('stop-comms');
      await Promise.all(dialers.map((d) => d.request('wait-connections', { atMost: 0, timeoutMs: 15_000 })));
    } else {
      await Promise.all(dialers.map((d) => d.request('raw-close')));
    }
    return once;
  } finally {
    await server.shutdown();
  }
}

function summarizeRuns(runs: readonly Once[]): ConnectionsStats {
  const values = (pick: (o: Once) => number | undefined): number[] =>
    runs.map(pick).filter((v): v is number => v !== undefined);
  return {
    rssPerConnKiB: summarize(values((o) => o.rssKiB)),
    heapPerConnKiB: summarize(values((o) => o.heapKiB)),
    handshakesPerSec: summarize(values((o) => o.rate)),
    serverCpuMs: summarize(values((o) => o.serverCpuMs)),
    dialerCpuMs: summarize(values((o) => o.dialerCpuMs)),
    failures: runs.reduce((sum, o) => sum + o.failed, 0),
    errors: runs.flatMap((o) => [...o.errors, ...(o.reconnect?.errors ?? [])]).slice(0, 5),
    ...(runs.some((o) => o.reconnect)
      ? {
          reconnect: {
            handshakesPerSec: summarize(values((o) => o.reconnect?.rate)),
            serverCpuMs: summarize(values((o) => o.reconnect?.serverCpuMs)),
            dialerCpuMs: summarize(values((o) => o.reconnect?.dialerCpuMs)),
            failures: runs.reduce((sum, o) => sum + (o.reconnect?.failed ?? 0), 0),
          },
        }
      : {}),
  };
}
