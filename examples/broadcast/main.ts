// broadcast: a chat between a few peers in one process. Lines said by one peer reach every other
// peer by push dissemination over membership; each peer prints what it got and from whom.
//
//   npm run example:broadcast                    4 peers, 6 generated lines
//   npm run example:broadcast -- --peers 3 --lines 10
//   (on a terminal, type lines for peer0 instead; Ctrl-D to finish)
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  createComm,
  createMembership,
  createPush,
  loadPeerDir,
  type Comm,
  type DataDelivery,
  type Membership,
  type Push,
} from '../../lib/index.js';
import { peerDirs, run, sleep, until } from '../support.js';

const { values: args } = parseArgs({
  options: {
    peers: { type: 'string', default: '4' },
    lines: { type: 'string', default: '6' },
    fanout: { type: 'string', default: '2' },
    'timeout-ms': { type: 'string', default: '10000' },
    dirs: { type: 'string' }, // comma-separated peer directories (default: the test fixtures)
  },
});

const dirs = peerDirs(args.dirs);
const count = Number(args.peers);
if (!(count >= 2 && count <= dirs.length)) throw new Error(`--peers must be 2..${dirs.length}`);

interface Peer {
  readonly name: string;
  readonly comm: Comm;
  readonly membership: Membership;
  readonly push: Push;
}

/** A chat line on the wire: who said what. */
interface Line {
  readonly from: string;
  readonly text: string;
}

const peers: Peer[] = [];
const started = Date.now();
const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(2)}s`;

async function main(): Promise<boolean> {
  for (let i = 0; i < count; i++) {
    const self = await loadPeerDir(dirs[i]!);
    const comm = await createComm({ self, listen: '127.0.0.1:0', dialTimeoutMs: 500 });
    const bootstrap = i === 0 ? [] : [peers[0]!.comm.endpoint];
    const membership = createMembership(comm, {
      self,
      bootstrap,
      aliveIntervalMs: 200,
      aliveExpirationMs: 1_000,
      reconnectIntervalMs: 300,
    });
    const push = createPush(comm, membership, { fanout: Number(args.fanout) });
    peers.push({ name: `peer${i}`, comm, membership, push });
    console.log(`${elapsed()} peer${i} listening on ${comm.endpoint}`);
  }
  const nameOf = (pkiId: Buffer): string => peers.find((p) => p.comm.getPKIid().equals(pkiId))?.name ?? '?';

  await until(() => peers.every((p) => p.membership.view().alive.length === count - 1), 5_000);
  console.log(`${elapsed()} membership converged: every peer sees ${count - 1} others`);

  // Who got which line: line digest -> names of the peers that got it.
  const got = new Map<string, Set<string>>();
  for (const peer of peers) {
    peer.push.delivered$.subscribe((d: DataDelivery) => {
      const line = JSON.parse(Buffer.from(d.data).toString()) as Line;
      console.log(`${elapsed()} ${peer.name} got "${line.text}" said by ${line.from} (via ${nameOf(d.from.pkiId)})`);
      const set = got.get(d.digest) ?? new Set<string>();
      set.add(peer.name);
      got.set(d.digest, set);
    });
  }
  const said: string[] = [];
  const say = (peer: Peer, text: string): void => {
    console.log(`${elapsed()} ${peer.name} says "${text}"`);
    said.push(peer.push.publish(Buffer.from(JSON.stringify({ from: peer.name, text } satisfies Line))));
  };

  if (process.stdin.isTTY) {
    console.log('type lines for peer0 to say; Ctrl-D to finish');
    const rl = createInterface({ input: process.stdin });
    for await (const text of rl) if (text.trim()) say(peers[0]!, text.trim());
  } else {
    const lines = Number(args.lines);
    for (let n = 0; n < lines; n++) {
      say(peers[n % count]!, `hello #${n + 1} from ${peers[n % count]!.name}`);
      await sleep(50);
    }
  }

  const everyone = (): boolean => said.every((d) => (got.get(d)?.size ?? 0) === count - 1);
  const ok = await until(everyone, Number(args['timeout-ms']));
  await sleep(100); // a duplicate delivery, if there were any, would show now
  const deliveries = [...got.values()].reduce((n, s) => n + s.size, 0);
  if (ok && deliveries === said.length * (count - 1)) {
    console.log(`OK: ${said.length} lines, each reached the ${count - 1} other peers exactly once (${deliveries} deliveries)`);
    return true;
  }
  for (const d of said) {
    const missing = peers.filter((p) => !got.get(d)?.has(p.name)).map((p) => p.name);
    console.log(`line ${d.slice(0, 8)} missing at: ${missing.join(', ')}`);
  }
  console.log(`FAILED: ${deliveries} deliveries, expected ${said.length * (count - 1)}`);
  return false;
}

async function stopAll(): Promise<void> {
  for (const p of peers) {
    p.push.stop();
    p.membership.stop();
  }
  await Promise.all(peers.map((p) => p.comm.stop()));
}

run(main, () => stopAll());
