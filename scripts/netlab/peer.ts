// One host's gossip peer, run by the lab inside that host's network namespace: comm on the
// host's address with mutual TLS, membership, push and pull over one message store. Reads
// commands (JSON lines) on stdin, reports views and deliveries (JSON lines) on stdout, and stops
// when told to, on SIGTERM/SIGINT, or when stdin closes (the orchestrator went away).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Subject, bufferTime, filter } from 'rxjs';
import { MessageStore, createComm, createMembership, createPull, createPush, loadPeerDir, type DataDelivery } from '../../lib/index.js';
import { wallClock, type LabCommand, type LabDelivery, type LabPeerConfig, type LabReport } from './protocol.js';

const config = JSON.parse(process.argv[2]!) as LabPeerConfig;
const report = (r: LabReport): void => void process.stdout.write(`${JSON.stringify(r)}\n`);

const self = await loadPeerDir(config.dir);
const { timings } = config;
const comm = await createComm({
  self,
  listen: config.listen,
  dialTimeoutMs: timings.dialTimeoutMs,
  connTimeoutMs: timings.dialTimeoutMs,
  pingTimeoutMs: timings.dialTimeoutMs,
  handshakeTimeoutMs: 3 * timings.dialTimeoutMs,
  closeTimeoutMs: 1_000,
});
const membership = createMembership(comm, {
  self,
  bootstrap: config.bootstrap,
  aliveIntervalMs: timings.aliveIntervalMs,
  aliveExpirationMs: timings.aliveExpirationMs,
  reconnectIntervalMs: timings.reconnectIntervalMs,
});
const store = new MessageStore({ capacity: 100_000 });
const push = createPush(comm, membership, { store, signer: self.signer });
const pull = createPull(comm, membership, { store, pullIntervalMs: timings.pullIntervalMs, digestWaitMs: timings.digestWaitMs, requestWaitMs: timings.requestWaitMs });

const deliveries = new Subject<LabDelivery>();
const idOf = (d: DataDelivery): number => (JSON.parse(Buffer.from(d.data).toString()) as { id: number }).id;
push.delivered$.subscribe((d) => deliveries.next({ id: idOf(d), at: wallClock(), by: 'push' }));
pull.delivered$.subscribe((d) => deliveries.next({ id: idOf(d), at: wallClock(), by: 'pull' }));
deliveries
  .pipe(
    bufferTime(50),
    filter((items) => items.length > 0),
  )
  .subscribe((items) => report({ type: 'delivered', items }));
membership.members$.subscribe((view) =>
  report({
    type: 'view',
    alive: view.alive.map((m) => m.pkiId.toString('hex')),
    dead: view.dead.map((m) => m.pkiId.toString('hex')),
    at: wallClock(),
  }),
);

// Counters every 2 s, so that a step that times out can say what the peers were going through.
let lastHandshakeFailure: string | undefined;
comm.handshakeFailures$.subscribe((f) => (lastHandshakeFailure = `${f.direction} ${f.endpoint}: ${f.error.message}`));
// How late this process's timers run: on an overloaded machine, lag beyond the alive expiration
// makes members look dead although nothing failed.
const lag = monitorEventLoopDelay({ resolution: 20 });
lag.enable();
const stats = (): Record<string, unknown> => ({
  comm: comm.stats(),
  push: push.stats(),
  pull: pull.stats(),
  membership: membership.stats(),
  eventLoopLagMaxMs: Math.round(lag.max / 1e6),
});
const ticker = setInterval(() => report({ type: 'stats', stats: stats(), ...(lastHandshakeFailure ? { lastHandshakeFailure } : {}) }), 2_000);
ticker.unref();

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(ticker);
  lag.disable();
  lines.close();
  process.stdin.destroy();
  push.stop();
  pull.stop();
  membership.stop();
  deliveries.complete();
  await comm.stop();
  report({ type: 'stopped', stats: stats() });
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  let command: LabCommand;
  try {
    command = JSON.parse(line) as LabCommand;
  } catch {
    process.stderr.write(`not a command: ${line}\n`);
    return;
  }
  if (command.type === 'publish') {
    push.publish(Buffer.from(JSON.stringify({ id: command.id })));
    report({ type: 'published', id: command.id, at: wallClock() });
  } else if (command.type === 'stop') {
    void stop();
  }
});
lines.on('close', () => void stop());
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

report({ type: 'ready', endpoint: comm.endpoint, pkiId: comm.getPKIid().toString('hex'), at: wallClock() });
