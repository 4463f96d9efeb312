// One peer of the cluster demo, in its own process: comm + membership + push + pull over mutual
// TLS. Takes orders from the orchestrator over IPC and reports what it sees.
import { Subject, bufferTime, filter } from 'rxjs';
import {
  MessageStore,
  createComm,
  createMembership,
  createPull,
  createPeerTopology,
  createPush,
  loadPeerDir,
  type DataDelivery,
} from '../../lib/index.js';
import { now, type Delivery, type FromPeer, type PeerConfig, type ToPeer } from './protocol.js';

const config = JSON.parse(process.argv[2]!) as PeerConfig;
const tell = (message: FromPeer): void => {
  if (process.connected) process.send!(message);
};

const self = await loadPeerDir(config.dir);
const comm = await createComm({ self, listen: config.listen, dialTimeoutMs: 500, connTimeoutMs: 1_000 });
const { timings } = config;
const membership = createMembership(comm, {
  self,
  bootstrap: config.bootstrap,
  aliveIntervalMs: timings.aliveIntervalMs,
  aliveExpirationMs: timings.aliveExpirationMs,
  reconnectIntervalMs: timings.aliveIntervalMs,
});
const store = new MessageStore({ capacity: 100_000 });
const push = createPush(comm, membership, { store, signer: self.signer });
const pull = createPull(comm, membership, { store, pullIntervalMs: timings.pullIntervalMs });

const deliveries = new Subject<Delivery>();
const idOf = (d: DataDelivery): number => (JSON.parse(Buffer.from(d.data).toString()) as { id: number }).id;
push.delivered$.subscribe((d) => deliveries.next({ id: idOf(d), at: now(), by: 'push' }));
pull.delivered$.subscribe((d) => deliveries.next({ id: idOf(d), at: now(), by: 'pull' }));
// Batched: one IPC message per 50 ms instead of one per delivery.
deliveries
  .pipe(
    bufferTime(50),
    filter((items) => items.length > 0),
  )
  .subscribe((items) => tell({ type: 'delivered', items }));
membership.members$.subscribe((view) =>
  tell({
    type: 'view',
    alive: view.alive.map((m) => m.pkiId.toString('hex')),
    dead: view.dead.map((m) => m.pkiId.toString('hex')),
    at: now(),
  }),
);

// For the live page: this peer's own view, sent to the orchestrator, which merges all of them.
const topology = config.report
  ? createPeerTopology(comm, { membership, push, pull, aliveExpirationMs: timings.aliveExpirationMs, sampleMs: 500 })
  : undefined;
topology?.snapshots$.subscribe((snapshot) => tell({ type: 'topology', snapshot }));

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  topology?.stop();
  push.stop();
  pull.stop();
  membership.stop();
  deliveries.complete();
  await comm.stop();
  tell({ type: 'stopped', stats: { ...comm.stats(), push: push.stats(), pull: pull.stats() } });
  process.disconnect?.();
}

process.on('message', (message: ToPeer) => {
  if (message.type === 'publish') {
    push.publish(Buffer.from(JSON.stringify({ id: message.id, origin: config.name })));
    tell({ type: 'published', id: message.id, at: now() });
  } else if (message.type === 'stop') {
    void stop();
  }
});
// The orchestrator went away (crashed, Ctrl-C): do not outlive it.
process.on('disconnect', () => void stop());
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

tell({ type: 'ready', endpoint: comm.endpoint, pkiId: comm.getPKIid().toString('hex') });
