// Membership soak: rxgossip peers in this process (a fresh org from generateOrg in a temp dir) on
// Fabric's default discovery timings divided by --scale (1 = Fabric's: alive 5 s, expiration 25 s,
// reconnect 25 s, publishCertPeriod 10 s, pullInterval 4 s). Peer 0 is everyone's only bootstrap
// peer except the odd peers, which bootstrap to peer 1 (so they learn the rest through relays).
// Peers past publishCertPeriod embed no identity: the identity store and the identity pull keep
// the membership together. Every --churn-s a random peer other than 0 and 1 is stopped and
// restarted --down-s later on the same port. Prints one markdown summary and PASS/FAIL; exit 0/1.
//
//   node --import tsx scripts/membership-soak.ts \
//     [--seconds 120] [--peers 6] [--scale 10] [--churn-s 30] [--down-s 10]
//
// Passes when: every peer sees every other running peer alive within 2 alive intervals + the
// convergence allowance; no running peer is ever reported dead by a running peer (no flapping);
// a stopped peer is seen dead by all running peers within expiration + 2 check intervals + the
// dial timeout; a restarted peer is alive again everywhere within 2 reconnect intervals.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateOrg } from '../lib/certs/generate-org.js';
import { createComm, createMembership, loadPeerDir, type Comm, type LocalPeer, type Membership, type MembershipOptions } from '../lib/index.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    peers: { type: 'string', default: '6' },
    scale: { type: 'string', default: '10' },
    'churn-s': { type: 'string', default: '30' },
    'down-s': { type: 'string', default: '10' },
  },
});
const SECONDS = Number(args.seconds);
const PEERS = Math.max(3, Number(args.peers));
const SCALE = Number(args.scale);
const CHURN_MS = Number(args['churn-s']) * 1000;
const DOWN_MS = Number(args['down-s']) * 1000;
const ms = (fabricMs: number): number => Math.max(1, Math.round(fabricMs / SCALE));
const TIMING: MembershipOptions = {
  aliveIntervalMs: ms(5_000),
  aliveExpirationMs: ms(25_000),
  reconnectIntervalMs: ms(25_000),
  publishCertPeriodMs: ms(10_000),
  identityPull: { pullIntervalMs: ms(4_000), digestWaitMs: ms(1_000), requestWaitMs: ms(1_500) },
};
const DIAL = { dialTimeoutMs: 1_000, pingTimeoutMs: 1_000, connTimeoutMs: 1_000, closeTimeoutMs: 1_000 };
const DEATH_LIMIT = ms(25_000) + 2 * ms(2_500) + DIAL.dialTimeoutMs + 500;
const REJOIN_LIMIT = 2 * ms(25_000) + 1_000;

interface Running {
  comm: Comm;
  membership: Membership;
}

const peers: Array<Running | undefined> = [];
const endpoints: string[] = [];
const falseDeaths: string[] = [];
const deathLatencies: number[] = [];
const rejoinLatencies: number[] = [];
const failures: string[] = [];
const since = Date.now();
const at = (): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

async function start(selves: LocalPeer[], i: number): Promise<void> {
  const comm = await createComm({ self: selves[i]!, listen: endpoints[i] ?? '127.0.0.1:0', ...DIAL });
  endpoints[i] = comm.internalEndpoint!;
  const bootstrap = i === 0 ? [] : i % 2 === 1 && i !== 1 ? [endpoints[1]!] : [endpoints[0]!];
  const membership = createMembership(comm, { bootstrap, ...TIMING });
  membership.changes$.subscribe((c) => {
    if (c.type !== 'dead') return;
    const who = selves.findIndex((s) => s.pkiId.equals(c.member.pkiId));
    if (peers[who] !== undefined) falseDeaths.push(`${at()}: peer ${i} found running peer ${who} dead (${c.reason})`);
  });
  peers[i] = { comm, membership };
}

async function stop(i: number): Promise<void> {
  const p = peers[i]!;
  peers[i] = undefined;
  p.membership.stop();
  await p.comm.stop();
}

const alive = (i: number, selves: LocalPeer[]): Set<number> =>
  new Set(peers[i]!.membership.view().alive.map((m) => selves.findIndex((s) => s.pkiId.equals(m.pkiId))));

async function until(condition: () => boolean, limitMs: number): Promise<number | undefined> {
  const t0 = Date.now();
  while (Date.now() - t0 < limitMs) {
    if (condition()) return Date.now() - t0;
    await sleep(20);
  }
  return undefined;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'rxgossip-membership-soak-'));
  try {
    const org = await generateOrg({ outDir: dir, peers: PEERS });
    const selves = await Promise.all(org.peers.map((p) => loadPeerDir(p.dir)));
    const t0 = Date.now();
    for (let i = 0; i < PEERS; i++) await start(selves, i);
    const running = () => [...peers.keys()].filter((i) => peers[i] !== undefined);
    const converged = () => running().every((i) => running().every((j) => j === i || alive(i, selves).has(j)));
    const convergence = await until(converged, 2 * ms(5_000) + 5_000);
    if (convergence === undefined) failures.push('never converged');
    const convergedAt = Date.now() - t0;

    let nextChurn = Date.now() + CHURN_MS;
    const end = since + SECONDS * 1000;
    while (Date.now() < end - DOWN_MS - REJOIN_LIMIT) {
      await sleep(Math.max(0, nextChurn - Date.now()));
      nextChurn += CHURN_MS;
      const victim = 2 + Math.floor(Math.random() * (PEERS - 2));
      await stop(victim);
      const others = running();
      const dead = await until(
        () => others.every((i) => peers[i]!.membership.view().dead.some((m) => m.pkiId.equals(selves[victim]!.pkiId))),
        DEATH_LIMIT,
      );
      if (dead === undefined) failures.push(`${at()}: peer ${victim} not seen dead by all within ${DEATH_LIMIT} ms`);
      else deathLatencies.push(dead);
      await sleep(Math.max(0, DOWN_MS - (dead ?? DEATH_LIMIT)));
      await start(selves, victim);
      const back = await until(converged, REJOIN_LIMIT);
      if (back === undefined) failures.push(`${at()}: peer ${victim} did not rejoin within ${REJOIN_LIMIT} ms`);
      else rejoinLatencies.push(back);
    }
    await sleep(Math.max(0, end - Date.now()));
    const stats = running().map((i) => peers[i]!.membership.stats());
    for (const i of running()) await stop(i);

    const fmt = (xs: number[]): string =>
      xs.length === 0 ? '—' : `median ${[...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]} ms, max ${Math.max(...xs)} ms (${xs.length})`;
    const sum = (k: keyof (typeof stats)[number]): number => stats.reduce((n, s) => n + s[k], 0);
    console.log(`## Membership soak: ${PEERS} peers, Fabric timings / ${SCALE}, ${SECONDS} s\n`);
    console.log('| measure | value |\n|---|---|');
    console.log(`| timings (ms) | alive ${TIMING.aliveIntervalMs}, expiration ${TIMING.aliveExpirationMs}, reconnect ${TIMING.reconnectIntervalMs}, publishCertPeriod ${TIMING.publishCertPeriodMs} |`);
    console.log(`| convergence after start | ${convergence === undefined ? 'never' : `${convergedAt} ms`} |`);
    console.log(`| stopped peer seen dead by all | ${fmt(deathLatencies)} (limit ${DEATH_LIMIT} ms) |`);
    console.log(`| restarted peer alive everywhere | ${fmt(rejoinLatencies)} (limit ${REJOIN_LIMIT} ms) |`);
    console.log(`| running peers reported dead (flaps) | ${falseDeaths.length} |`);
    console.log(`| alive messages refused / unknown identity / relayed (last run of each peer) | ${sum('invalid')} / ${sum('unknownIdentity')} / ${sum('relayed')} |`);
    for (const f of [...falseDeaths, ...failures]) console.log(`- ${f}`);
    const ok = failures.length === 0 && falseDeaths.length === 0;
    console.log(ok ? '\nPASS' : '\nFAIL');
    process.exitCode = ok ? 0 : 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
