// The cluster demo: N rxgossip peers, each in its own process, over mutual TLS with a freshly
// generated Fabric-style org. Shows membership converging, messages disseminated by push, a peer
// killed and detected dead, and the same peer restarted and caught up by pull.
//
//   npm run demo                                 (8 peers, 1,000 messages)
//   npm run demo -- --peers 4 --messages 100
//   npm run demo -- --peers 6 --ui 127.0.0.1:8080   (the live page; kill and restart peers from it)
//
// Exits 0 only if every message reached every live peer; leaves no process behind (Ctrl-C too).
// With --ui it runs until Ctrl-C instead: a few messages a second, and peers die and come back
// when the page asks.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ReplaySubject, map, shareReplay, timer } from 'rxjs';
import { generateOrg } from '../../lib/certs/generate-org.js';
import { mergeSnapshots, serveUi, type DeliveryEvent, type TopologySnapshot, type UiServer } from '../../lib/index.js';
import { now, type Delivery, type FromPeer, type PeerConfig, type Timings, type ToPeer } from './protocol.js';

const { values: args } = parseArgs({
  options: {
    peers: { type: 'string', default: '8' },
    messages: { type: 'string', default: '1000' },
    rate: { type: 'string' },
    ui: { type: 'string' },
    'timeout-s': { type: 'string', default: '60' },
  },
});
const N = Number(args.peers);
const M = Number(args.messages);
const UI = args.ui;
const RATE = Number(args.rate ?? (UI !== undefined ? 2 : 500));
const TIMEOUT_MS = Number(args['timeout-s']) * 1000;
if (!(N >= 3 && N <= 64)) throw new RangeError('--peers must be 3..64');
if (!(RATE > 0)) throw new RangeError('--rate must be positive');
if (UI !== undefined && !/^[^:]+:\d+$|^\[.+\]:\d+$/.test(UI)) throw new RangeError('--ui must be host:port, e.g. 127.0.0.1:8080');
if (!(M >= 1)) throw new RangeError('--messages must be at least 1');
const timings: Timings = { aliveIntervalMs: 500, aliveExpirationMs: 2_500, pullIntervalMs: 1_000 };

interface Peer {
  readonly name: string;
  readonly dir: string;
  pkiId: string;
  endpoint: string;
  child?: ChildProcess;
  up: boolean;
  alive: Set<string>;
  dead: Set<string>;
  viewAt: number;
  readonly delivered: Map<number, Delivery>;
  /** Its own view, for the live page (--ui). */
  snapshot?: TopologySnapshot;
}

const tty = process.stdout.isTTY === true;
const t0 = now();
const elapsed = (): string => `${((now() - t0) / 1000).toFixed(1)}s`.padStart(6);
let progressShown = false;
function progress(text: string): void {
  if (!tty) return;
  process.stdout.write(`\r\x1b[2K${elapsed()} ${text}`);
  progressShown = true;
}
function log(text: string): void {
  if (progressShown) process.stdout.write('\r\x1b[2K');
  progressShown = false;
  console.log(`${elapsed()} ${text}`);
}

const peers: Peer[] = [];
const publishedAt = new Map<number, number>();
/** Which peer published each message (PKI-ID), for the live page. */
const originOf = new Map<number, string>();
/** Messages reaching peers, for the live page (the latest replayed to a page opened later). */
const deliveries = new ReplaySubject<DeliveryEvent>(400);
let certsDir = '';
let ui: UiServer | undefined;

function startPeer(peer: Peer, listen: string, bootstrap: string[]): Promise<void> {
  const config: PeerConfig = { name: peer.name, dir: peer.dir, listen, bootstrap, timings, report: UI !== undefined };
  const child = fork(join(import.meta.dirname, 'peer.ts'), [JSON.stringify(config)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  peer.child = child;
  peer.alive = new Set();
  peer.dead = new Set();
  peer.delivered.clear();
  return new Promise((resolve, reject) => {
    child.on('message', (message: FromPeer) => {
      switch (message.type) {
        case 'ready':
          peer.endpoint = message.endpoint;
          peer.pkiId = message.pkiId;
          peer.up = true;
          resolve();
          break;
        case 'view':
          peer.alive = new Set(message.alive);
          peer.dead = new Set(message.dead);
          peer.viewAt = message.at;
          break;
        case 'published':
          publishedAt.set(message.id, message.at);
          peer.delivered.set(message.id, { id: message.id, at: message.at, by: 'push' });
          deliveries.next({ message: String(message.id), at: peer.pkiId, origin: peer.pkiId, via: 'publish', latencyMs: 0, time: message.at });
          break;
        case 'delivered':
          for (const d of message.items) {
            if (peer.delivered.has(d.id)) continue;
            peer.delivered.set(d.id, d);
            const at = publishedAt.get(d.id);
            const origin = originOf.get(d.id);
            deliveries.next({
              message: String(d.id),
              at: peer.pkiId,
              ...(origin !== undefined ? { origin } : {}),
              via: d.by,
              ...(at !== undefined ? { latencyMs: d.at - at } : {}),
              time: d.at,
            });
          }
          break;
        case 'topology':
          peer.snapshot = message.snapshot;
          break;
        case 'stopped':
          break;
      }
    });
    child.once('exit', (code, signal) => {
      peer.up = false;
      reject(new Error(`${peer.name} exited before it was ready (${signal ?? code})`));
    });
  });
}

function send(peer: Peer, message: ToPeer): void {
  if (message.type === 'publish') originOf.set(message.id, peer.pkiId);
  // A peer may be exiting while its channel still reads as connected (Ctrl-C reaches the peers
  // too): the send then fails with EPIPE, which without a callback is an 'error' event that
  // would bring the demo down. Its exit is what tells the demo it is gone.
  if (peer.child?.connected) peer.child.send(message, () => undefined);
}

async function until(condition: () => boolean, what: string, show: () => string): Promise<number> {
  const started = now();
  while (!condition()) {
    if (now() - started > TIMEOUT_MS) throw new Error(`timed out after ${TIMEOUT_MS / 1000}s waiting for ${what}`);
    progress(`${what}: ${show()}`);
    await sleep(20);
  }
  return now() - started;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function stopAll(): Promise<void> {
  await Promise.all(
    peers.map(
      (peer) =>
        new Promise<void>((resolve) => {
          const child = peer.child;
          if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
          const kill = setTimeout(() => child.kill('SIGKILL'), 3_000);
          child.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          send(peer, { type: 'stop' });
          if (!child.connected) child.kill('SIGTERM');
        }),
    ),
  );
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  log('interrupted: stopping the peers');
  void Promise.all([ui?.close(), stopAll()]).then(async () => {
    if (certsDir) await rm(certsDir, { recursive: true, force: true });
    process.exit(130);
  });
});

async function main(): Promise<boolean> {
  certsDir = await mkdtemp(join(tmpdir(), 'rxgossip-demo-'));
  if (UI !== undefined) return live(UI);
  const org = await generateOrg({ outDir: certsDir, peers: N });
  log(`generated a Fabric-style org (${org.mspid}, CA + TLS CA) and ${N} peer directories in ${certsDir}`);
  for (const p of org.peers) {
    peers.push({ name: p.name, dir: p.dir, pkiId: p.pkiIdHex, endpoint: '', up: false, alive: new Set(), dead: new Set(), viewAt: 0, delivered: new Map() });
  }
  const [first, ...rest] = peers as [Peer, ...Peer[]];
  const startedAt = now();
  await startPeer(first, '127.0.0.1:0', []);
  await Promise.all(rest.map((p) => startPeer(p, '127.0.0.1:0', [first.endpoint])));
  log(`${N} peer processes listening (${peers.map((p) => p.endpoint.split(':')[1]).join(', ')}), bootstrap ${first.endpoint}`);

  // 1. Membership.
  const fullView = () => peers.filter((p) => p.alive.size === N - 1).length;
  await until(() => fullView() === N, 'membership converging', () => `${fullView()}/${N} peers see all others`);
  const converged = now() - startedAt;
  log(`membership converged: every peer sees the ${N - 1} others alive, ${(converged / 1000).toFixed(2)}s after start`);

  // 2. Dissemination.
  const interval = 1000 / RATE;
  const publishStart = now();
  for (let id = 0; id < M; id++) {
    send(peers[Math.floor(Math.random() * N)]!, { type: 'publish', id });
    const due = publishStart + (id + 1) * interval;
    if (due - now() > 1) await sleep(due - now());
    if (id % 50 === 0) progress(`publishing: ${id}/${M}`);
  }
  const everyone = (ids: number[], group: Peer[]) => group.every((p) => ids.every((id) => p.delivered.has(id)));
  const firstIds = [...Array(M).keys()];
  const reached = () => peers.reduce((n, p) => n + firstIds.filter((id) => p.delivered.has(id)).length, 0);
  await until(() => everyone(firstIds, peers), 'disseminating', () => `${reached()}/${N * M} deliveries`);
  const latencies: number[] = [];
  let byPull = 0;
  for (const p of peers) {
    for (const d of p.delivered.values()) {
      const at = publishedAt.get(d.id);
      if (at === undefined || d.at === at) continue; // the originator's own copy
      latencies.push(d.at - at);
      if (d.by === 'pull') byPull++;
    }
  }
  latencies.sort((a, b) => a - b);
  const ratio = reached() / (N * M);
  log(`${M} messages from random peers reached all ${N} peers: delivery ratio ${(ratio * 100).toFixed(1)}%, latency p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms (${byPull} by pull)`);

  // 3. A peer dies.
  const victim = peers[N - 1]!;
  const others = peers.filter((p) => p !== victim);
  const victimEndpoint = victim.endpoint;
  const killedAt = now();
  victim.child!.kill('SIGKILL');
  const seesDead = () => others.filter((p) => p.dead.has(victim.pkiId)).length;
  await until(() => seesDead() === others.length, `${victim.name} killed`, () => `${seesDead()}/${others.length} peers see it dead`);
  const detected = Math.max(...others.map((p) => p.viewAt)) - killedAt;
  log(`${victim.name} killed (SIGKILL): every other peer has it dead after ${detected.toFixed(0)} ms`);

  // 4. Messages it misses.
  const K = Math.max(10, Math.round(M / 10));
  const missedIds = [...Array(K).keys()].map((i) => M + i);
  for (const id of missedIds) {
    send(others[Math.floor(Math.random() * others.length)]!, { type: 'publish', id });
    await sleep(interval);
  }
  await until(() => everyone(missedIds, others), 'disseminating while it is down', () => `${others.filter((p) => missedIds.every((id) => p.delivered.has(id))).length}/${others.length}`);
  log(`${K} more messages published while ${victim.name} is down`);

  // 5. It comes back and catches up.
  const restartedAt = now();
  await startPeer(victim, victimEndpoint, [first.endpoint]);
  const seesAlive = () => others.filter((p) => p.alive.has(victim.pkiId)).length;
  const allIds = [...firstIds, ...missedIds];
  await until(() => seesAlive() === others.length, `${victim.name} restarted`, () => `${seesAlive()}/${others.length} peers see it alive`);
  const backAlive = now() - restartedAt;
  await until(() => everyone(allIds, [victim]), `${victim.name} catching up`, () => `${victim.delivered.size}/${allIds.length} messages`);
  const caughtUp = now() - restartedAt;
  const victimByPull = [...victim.delivered.values()].filter((d) => d.by === 'pull').length;
  log(`${victim.name} restarted: alive in every view after ${backAlive.toFixed(0)} ms, caught up (${allIds.length} messages, ${victimByPull} by pull) after ${caughtUp.toFixed(0)} ms`);

  const complete = everyone(allIds, peers);
  const rows: Array<[string, string]> = [
    ['peers (processes, mutual TLS)', String(N)],
    ['membership converged', `${(converged / 1000).toFixed(2)} s`],
    ['messages disseminated', `${M} from random peers at ${RATE}/s`],
    ['delivery ratio', `${(ratio * 100).toFixed(1)} %`],
    ['dissemination latency p50 / p99', `${percentile(latencies, 50).toFixed(1)} / ${percentile(latencies, 99).toFixed(1)} ms`],
    [`${victim.name} killed: dead in every view`, `${detected.toFixed(0)} ms`],
    [`${victim.name} restarted: alive in every view`, `${backAlive.toFixed(0)} ms`],
    [`${victim.name} caught up by pull (${allIds.length} msgs)`, `${caughtUp.toFixed(0)} ms`],
    ['every message at every live peer', complete ? 'yes' : 'NO'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const valueWidth = Math.max(...rows.map(([, v]) => v.length));
  console.log(`\n| ${'what'.padEnd(width)} | ${'result'.padEnd(valueWidth)} |`);
  console.log(`|${'-'.repeat(width + 2)}|${'-'.repeat(valueWidth + 2)}|`);
  for (const [k, v] of rows) console.log(`| ${k.padEnd(width)} | ${v.padEnd(valueWidth)} |`);
  console.log(`\ntimings: alive every ${timings.aliveIntervalMs} ms, expiry ${timings.aliveExpirationMs} ms, pull every ${timings.pullIntervalMs} ms (Fabric: 5 s, 25 s, 4 s)`);
  return complete;
}

/** Whether a peer's process runs. */
const running = (peer: Peer): boolean => peer.up && peer.child !== undefined && peer.child.exitCode === null && peer.child.signalCode === null;

/**
 * --ui: the cluster stays up until Ctrl-C, publishing RATE messages a second from random running
 * peers, and serves the live page, whose buttons kill a peer (SIGKILL) and restart it on its port.
 */
async function live(listen: string): Promise<boolean> {
  const org = await generateOrg({ outDir: certsDir, peers: N });
  log(`generated a Fabric-style org (${org.mspid}) and ${N} peer directories in ${certsDir}`);
  for (const p of org.peers) {
    peers.push({ name: p.name, dir: p.dir, pkiId: p.pkiIdHex, endpoint: '', up: false, alive: new Set(), dead: new Set(), viewAt: 0, delivered: new Map() });
  }
  const [first, ...rest] = peers as [Peer, ...Peer[]];
  await startPeer(first, '127.0.0.1:0', []);
  await Promise.all(rest.map((p) => startPeer(p, '127.0.0.1:0', [first.endpoint])));
  log(`${N} peer processes listening (${peers.map((p) => p.endpoint.split(':')[1]).join(', ')})`);

  const byId = (id: string): Peer => {
    const peer = peers.find((p) => p.pkiId === id);
    if (!peer) throw new Error(`no peer ${id.slice(0, 8)} in this demo`);
    return peer;
  };
  const snapshots$ = timer(0, 500).pipe(
    map(() =>
      mergeSnapshots(
        peers.map((p) => ({ name: p.name, running: running(p), ...(p.snapshot ? { snapshot: p.snapshot } : {}) })),
        { title: `cluster demo, ${N} peer processes`, at: Date.now(), aliveExpirationMs: timings.aliveExpirationMs },
      ),
    ),
    shareReplay({ bufferSize: 1, refCount: true }),
  );
  const separator = listen.lastIndexOf(':');
  ui = await serveUi(
    { snapshots$, deliveries$: deliveries.asObservable() },
    {
      host: listen.slice(0, separator).replace(/^\[|\]$/g, ''),
      port: Number(listen.slice(separator + 1)),
      controls: {
        kill: async (id) => {
          const peer = byId(id);
          if (!running(peer)) throw new Error(`${peer.name} is not running`);
          const exited = new Promise((resolve) => peer.child!.once('exit', resolve));
          peer.child!.kill('SIGKILL');
          await exited;
          log(`${peer.name} killed (SIGKILL) from the page`);
        },
        restart: async (id) => {
          const peer = byId(id);
          if (running(peer)) throw new Error(`${peer.name} is already running`);
          const bootstrap = peers.filter((p) => p !== peer && running(p)).map((p) => p.endpoint);
          await startPeer(peer, peer.endpoint, bootstrap);
          log(`${peer.name} restarted on ${peer.endpoint} from the page`);
        },
      },
    },
  );
  log(`live page: ${ui.url}  (kill and restart peers from it; Ctrl-C stops the demo)`);

  const fullView = () => peers.filter((p) => p.alive.size === N - 1).length;
  await until(() => fullView() === N, 'membership converging', () => `${fullView()}/${N} peers see all others`);
  log(`membership converged; publishing ${RATE} message(s) a second from random peers`);
  for (let id = 0; !interrupted; id++) {
    const up = peers.filter(running);
    if (up.length > 0) send(up[Math.floor(Math.random() * up.length)]!, { type: 'publish', id });
    await sleep(1000 / RATE);
  }
  return true;
}

let ok = false;
try {
  ok = await main();
} catch (err: unknown) {
  log(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await ui?.close();
  await stopAll();
  if (certsDir) await rm(certsDir, { recursive: true, force: true });
}
process.exitCode = ok ? 0 : 1;
