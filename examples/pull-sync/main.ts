// pull-sync: a replicated key-value map. Writes travel as data messages by push; a peer that was
// down while others wrote catches up by pull (anti-entropy), and every replica converges.
// Conflicts resolve last-writer-wins on (clock, writer).
//
//   npm run example:pull-sync
//   npm run example:pull-sync -- --peers 4 --writes 20
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  MessageStore,
  createComm,
  createMembership,
  createPull,
  createPush,
  loadPeerDir,
  type Comm,
  type DataDelivery,
  type LocalPeer,
  type Membership,
  type Pull,
  type Push,
} from '../../lib/index.js';
import { peerDirs, run, until } from '../support.js';

const { values: args } = parseArgs({
  options: {
    peers: { type: 'string', default: '3' },
    writes: { type: 'string', default: '12' },
    'pull-ms': { type: 'string', default: '300' },
    'timeout-ms': { type: 'string', default: '10000' },
    dirs: { type: 'string' }, // comma-separated peer directories (default: the test fixtures)
  },
});

const dirs = peerDirs(args.dirs);
const count = Number(args.peers);
if (!(count >= 2 && count <= dirs.length)) throw new Error(`--peers must be 2..${dirs.length}`);
const writes = Number(args.writes);
const timeoutMs = Number(args['timeout-ms']);
const pullMs = Number(args['pull-ms']);

/** One write, as it travels. */
interface Write {
  readonly key: string;
  readonly value: string;
  readonly writer: string;
  readonly clock: number;
}

/** A replica: a map of key -> the winning write. */
class Replica {
  readonly entries = new Map<string, Write>();
  clock = 0;
  byPush = 0;
  byPull = 0;

  apply(w: Write): void {
    this.clock = Math.max(this.clock, w.clock);
    const current = this.entries.get(w.key);
    if (!current || w.clock > current.clock || (w.clock === current.clock && w.writer > current.writer)) {
      this.entries.set(w.key, w);
    }
  }

  /** A short fingerprint of the content, equal on equal replicas. */
  fingerprint(): string {
    const sorted = [...this.entries.values()].sort((a, b) => a.key.localeCompare(b.key));
    const text = sorted.map((w) => `${w.key}=${w.value}`).join(';');
    return createHash('sha256').update(text).digest('hex').slice(0, 12);
  }
}

interface Peer {
  readonly name: string;
  readonly self: LocalPeer;
  replica: Replica;
  comm?: Comm;
  membership?: Membership;
  push?: Push;
  pull?: Pull;
}

const started = Date.now();
const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(2)}s`;
const peers: Peer[] = [];

async function start(peer: Peer, listen = '127.0.0.1:0'): Promise<void> {
  const comm = await createComm({ self: peer.self, listen, dialTimeoutMs: 300 });
  const first = peers[0]!;
  const membership = createMembership(comm, {
    self: peer.self,
    bootstrap: peer === first ? [] : [first.comm!.endpoint],
    aliveIntervalMs: 100,
    aliveExpirationMs: 600,
    reconnectIntervalMs: 200,
  });
  // One store per peer, shared by push (what was seen) and pull (what can be served).
  const store = new MessageStore({ capacity: 10_000 });
  const push = createPush(comm, membership, { store, signer: peer.self.signer });
  const pull = createPull(comm, membership, { store, pullIntervalMs: pullMs, digestWaitMs: 100, requestWaitMs: 300 });
  const apply = (how: 'push' | 'pull') => (d: DataDelivery) => {
    peer.replica.apply(JSON.parse(Buffer.from(d.data).toString()) as Write);
    if (how === 'push') peer.replica.byPush++;
    else peer.replica.byPull++;
  };
  push.delivered$.subscribe(apply('push'));
  pull.delivered$.subscribe(apply('pull'));
  pull.rounds$.subscribe((r) => {
    if (r.pulled > 0) console.log(`${elapsed()} ${peer.name} pulled ${r.pulled} writes from ${r.peers.length} peers`);
  });
  Object.assign(peer, { comm, membership, push, pull });
}

async function stop(peer: Peer): Promise<void> {
  peer.push?.stop();
  peer.pull?.stop();
  peer.membership?.stop();
  await peer.comm?.stop();
}

function write(peer: Peer, key: string, value: string): void {
  const w: Write = { key, value, writer: peer.name, clock: ++peer.replica.clock };
  peer.replica.apply(w);
  peer.push!.publish(Buffer.from(JSON.stringify(w)));
}

const converged = (group: Peer[]): boolean => new Set(group.map((p) => p.replica.fingerprint())).size === 1;
const show = (group: Peer[]): string =>
  group
    .map((p) => `  ${p.name}: ${p.replica.entries.size} keys, fingerprint ${p.replica.fingerprint()} (${p.replica.byPush} by push, ${p.replica.byPull} by pull)`)
    .join('\n');

async function main(): Promise<boolean> {
  for (let i = 0; i < count; i++) peers.push({ name: `peer${i}`, self: await loadPeerDir(dirs[i]!), replica: new Replica() });
  for (const peer of peers) await start(peer);
  const alive = (p: Peer) => p.membership!.view().alive.length;
  if (!(await until(() => peers.every((p) => alive(p) === count - 1), timeoutMs))) return fail('membership did not converge');
  console.log(`${elapsed()} ${count} peers up, membership converged`);

  const half = Math.ceil(writes / 2);
  for (let n = 0; n < half; n++) write(peers[n % count]!, `k${n % 5}`, `v${n}`);
  if (!(await until(() => converged(peers), timeoutMs))) return fail('replicas did not converge by push', show(peers));
  console.log(`${elapsed()} ${half} writes, all replicas equal:\n${show(peers)}`);

  const victim = peers[count - 1]!;
  const others = peers.slice(0, -1);
  const endpoint = victim.comm!.endpoint;
  console.log(`== ${victim.name} goes down; the others keep writing`);
  await stop(victim);
  const gone = () => others.every((o) => o.membership!.view().dead.some((m) => m.pkiId.equals(victim.self.pkiId)));
  if (!(await until(gone, timeoutMs))) return fail(`${victim.name} was not found dead`);
  for (let n = half; n < writes; n++) write(others[n % others.length]!, `k${n % 7}`, `v${n}`);
  if (!(await until(() => converged(others), timeoutMs))) return fail('the others did not converge', show(others));
  console.log(`${elapsed()} ${writes - half} more writes while ${victim.name} was down:\n${show(peers)}`);

  console.log(`== ${victim.name} restarts on ${endpoint}, with its old replica but a fresh message store`);
  victim.replica.byPush = victim.replica.byPull = 0;
  await start(victim, endpoint);
  if (!(await until(() => converged(peers), timeoutMs))) return fail(`${victim.name} did not catch up`, show(peers));
  console.log(`${elapsed()} converged:\n${show(peers)}`);
  if (victim.replica.byPull === 0) return fail(`${victim.name} caught up without pulling anything`, show(peers));
  const [sample] = [...peers[0]!.replica.entries.values()].sort((a, b) => a.key.localeCompare(b.key));
  console.log(`OK: ${victim.name} caught up by pull (${victim.replica.byPull} writes pulled); e.g. ${sample!.key}=${sample!.value}`);
  return true;
}

function fail(why: string, detail = ''): false {
  console.log(`FAILED: ${why}${detail ? `\n${detail}` : ''}`);
  return false;
}

run(main, () => Promise.all(peers.map(stop)));
