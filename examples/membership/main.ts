// membership: a few peers printing their view as peers join, die (stop) and come back (restart,
// with a new inc_num). Every peer announces itself with signed alive messages; peers that go
// silent are found dead; a restarted peer is revived.
//
//   npm run example:membership
//   npm run example:membership -- --peers 3 --alive-ms 100 --expiry-ms 600
import { parseArgs } from 'node:util';
import {
  createComm,
  createMembership,
  loadPeerDir,
  type Comm,
  type Long,
  type LocalPeer,
  type Membership,
  type MembershipChange,
} from '../../lib/index.js';
import { peerDirs, run, until } from '../support.js';

const { values: args } = parseArgs({
  options: {
    peers: { type: 'string', default: '4' },
    'alive-ms': { type: 'string', default: '150' },
    'expiry-ms': { type: 'string', default: '750' },
    'timeout-ms': { type: 'string', default: '8000' },
    dirs: { type: 'string' }, // comma-separated peer directories (default: the test fixtures)
  },
});

const dirs = peerDirs(args.dirs);
const count = Number(args.peers);
if (!(count >= 2 && count <= dirs.length)) throw new Error(`--peers must be 2..${dirs.length}`);
const aliveMs = Number(args['alive-ms']);
const expiryMs = Number(args['expiry-ms']);
const timeoutMs = Number(args['timeout-ms']);

interface Peer {
  readonly name: string;
  readonly self: LocalPeer;
  comm?: Comm;
  membership?: Membership;
}

const started = Date.now();
const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(2)}s`;
/** An inc_num is the peer's start time in ns: shown as seconds since this program started. */
const incOf = (incNum: Long): string => `inc_num = start +${((incNum.divide(1_000_000).toNumber() - started) / 1000).toFixed(2)}s`;
const peers: Peer[] = [];

async function main(): Promise<boolean> {
  for (let i = 0; i < count; i++) peers.push({ name: `peer${i}`, self: await loadPeerDir(dirs[i]!) });
  const nameOf = (pkiId: Buffer): string => peers.find((p) => p.self.pkiId.equals(pkiId))?.name ?? '?';
  const views = (): string =>
    peers
      .filter((p) => p.membership)
      .map((p) => {
        const v = p.membership!.view();
        const names = (ms: readonly { pkiId: Buffer }[]) => ms.map((m) => nameOf(m.pkiId)).sort().join(' ') || '-';
        return `  ${p.name}: alive [${names(v.alive)}] dead [${names(v.dead)}]`;
      })
      .join('\n');
  const describe = (c: MembershipChange): string => {
    const who = `${nameOf(c.member.pkiId)} (${incOf(c.member.time.incNum)})`;
    switch (c.type) {
      case 'join':
        return `${who} joined`;
      case 'dead':
        return `${who} is dead (${c.reason})`;
      case 'revive':
        return `${who} is alive again`;
      case 'update':
        return `${who} restarted or moved to ${c.member.endpoint}`;
    }
  };

  const start = async (peer: Peer, listen = '127.0.0.1:0'): Promise<void> => {
    const comm = await createComm({ self: peer.self, listen, dialTimeoutMs: 300 });
    const first = peers[0]!;
    const membership = createMembership(comm, {
      self: peer.self,
      bootstrap: peer === first ? [] : [first.comm!.endpoint],
      aliveIntervalMs: aliveMs,
      aliveExpirationMs: expiryMs,
      reconnectIntervalMs: 2 * aliveMs,
    });
    membership.changes$.subscribe((c) => console.log(`${elapsed()} ${peer.name} sees: ${describe(c)}`));
    peer.comm = comm;
    peer.membership = membership;
    console.log(`${elapsed()} ${peer.name} started on ${comm.endpoint} (${incOf(membership.incNum)})`);
  };
  const stop = async (peer: Peer): Promise<void> => {
    peer.membership?.stop();
    await peer.comm?.stop();
  };
  const sees = (observer: Peer, target: Peer, status: 'alive' | 'dead'): boolean =>
    observer.membership!.view()[status].some((m) => m.pkiId.equals(target.self.pkiId));

  console.log(`== ${count} peers start; all but peer0 bootstrap from peer0`);
  for (const peer of peers) await start(peer);
  const converged = (): boolean => peers.every((o) => peers.every((t) => t === o || sees(o, t, 'alive')));
  if (!(await until(converged, timeoutMs))) return fail('membership did not converge', views());
  console.log(`${elapsed()} converged:\n${views()}`);

  const victim = peers[count - 1]!;
  const oldInc = victim.membership!.incNum;
  const endpoint = victim.comm!.endpoint;
  console.log(`== ${victim.name} stops`);
  await stop(victim);
  victim.membership = undefined;
  const others = peers.filter((p) => p !== victim);
  if (!(await until(() => others.every((o) => sees(o, victim, 'dead')), timeoutMs))) {
    return fail(`${victim.name} was not found dead`, views());
  }
  console.log(`${elapsed()} everyone found ${victim.name} dead:\n${views()}`);

  console.log(`== ${victim.name} restarts on ${endpoint}`);
  await start(victim, endpoint);
  if (!victim.membership!.incNum.greaterThan(oldInc)) return fail('the restart did not get a higher inc_num', '');
  if (!(await until(converged, timeoutMs))) return fail(`${victim.name} did not come back`, views());
  console.log(`${elapsed()} ${victim.name} is back, with a higher inc_num:\n${views()}`);
  console.log('OK: joined, found dead, revived');
  return true;
}

function fail(why: string, detail: string): false {
  console.log(`FAILED: ${why}\n${detail}`);
  return false;
}

async function stopAll(): Promise<void> {
  for (const p of peers) p.membership?.stop();
  await Promise.all(peers.map((p) => p.comm?.stop()));
}

run(main, () => stopAll());
