/**
 * `npm run bench [-- --quick] [-- --out FILE] [-- --only throughput,app,fanout,connections]`
 *
 * Runs the comm benchmarks (see the scenario files), prints markdown tables on stdout (progress
 * goes to stderr) and writes them, with the environment they ran in, to bench/RESULTS.md (a full
 * run) or bench/RESULTS.quick.md (`--quick`, not committed: the committed file stays a full run).
 * Every child process is killed when this one exits, however it exits.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_SOURCE, generateOrg } from './rxgossip.js';
import { runAppPath, type AppPathResult } from './scenario-app-path.js';
import { runAcceptSteps, type AcceptStep } from './scenario-accept-steps.js';
import { runCluster, type ClusterRun } from './scenario-cluster.js';
import { runConnections, type ConnectionsRow, type ConnectionsStats } from './scenario-connections.js';
import { runFanout, type FanoutRow } from './scenario-fanout.js';
import { pushSection, pushTargets, runPush, type PushResult } from './scenario-push.js';
import { runThroughput, type ThroughputResult } from './scenario-throughput.js';
import {
  BENCH_DIR,
  fmtBytes,
  fmtNum,
  fmtRatio,
  fmtSummary,
  installCleanup,
  LoadMonitor,
  log,
  markdownTable,
  now,
  ROOT_DIR,
  type ForeignLoad,
  type Summary,
} from './support.js';

const SCENARIOS = ['throughput', 'app', 'fanout', 'connections', 'push', 'cluster'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    only: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (flags.help) {
  process.stdout.write(
    `usage: npm run bench [-- --quick] [-- --out FILE] [-- --only ${SCENARIOS.join(',')}]\n` +
      '  --quick   smaller and fewer runs (a few minutes)\n' +
      '  --out     where to write the markdown (default bench/RESULTS.md, with --quick bench/RESULTS.quick.md)\n' +
      '  --only    run only these scenarios\n',
  );
  process.exit(0);
}

const quick = flags.quick === true;
const only = new Set<Scenario>(
  flags.only === undefined
    ? SCENARIOS
    : flags.only.split(',').map((s) => {
        if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`--only: unknown scenario ${s}`);
        return s as Scenario;
      }),
);
// A quick run must not replace the committed results of a full one.
const outFile = flags.out ?? join(BENCH_DIR, quick ? 'RESULTS.quick.md' : 'RESULTS.md');

/** The cluster scenario's gossip settings: Fabric's defaults, and a fan-out of 6 beside the default 3. */
const CLUSTER = {
  payloadSize: 1024,
  timings: { aliveIntervalMs: 5_000, aliveExpirationMs: 25_000, pullIntervalMs: 4_000 },
  convergeTimeoutMs: 300_000,
  settleTimeoutMs: 30_000,
} as const;

/** Sizes, counts and durations of one run. */
const plan = quick
  ? {
      throughput: { payloadSizes: [100, 1024, 10 * 1024], reps: 1, durationMs: 600, rttSamples: 1_000, inFlight: 16, sendAsyncWindow: 200 },
      app: { payloadSize: 1024, reps: 2, durationMs: 800, inFlight: 16 },
      fanout: { peerCounts: [10, 50], reps: 1, durationMs: 600, payloadSize: 1024, workers: 2 },
      connections: { sizes: [100, 250], reps: 1, dialerWorkers: 2, concurrency: 16 },
      push: { reps: 1, durationMs: 1_000, payloadSize: 1024, rttSamples: 200, cryptoMs: 500 },
      cluster: { ...CLUSTER, peers: 30, workers: 2, runs: [{ fanout: 3, rate: 30 }, { fanout: 6, rate: 30 }], durationMs: 3_000, minMessages: 30, joinSpacingMs: 200 },
    }
  : {
      throughput: { payloadSizes: [100, 1024, 10 * 1024], reps: 5, durationMs: 2_000, rttSamples: 5_000, inFlight: 16, sendAsyncWindow: 200 },
      app: { payloadSize: 1024, reps: 6, durationMs: 2_000, inFlight: 16 },
      fanout: { peerCounts: [10, 50, 100], reps: 3, durationMs: 2_000, payloadSize: 1024, workers: 4 },
      connections: { sizes: [100, 500, 1_000], reps: 3, dialerWorkers: 2, concurrency: 16 },
      push: { reps: 3, durationMs: 2_000, payloadSize: 1024, rttSamples: 500, cryptoMs: 1_000 },
      // Fabric's fan-out and a doubled one at 10 messages/s, then the doubled one at 3 and at 1
      // message/s: whether the latency follows the publish rate or the cluster's own traffic.
      cluster: {
        ...CLUSTER,
        peers: 100,
        workers: 4,
        runs: [
          { fanout: 3, rate: 10 },
          { fanout: 6, rate: 10 },
          { fanout: 6, rate: 3 },
          { fanout: 6, rate: 1 },
        ],
        durationMs: 10_000,
        // At 1 message/s: 30 s, so that p99 is not decided by one unlucky message.
        minMessages: 30,
        joinSpacingMs: 300,
      },
    };

const TARGETS = {
  echoRatio: 0.9,
  /** Issue 11: the application path, against raw grpc-js doing the same protobuf work. */
  appRatio: 0.9,
  appStretchRatio: 1.0,
  p99Ratio: 1.2,
  rssPerConnKiB: 64,
  handshakesPerSec: 500,
  clusterP99Ms: 250,
  /** Issue 11, against raw grpc-js in the same run: handshakes/s, server CPU per handshake, RSS per connection. */
  handshakeRatio: 0.9,
  serverCpuRatio: 1.2,
  rssRatio: 1.15,
} as const;

const tmp = mkdtempSync(join(tmpdir(), 'rxgossip-bench-'));
installCleanup(() => rmSync(tmp, { recursive: true, force: true }));

async function main(): Promise<void> {
  const started = now();
  const startedAt = new Date();
  const cores = availableParallelism();
  const loadAtStart = loadavg()[0]!;
  const monitor = new LoadMonitor(cores);

  // Identities: peer0 sends / serves; peer1.. receive and dial (one more for the warm-up dial).
  const maxPeers = Math.max(
    only.has('throughput') || only.has('app') || only.has('push') ? 1 : 0,
    only.has('fanout') ? Math.max(...plan.fanout.peerCounts) : 0,
    only.has('connections') ? Math.max(...plan.connections.sizes) + 1 : 0,
    only.has('cluster') ? plan.cluster.peers : 0,
  );
  log(`generating ${maxPeers + 1} peer identities in ${tmp}`);
  const org = await generateOrg({ outDir: join(tmp, 'org'), peers: maxPeers + 1 });
  const dirs = org.peers.map((p) => p.dir);
  const [hub, ...others] = dirs;

  let throughput: ThroughputResult | undefined;
  let app: AppPathResult | undefined;
  let fanout: FanoutRow[] | undefined;
  let connections: ConnectionsRow[] | undefined;
  let push: PushResult | undefined;
  let acceptSteps: AcceptStep[] | undefined;
  let cluster: ClusterRun | undefined;
  const load: Partial<Record<Scenario, ForeignLoad | undefined>> = {};
  if (only.has('throughput')) {
    monitor.start();
    throughput = await runThroughput({ ...plan.throughput, senderDir: hub!, receiverDir: others[0]! });
    load.throughput = monitor.stop();
  }
  if (only.has('app')) {
    monitor.start();
    app = await runAppPath({ ...plan.app, senderDir: hub!, receiverDir: others[0]! });
    load.app = monitor.stop();
  }
  if (only.has('fanout')) {
    monitor.start();
    fanout = await runFanout({ ...plan.fanout, senderDir: hub!, receiverDirs: others });
    load.fanout = monitor.stop();
  }
  if (only.has('connections')) {
    monitor.start();
    connections = await runConnections({ ...plan.connections, serverDir: hub!, dialerDirs: others });
    acceptSteps = await runAcceptSteps({ serverDir: hub!, dialerDirs: others.slice(0, Math.max(...plan.connections.sizes)) });
    load.connections = monitor.stop();
  }
  if (only.has('push')) {
    monitor.start();
    push = await runPush({ ...plan.push, senderDir: hub!, receiverDir: others[0]! });
    load.push = monitor.stop();
  }

  if (only.has('cluster')) {
    monitor.start();
    cluster = await runCluster({ ...plan.cluster, dirs });
    load.cluster = monitor.stop();
  }

  const elapsed = (now() - started) / 1000;
  const markdown = render({ startedAt, elapsed, cores, loadAtStart, throughput, app, fanout, connections, push, acceptSteps, cluster, load });
  process.stdout.write(`\n${markdown}\n`);
  writeFileSync(outFile, markdown);
  log(`wrote ${relative(process.cwd(), outFile)} (${elapsed.toFixed(0)} s)`);
}

// ---------------------------------------------------------------------------------------------
// Rendering

interface Results {
  startedAt: Date;
  elapsed: number;
  cores: number;
  loadAtStart: number;
  throughput: ThroughputResult | undefined;
  app: AppPathResult | undefined;
  fanout: FanoutRow[] | undefined;
  connections: ConnectionsRow[] | undefined;
  push?: PushResult | undefined;
  acceptSteps: AcceptStep[] | undefined;
  cluster: ClusterRun | undefined;
  load: Partial<Record<Scenario, ForeignLoad | undefined>>;
}

const ratio = (a: Summary, b: Summary): number => a.median / b.median;
const yesNo = (met: boolean | undefined): string => (met === undefined ? 'n/a' : met ? '**yes**' : '**no**');

function render(r: Results): string {
  const out: string[] = [];
  out.push('# rxgossip benchmark results', '');
  out.push(...environment(r), '');
  out.push(
    `Each cell is the median of the repetitions with the spread (min–max) in parentheses. ` +
      `Everything runs on 127.0.0.1 with mutual TLS; sender and receivers are separate processes ` +
      `sharing the machine's ${r.cores} cores.`,
    '',
  );
  if (r.throughput) out.push(...throughputSection(r.throughput, r.load.throughput), '');
  if (r.app) out.push(...appSection(r.app, r.load.app), '');
  if (r.fanout) out.push(...fanoutSection(r.fanout, r.load.fanout), '');
  if (r.connections) out.push(...connectionsSection(r.connections, r.load.connections), '');
  if (r.push) out.push(...pushSection(r.push, plan.push.reps, plan.push.durationMs, loadNote(r.load.push)), '');
  if (r.acceptSteps) out.push(...acceptStepsSection(r.acceptSteps), '');
  if (r.cluster) out.push(...clusterSection(r.cluster, r.load.cluster), '');
  out.push(...targetsSection(r), '');
  out.push(...methodSection(), '');
  return out.join('\n');
}

function environment(r: Results): string[] {
  const pkg = (name: string): string => {
    try {
      const file = name === 'rxgossip' ? join(ROOT_DIR, 'package.json') : join(ROOT_DIR, 'node_modules', name, 'package.json');
      return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    } catch {
      return '?';
    }
  };
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT_DIR, encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return [
    `- Date: ${r.startedAt.toISOString()} (took ${r.elapsed.toFixed(0)} s, mode: ${quick ? '`--quick`' : 'full'})`,
    `- Machine: ${r.cores} cores (${model}), Linux ${release()}; 1-min load average at start ${r.loadAtStart.toFixed(2)}`,
    `- Node ${process.version}; rxgossip ${pkg('rxgossip')} (commit ${commit}, ${BENCH_SOURCE === 'dist' ? 'compiled dist/' : 'sources through tsx'}), @grpc/grpc-js ${pkg('@grpc/grpc-js')}, ` +
      `rxjs ${pkg('rxjs')}, protobufjs ${pkg('protobufjs')}, tsx ${pkg('tsx')}`,
  ];
}

function loadNote(load: ForeignLoad | undefined): string[] {
  if (!load) return [];
  const pct = (load.share * 100).toFixed(0);
  const warn = load.share > 0.1 ? ' **The machine was shared: treat these numbers with care.**' : '';
  return ['', `Other processes used ${load.coreSeconds.toFixed(1)} core-seconds (${pct}% of the machine) during this scenario.${warn}`];
}

function throughputSection(t: ThroughputResult, load: ForeignLoad | undefined): string[] {
  const rows: string[][] = [];
  for (const p of t.payloads) {
    const size = fmtBytes(p.size);
    rows.push([size, 'echo, 16 in flight (round trips/s)', fmtSummary(p.echo.rx), fmtSummary(p.echo.raw), fmtRatio(ratio(p.echo.rx, p.echo.raw))]);
    rows.push([size, 'round trip p50 (µs)', fmtSummary(p.rttP50.rx), fmtSummary(p.rttP50.raw), fmtRatio(ratio(p.rttP50.rx, p.rttP50.raw))]);
    rows.push([size, 'round trip p99 (µs)', fmtSummary(p.rttP99.rx), fmtSummary(p.rttP99.raw), fmtRatio(ratio(p.rttP99.rx, p.rttP99.raw))]);
    rows.push([size, 'one-way, sendAsync (msgs/s)', fmtSummary(p.oneWay.rxAsync), fmtSummary(p.oneWay.raw), fmtRatio(ratio(p.oneWay.rxAsync, p.oneWay.raw))]);
    rows.push([size, 'one-way, send paced (msgs/s)', fmtSummary(p.oneWay.rxPaced), fmtSummary(p.oneWay.raw), fmtRatio(ratio(p.oneWay.rxPaced, p.oneWay.raw))]);
    rows.push([size, 'CPU per echo round trip (µs)', fmtSummary(p.echoCpu.rx), fmtSummary(p.echoCpu.raw), fmtRatio(ratio(p.echoCpu.rx, p.echoCpu.raw))]);
    rows.push([size, 'CPU per one-way msg, sendAsync (µs)', fmtSummary(p.oneWayCpu.rxAsync), fmtSummary(p.oneWayCpu.raw), fmtRatio(ratio(p.oneWayCpu.rxAsync, p.oneWayCpu.raw))]);
    rows.push([size, 'CPU per one-way msg, send paced (µs)', fmtSummary(p.oneWayCpu.rxPaced), fmtSummary(p.oneWayCpu.raw), fmtRatio(ratio(p.oneWayCpu.rxPaced, p.oneWayCpu.raw))]);
  }
  const drops = t.payloads.reduce((sum, p) => sum + p.oneWayDrops, 0);
  return [
    '## 1. One connection, mutual TLS, two processes',
    '',
    markdownTable(['Payload', 'Measure', 'rxgossip', 'raw grpc-js', 'rxgossip/raw'], rows, [false, false, true, true, true]),
    '',
    `Payload = DataMessage payload data bytes (the Envelope is 12–16 bytes larger). ` +
      `One-way: "sendAsync" keeps ${plan.throughput.sendAsyncWindow} sendAsync() calls outstanding; "send paced" calls send() ` +
      `while the connection's queue holds fewer than 150 messages and resumes when queueDepth$ is down to 50; ` +
      `raw writes until write() returns false and resumes on 'drain'. ` +
      `CPU = user + system time of both processes (sender and receiver) per message; it is less sensitive than the rates ` +
      `to what else runs on the machine. Messages dropped by rxgossip during the one-way runs: ${drops}.`,
    ...loadNote(load),
  ];
}

function appSection(a: AppPathResult, load: ForeignLoad | undefined): string[] {
  const size = fmtBytes(a.payloadSize);
  const rows = [
    [size, 'echo, 16 in flight (round trips/s)', fmtSummary(a.echo.rx), fmtSummary(a.echo.raw), fmtRatio(ratio(a.echo.rx, a.echo.raw))],
    [size, 'one-way, send paced (msgs/s)', fmtSummary(a.oneWay.rx), fmtSummary(a.oneWay.raw), fmtRatio(ratio(a.oneWay.rx, a.oneWay.raw))],
    [size, 'CPU per echo round trip (µs)', fmtSummary(a.echoCpu.rx), fmtSummary(a.echoCpu.raw), fmtRatio(ratio(a.echoCpu.rx, a.echoCpu.raw))],
    [size, 'CPU per one-way msg (µs)', fmtSummary(a.oneWayCpu.rx), fmtSummary(a.oneWayCpu.raw), fmtRatio(ratio(a.oneWayCpu.rx, a.oneWayCpu.raw))],
  ];
  const perRep = (ratios: readonly number[]): string => ratios.map((v) => v.toFixed(2)).join(', ');
  return [
    '## 1b. The application path: a message built per send, answered with respond(m.message)',
    '',
    markdownTable(['Payload', 'Measure', 'rxgossip', 'raw grpc-js', 'rxgossip/raw'], rows, [false, false, true, true, true]),
    '',
    `The client builds a fresh GossipMessage (DataMessage) for every send() and decodes every answer; the server ` +
      `answers with respond(m.message), which encodes the message again. Raw grpc-js does the same protobuf work ` +
      `(protobufjs encode per write; decode of Envelope and GossipMessage per message received; the echo re-encodes ` +
      `both). One-way: send() paced by queueDepth$ as in section 1; the raw receiver decodes what it counts. ` +
      `rxgossip and raw alternate within each repetition, the order flipping every repetition. Ratios per ` +
      `repetition: echo ${perRep(a.echoRatios)}; one-way ${perRep(a.oneWayRatios)}. Messages dropped by rxgossip: ${a.drops}.`,
    ...loadNote(load),
  ];
}

function fanoutSection(rows: FanoutRow[], load: ForeignLoad | undefined): string[] {
  return [
    `## 2. Fan-out (${fmtBytes(plan.fanout.payloadSize)} payload)`,
    '',
    markdownTable(
      ['Peers', 'Delivered (msgs/s, all peers)', 'send() calls/s', 'Drops'],
      rows.map((r) => [String(r.peers), fmtSummary(r.delivered), fmtSummary(r.rounds), String(r.drops)]),
      [true, true, true, true],
    ),
    '',
    `One comm sends each message to all N peers with one send(message, ...peers) call, pausing while any ` +
      `connection's queue holds 150 or more messages (until all are down to 50). The peers are comm instances ` +
      `with their own generated identities, spread over ${Math.min(plan.fanout.workers, Math.max(...plan.fanout.peerCounts))} ` +
      `worker processes. Delivered = messages counted by the receivers per second, until the last one arrived.`,
    ...loadNote(load),
  ];
}

/** No measurement (n/a). */
const NONE: Summary = { median: NaN, min: NaN, max: NaN, n: 0 };

function connectionsSection(rows: ConnectionsRow[], load: ForeignLoad | undefined): string[] {
  const memory = rows.map((r) => [
    String(r.connections),
    fmtSummary(r.rx.rssPerConnKiB),
    fmtSummary(r.raw.rssPerConnKiB),
    fmtSummary(r.rawStream.rssPerConnKiB),
    fmtSummary(r.rx.heapPerConnKiB),
    fmtSummary(r.raw.heapPerConnKiB),
    fmtSummary(r.rawStream.heapPerConnKiB),
  ]);
  const handshakes = rows.map((r) => [
    String(r.connections),
    fmtSummary(r.rx.handshakesPerSec),
    fmtSummary(r.raw.handshakesPerSec),
    fmtSummary(r.rawStream.handshakesPerSec),
    fmtSummary(r.rx.serverCpuMs),
    fmtSummary(r.raw.serverCpuMs),
    fmtSummary(r.rawStream.serverCpuMs),
    fmtSummary(r.rx.dialerCpuMs),
    fmtSummary(r.raw.dialerCpuMs),
    fmtSummary(r.rawStream.dialerCpuMs),
    `${r.rx.failures} / ${r.raw.failures} / ${r.rawStream.failures}`,
  ]);
  const again = rows.map((r) => [
    String(r.connections),
    fmtSummary(r.rx.reconnect?.handshakesPerSec ?? NONE),
    fmtSummary(r.raw.reconnect?.handshakesPerSec ?? NONE),
    fmtSummary(r.rx.reconnect?.serverCpuMs ?? NONE),
    fmtSummary(r.raw.reconnect?.serverCpuMs ?? NONE),
    fmtSummary(r.rx.reconnect?.dialerCpuMs ?? NONE),
    fmtSummary(r.raw.reconnect?.dialerCpuMs ?? NONE),
    `${r.rx.reconnect?.failures ?? 'n/a'} / ${r.raw.reconnect?.failures ?? 'n/a'}`,
  ]);
  const errors = rows.flatMap((r) => [...r.rx.errors, ...r.raw.errors, ...r.rawStream.errors]);
  return [
    '## 3. Connection scale',
    '',
    'Memory of the server process per live connection (KiB, after a full GC):',
    '',
    markdownTable(
      ['Connections', 'RSS rxgossip', 'RSS raw', 'RSS raw, stream only', 'V8 heap rxgossip', 'V8 heap raw', 'V8 heap raw, stream only'],
      memory,
      [true, true, true, true, true, true, true],
    ),
    '',
    'Handshakes (all N dialed at once, 16 concurrent dials per dialer process) and CPU time per handshake (ms):',
    '',
    markdownTable(
      [
        'Connections',
        'Handshakes/s rxgossip',
        'Handshakes/s raw',
        'Handshakes/s raw, stream only',
        'Server CPU rxgossip',
        'Server CPU raw',
        'Server CPU raw, stream only',
        'Dialers CPU rxgossip',
        'Dialers CPU raw',
        'Dialers CPU raw, stream only',
        'Failures rx / raw / stream only',
      ],
      handshakes,
      [true, true, true, true, true, true, true, true, true, true, true],
    ),
    '',
    `The server is a fresh process per measurement; ${plan.connections.dialerWorkers} dialer processes hold one comm per ` +
      `connection (distinct generated identities) and connect by sending one message (dial, TLS, Ping, GossipStream, ` +
      `ConnEstablish both ways). Raw grpc-js: one channel per connection with the same certificates, opening the ` +
      `calls Fabric's dialer opens on every new connection (a Ping, then the GossipStream: "raw", the baseline of ` +
      `the targets) or the GossipStream alone ("stream only", the baseline of earlier runs), and one Envelope ` +
      `written each way on the stream. The dialers share the machine with the server, so handshakes/s is bounded by ` +
      `the CPU of both sides; 1000 / (server CPU per handshake) is what one server core could accept from remote dialers.`,
    '',
    'The same peers connecting again, once all their connections are closed (the same server process: it has seen ' +
      'these identities, and rxgossip validates them from its MSP cache instead of afresh, as a Fabric peer does):',
    '',
    markdownTable(
      [
        'Connections',
        'Handshakes/s rxgossip',
        'Handshakes/s raw',
        'Server CPU rxgossip',
        'Server CPU raw',
        'Dialers CPU rxgossip',
        'Dialers CPU raw',
        'Failures rx / raw',
      ],
      again,
      [true, true, true, true, true, true, true, true],
    ) +
      (errors.length > 0 ? `\n\nFirst errors: ${errors.map((e) => `\`${e}\``).join('; ')}` : ''),
    ...loadNote(load),
  ];
}

function acceptStepsSection(steps: AcceptStep[]): string[] {
  return [
    '### What the gossip handshake adds on the accepting side, step by step',
    '',
    markdownTable(['Step (per connection)', 'µs'], steps.map((s) => [s.step, fmtNum(s.micros)]), [false, true]),
    '',
    `Measured in the benchmark's own process, no network, over ${Math.max(...plan.connections.sizes)} distinct ` +
      `generated identities: checkConnEstablish (decode, PKI-ID, MSP validation, TLS binding, signature) for ` +
      `identities never seen (as every connection of section 3), then again for the same identities (a peer ` +
      `reconnecting: the MSP keeps a bounded cache of validated identities keyed by their bytes, honouring expiry). ` +
      `Indented rows are its parts. Raw grpc-js does none of this; TLS itself, also in both, is not in this table.`,
  ];
}

function clusterSection(run: ClusterRun, load: ForeignLoad | undefined): string[] {
  const c = plan.cluster;
  const rows = run.rows;
  const ms = (v: number): string => fmtNum(v);
  return [
    `## 4. A ${c.peers}-peer push cluster`,
    '',
    markdownTable(
      ['Fan-out', 'Published', 'Delivered / expected', 'By push', 'By pull', 'p50 (ms)', 'p90 (ms)', 'p99 (ms)', 'Push p99 (ms)', 'Max (ms)', 'CPU per delivery (µs)', 'Cores publishing', 'Cores idle', 'Loop delay p99 / max (ms)', 'GC pause max (ms)'],
      rows.map((r) => [
        String(r.fanout),
        `${r.messages} at ${fmtNum(r.publishedPerSec)}/s`,
        `${r.delivered} / ${r.expected}${r.complete ? '' : ' **(incomplete)**'}`,
        `${((100 * r.byPush) / Math.max(1, r.delivered)).toFixed(1)}%`,
        `${((100 * r.byPull) / Math.max(1, r.delivered)).toFixed(1)}%`,
        ms(r.p50),
        ms(r.p90),
        ms(r.p99),
        ms(r.pushP99),
        ms(r.max),
        fmtNum(r.cpuPerDeliveryUs),
        fmtNum(r.publishingCores),
        fmtNum(r.backgroundCores),
        `${ms(r.loopP99Ms)} / ${ms(r.loopMaxMs)}`,
        ms(r.gcMaxMs),
      ]),
      [true, true, true, true, true, true, true, true, true, true, true, true, true, true, true],
    ),
    '',
    `${c.peers} peers (comm + createMembership + createPush + createPull, each with its own generated identity, mutual ` +
      `TLS) spread over ${c.workers} worker processes, joining one every ${c.joinSpacingMs} ms per process with ` +
      `3 bootstrap peers; Fabric's timings (alive every ${c.timings.aliveIntervalMs / 1000} s, pull every ` +
      `${c.timings.pullIntervalMs / 1000} s; push sends each message at once, rxgossip's default, where Fabric's ` +
      `emitter waits up to 10 ms for a burst of 10). ` +
      (run.converged
        ? `Membership converged (every peer sees the ${c.peers - 1} others, connections steady) after ` +
          `${run.convergeSeconds.toFixed(0)} s, with ${run.connections} connection ends open. `
        : `**Membership did not converge within ${run.convergeSeconds.toFixed(0)} s** (a peer saw only ${run.minAlive} ` +
          `of ${c.peers - 1} others alive; ${run.connections} connection ends open): nothing was measured. `) +
      `Then, for each run (push restarted on the same cluster with its fan-out), ` +
      `1 s of warm-up and ${c.durationMs / 1000} s (at least ${c.minMessages} messages, so longer at low rates) of ` +
      `${fmtBytes(c.payloadSize)} messages published at the rate shown ` +
      `from peers chosen at random. Latency = publication to first delivery at a peer (push or pull), all peers; ` +
      `a push round reaches a peer with probability about 1 − e^−fanout, pull fetches the rest, within a pull ` +
      `interval or two: when more than 1% of deliveries come by pull (fan-out 3: about 5%), p99 is a pull latency, ` +
      `seconds by design; "Push p99" is that of push deliveries alone. CPU = all worker ` +
      `processes while publishing, per delivery; "Cores idle" = the cluster's own traffic (alive messages, pull ` +
      `rounds) over 2 s just before. "Loop delay" = the gap between ticks of a 10 ms timer in a worker (10 ms ` +
      `when its event loop is free; more when it is busy with other work, or the process waits for a core), ` +
      `over the idle 2 s and the run: the worst worker's p99 and the longest of all; "GC pause" = the longest garbage collection of any worker. ` +
      `Messages dropped by the comms: ${rows.map((r) => r.drops).join(' / ') || 'n/a'} ` +
      `(since start, dials of the start-up storm included); failed handshakes until convergence: ` +
      `${Object.entries(run.handshakeFailures).map(([k, v]) => `${v}× "${k}"`).join(', ') || 'none'}.`,
    ...loadNote(load),
  ];
}

function targetsSection(r: Results): string[] {
  const rows: string[][] = [];
  const kib = r.throughput?.payloads.find((p) => p.size === 1024);
  if (kib) {
    const echo = ratio(kib.echo.rx, kib.echo.raw);
    rows.push([`1 KiB echo ≥ ${TARGETS.echoRatio}× raw grpc-js msgs/s`, fmtRatio(echo), yesNo(echo >= TARGETS.echoRatio)]);
    const async = ratio(kib.oneWay.rxAsync, kib.oneWay.raw);
    rows.push([`1 KiB one-way (sendAsync) ≥ ${TARGETS.echoRatio}× raw msgs/s`, fmtRatio(async), yesNo(async >= TARGETS.echoRatio)]);
    const paced = ratio(kib.oneWay.rxPaced, kib.oneWay.raw);
    rows.push([`1 KiB one-way (send paced) ≥ ${TARGETS.echoRatio}× raw msgs/s`, fmtRatio(paced), yesNo(paced >= TARGETS.echoRatio)]);
  }
  if (r.app) {
    const size = fmtBytes(r.app.payloadSize);
    const echo = ratio(r.app.echo.rx, r.app.echo.raw);
    const oneWay = ratio(r.app.oneWay.rx, r.app.oneWay.raw);
    rows.push([`${size} app-path echo ≥ ${TARGETS.appRatio}× raw (stretch ${TARGETS.appStretchRatio}×)`, fmtRatio(echo), yesNo(echo >= TARGETS.appRatio) + (echo >= TARGETS.appStretchRatio ? ', stretch too' : '')]);
    rows.push([`${size} app-path one-way ≥ ${TARGETS.appRatio}× raw (stretch ${TARGETS.appStretchRatio}×)`, fmtRatio(oneWay), yesNo(oneWay >= TARGETS.appRatio) + (oneWay >= TARGETS.appStretchRatio ? ', stretch too' : '')]);
  }
  for (const p of r.throughput?.payloads ?? []) {
    const p99 = ratio(p.rttP99.rx, p.rttP99.raw);
    rows.push([`${fmtBytes(p.size)} round-trip p99 ≤ ${TARGETS.p99Ratio}× raw`, fmtRatio(p99), yesNo(p99 <= TARGETS.p99Ratio)]);
  }
  for (const c of r.connections ?? []) {
    const rss = c.rx.rssPerConnKiB.median;
    rows.push([
      `≤ ${TARGETS.rssPerConnKiB} KiB RSS per live connection (${c.connections} connections)`,
      `${fmtNum(rss)} KiB`,
      yesNo(Number.isFinite(rss) ? rss <= TARGETS.rssPerConnKiB : undefined),
    ]);
  }
  for (const c of r.connections ?? []) {
    // Against raw grpc-js opening Fabric's calls (Ping + GossipStream); the stream-only ratio beside it.
    const both = (pick: (s: ConnectionsStats) => Summary): string =>
      `${fmtRatio(ratio(pick(c.rx), pick(c.raw)))} (stream only: ${fmtRatio(ratio(pick(c.rx), pick(c.rawStream)))})`;
    const hs = ratio(c.rx.handshakesPerSec, c.raw.handshakesPerSec);
    const cpu = ratio(c.rx.serverCpuMs, c.raw.serverCpuMs);
    const rss = ratio(c.rx.rssPerConnKiB, c.raw.rssPerConnKiB);
    const at = `(${c.connections} connections)`;
    rows.push([`handshakes/s ≥ ${TARGETS.handshakeRatio}× raw ${at}`, both((s) => s.handshakesPerSec), yesNo(Number.isFinite(hs) ? hs >= TARGETS.handshakeRatio : undefined)]);
    rows.push([`server CPU per handshake ≤ ${TARGETS.serverCpuRatio}× raw ${at}`, both((s) => s.serverCpuMs), yesNo(Number.isFinite(cpu) ? cpu <= TARGETS.serverCpuRatio : undefined)]);
    rows.push([`RSS per live connection ≤ ${TARGETS.rssRatio}× raw ${at}`, both((s) => s.rssPerConnKiB), yesNo(Number.isFinite(rss) ? rss <= TARGETS.rssRatio : undefined)]);
    if (c.rx.reconnect && c.raw.reconnect) {
      const hsAgain = ratio(c.rx.reconnect.handshakesPerSec, c.raw.reconnect.handshakesPerSec);
      const cpuAgain = ratio(c.rx.reconnect.serverCpuMs, c.raw.reconnect.serverCpuMs);
      const again = `(${c.connections} connections, peers seen before)`;
      rows.push([`handshakes/s ≥ ${TARGETS.handshakeRatio}× raw ${again}`, fmtRatio(hsAgain), yesNo(Number.isFinite(hsAgain) ? hsAgain >= TARGETS.handshakeRatio : undefined)]);
      rows.push([`server CPU per handshake ≤ ${TARGETS.serverCpuRatio}× raw ${again}`, fmtRatio(cpuAgain), yesNo(Number.isFinite(cpuAgain) ? cpuAgain <= TARGETS.serverCpuRatio : undefined)]);
    }
  }
  for (const c of r.connections ?? []) {
    const rate = c.rx.handshakesPerSec.median;
    rows.push([
      `≥ ${TARGETS.handshakesPerSec} handshakes/s (${c.connections} connections)`,
      `${fmtNum(rate)}/s (one server core: ${fmtNum(1000 / c.rx.serverCpuMs.median)}/s)`,
      yesNo(Number.isFinite(rate) ? rate >= TARGETS.handshakesPerSec : undefined),
    ]);
  }
  if (r.push) rows.push(...pushTargets(r.push));
  if (r.cluster && !r.cluster.converged) {
    rows.push([`${plan.cluster.peers}-peer cluster: membership converges`, `no (${r.cluster.minAlive} of ${plan.cluster.peers - 1})`, yesNo(false)]);
  }
  for (const c of r.cluster?.rows ?? []) {
    rows.push([
      `${c.peers}-peer cluster, fan-out ${c.fanout}: every message reaches every peer`,
      `${c.delivered} / ${c.expected}`,
      yesNo(c.complete && c.delivered >= c.expected),
    ]);
    rows.push([
      `${c.peers}-peer cluster, fan-out ${c.fanout}: delivery p99 ≤ ${TARGETS.clusterP99Ms} ms at ${c.rate} msgs/s`,
      `${fmtNum(c.p99)} ms`,
      yesNo(Number.isFinite(c.p99) ? c.p99 <= TARGETS.clusterP99Ms : undefined),
    ]);
  }
  return ['## Targets', '', markdownTable(['Target', 'Measured (median)', 'Met'], rows, [false, true, false])];
}

function methodSection(): string[] {
  const t = plan.throughput;
  return [
    '## Method',
    '',
    `- Repetitions: throughput ${t.reps}× per payload (echo and one-way ${t.durationMs} ms each, ${t.rttSamples} timed round trips ` +
      `each after 100 untimed, rxgossip's and raw's alternating one by one), fan-out ${plan.fanout.reps}× ${plan.fanout.durationMs} ms per size, connection scale ` +
      `${plan.connections.reps}× per size; rxgossip and raw grpc-js alternate within each repetition.`,
    `- Section 1: messages are pre-encoded once (rxgossip: a SignedMessage whose envelope bytes are cached; raw: the same bytes ` +
      `from Envelope.encode) so both sides measure transport, not encoding. The rxgossip receiver decodes every ` +
      `envelope and its GossipMessage (that is part of its job); the raw receiver does not. Section 1b: both build, ` +
      `encode and decode every message, as applications do (${plan.app.reps} repetitions of ${plan.app.durationMs} ms).`,
    '- Identities are generated for each run with generateOrg (one org, ECDSA P-256, cryptogen profiles).',
    `- rxgossip is measured ${BENCH_SOURCE === 'dist' ? 'compiled (dist/, built by `npm run bench` first), as applications load it; the bench harness itself runs through tsx' : 'from its TypeScript sources through tsx (BENCH_SOURCE=lib), which adds esbuild keepNames work to every named function it creates'}. Raw grpc-js is compiled JavaScript.`,
    '- Run with `npm run bench` (full, about 12 minutes on a quiet machine; writes bench/RESULTS.md) or ' +
      '`npm run bench -- --quick` (a few minutes; writes bench/RESULTS.quick.md, which is not committed). ' +
      '`BENCH_PROFILE_DIR=dir` writes CPU profiles of the processes of sections 1b, 3 and 4.',
  ];
}

main().then(
  () => {
    // Everything is closed, so the process ends by itself; should something linger, say so and go.
    setTimeout(() => {
      process.stderr.write(`bench: still alive 10 s after finishing: ${process.getActiveResourcesInfo().join(', ')}\n`);
      process.exit(0);
    }, 10_000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
