// Soak: 20 rxgossip peers in this process (a fresh org from generateOrg in a temp dir), each
// sending to random others at a steady rate, with churn: every few seconds a random peer is
// stopped and restarted on the same port. Prints a status line every few seconds and one
// PASS/FAIL line at the end; exit code 0/1.
//
//   npm run soak -- [--seconds 60 | --minutes 10] [--peers 20] [--rate 20] [--churn-ms 3000] [--down-ms 500]
//                   [--report-ms 5000] [--size 128] [--dial-timeout-ms 3000]
//
// Passes when:
// - every message a comm accepted was written to a stream or dropped and counted (per comm
//   instance: send() calls == stats().sent + stats().dropped, and drops$ saw every drop);
// - nothing is lost beyond counted drops: sent == received + dropped + lost, where `lost` are
//   messages written to a stream that broke because its sender or receiver was being stopped;
//   lost >= 0 and lost <= the unreceived messages sent near a stop of their sender or receiver
//   (from IN_FLIGHT_MS before the stop began to the restart);
// - no message is received twice or by the wrong peer, and no unhandled rejection or uncaught
//   exception happened;
// - RSS grew less than 10% from the end of the warm-up (first 20% of the run) to the end
//   (both after global.gc() when run with --expose-gc, as npm run soak does);
// - once every comm has stopped, no active handle is left beyond those before the first started
//   (process.getActiveResourcesInfo()), and no file descriptor either (Linux, /proc/self/fd).
// It also warns (without failing) when file descriptors not accounted for by live connections
// grow while it runs (sockets nobody owns until a comm stops), and SOAK_DIAG=1 lists, with each
// status line, the server-side TCP sockets that no comm connection owns (uses `ss`, Linux).
import { execSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateOrg } from '../lib/certs/generate-org.js';
import { createComm, loadPeerDir, type Comm, type CommOptions, type DroppedMessage, type LocalPeer } from '../lib/index.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    minutes: { type: 'string' },
    peers: { type: 'string', default: '20' },
    rate: { type: 'string', default: '20' },
    'churn-ms': { type: 'string', default: '3000' },
    'down-ms': { type: 'string', default: '500' },
    'report-ms': { type: 'string', default: '5000' },
    size: { type: 'string', default: '128' },
    'dial-timeout-ms': { type: 'string', default: '3000' },
  },
});
const SECONDS = args.minutes !== undefined ? Number(args.minutes) * 60 : Number(args.seconds);
const PEERS = Number(args.peers);
/** Messages per second each peer sends. */
const RATE = Number(args.rate);
const CHURN_MS = Number(args['churn-ms']);
const DOWN_MS = Number(args['down-ms']);
const REPORT_MS = Number(args['report-ms']);
const SIZE = Number(args.size);
const TICK_MS = 50;
/** A message written this long before its sender's or receiver's stop may be lost in flight. */
const IN_FLIGHT_MS = 2_000;
const WARMUP_FRACTION = 0.2;
const RSS_GROWTH_LIMIT = 0.1;

/**
 * Dial, handshake read and Ping each get this long; the whole handshake 3 times as long. Fabric's
 * 3 s by default: with 1 s, 20 peers in one process on a loaded machine (load 25 on 2 cores)
 * timed out nearly every TLS handshake, and redials kept the process from ever catching up.
 */
const DIAL_MS = Number(args['dial-timeout-ms']);
const TIMEOUTS = {
  dialTimeoutMs: DIAL_MS,
  connTimeoutMs: DIAL_MS,
  pingTimeoutMs: DIAL_MS,
  handshakeTimeoutMs: 3 * DIAL_MS,
  closeTimeoutMs: 1_000,
} satisfies Partial<CommOptions>;

const gc = (globalThis as { gc?: () => void }).gc;
const fdCount = (): number | undefined => {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
};
const resources = (): string[] => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap');
const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Accounting: one slot per message id, preallocated so that it does not grow the heap as it runs.

const CAPACITY = Math.ceil(PEERS * RATE * SECONDS * 1.5) + 10_000;
const targetOf = new Int16Array(CAPACITY).fill(-1);
const senderOf = new Int16Array(CAPACITY).fill(-1);
const sentAt = new Float64Array(CAPACITY);
/** 0 not received, 1 received. */
const receivedFlag = new Uint8Array(CAPACITY);
let nextId = 0;
let received = 0;
let duplicates = 0;
let misdelivered = 0;
let dropEvents = 0;
const dropsByReason: Record<string, number> = {};
const unexpected: string[] = [];
let presumedDead = 0;
const dropsByTarget = new Int32Array(PEERS);
let unattributedDrops = 0;

interface Instance {
  comm: Comm;
  /** send() targets handed to this comm instance. */
  attempts: number;
  /** drops$ events of this instance. */
  drops: number;
}

interface Slot {
  index: number;
  self: LocalPeer;
  pkiHex: string;
  port: number;
  state: 'up' | 'stopping' | 'down' | 'starting';
  instance?: Instance;
  /** [stop began, restarted] per churn of this peer, ms since start. */
  churns: Array<[number, number]>;
}

const instanceFailures: string[] = [];
let t0 = 0;
const now = (): number => performance.now() - t0;

function onReceive(slot: Slot, id: number): void {
  if (id < 0 || id >= nextId) {
    misdelivered++;
    return;
  }
  if (receivedFlag[id]) {
    duplicates++;
    return;
  }
  if (targetOf[id] !== slot.index) {
    misdelivered++;
    return;
  }
  receivedFlag[id] = 1;
  received++;
}

async function startSlot(slot: Slot, byPki: Map<string, number>, byEndpoint: Map<string, number>): Promise<void> {
  slot.state = 'starting';
  let comm: Comm | undefined;
  for (let attempt = 0; !comm; attempt++) {
    try {
      comm = await createComm({
        self: slot.self,
        listen: `127.0.0.1:${slot.port}`,
        msps: [slot.self.msp],
        tlsRootCerts: slot.self.tlsRootCerts,
        ...TIMEOUTS,
      });
    } catch (err: unknown) {
      if (attempt >= 20) throw err;
      await sleep(100);
    }
  }
  const instance: Instance = { comm, attempts: 0, drops: 0 };
  if (slot.port === 0) {
    slot.port = Number(comm.endpoint.split(':').at(-1));
    byEndpoint.set(comm.endpoint, slot.index);
  }
  comm.accept((m) => m.message.content === 'dataMsg').subscribe((m) => onReceive(slot, Number(m.message.nonce)));
  comm.drops$.subscribe((d: DroppedMessage) => {
    instance.drops++;
    dropEvents++;
    dropsByReason[d.reason] = (dropsByReason[d.reason] ?? 0) + 1;
    // Who the message was for: the PKI-ID when known, else the endpoint dialed.
    const target = d.pkiId ? byPki.get(d.pkiId.toString('hex')) : byEndpoint.get(d.endpoint);
    if (target === undefined) unattributedDrops++;
    else dropsByTarget[target]!++;
  });
  comm.presumedDead$.subscribe(() => presumedDead++);
  slot.instance = instance;
  slot.state = 'up';
}

/** Stops a slot's comm and checks that instance's books. */
async function stopSlot(slot: Slot): Promise<void> {
  const instance = slot.instance!;
  slot.state = 'stopping';
  await instance.comm.stop();
  const s = instance.comm.stats();
  const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
  if (instance.attempts !== s.sent + dropped) {
    instanceFailures.push(`peer${slot.index}: ${instance.attempts} sends but ${s.sent} written + ${dropped} dropped`);
  }
  if (instance.drops !== dropped) {
    instanceFailures.push(`peer${slot.index}: ${dropped} drops counted but ${instance.drops} on drops$`);
  }
  slot.state = 'down';
}

async function main(): Promise<number> {
  const baselineResources = resources();
  const baselineFds = fdCount();
  const dir = await mkdtemp(join(tmpdir(), 'rxgossip-soak-'));
  process.on('unhandledRejection', (e) => unexpected.push(`unhandledRejection: ${String(e)}`));
  process.on('uncaughtException', (e) => unexpected.push(`uncaughtException: ${e.stack ?? String(e)}`));
  try {
    const org = await generateOrg({ outDir: dir, peers: PEERS });
    const selves = await Promise.all(org.peers.map((p) => loadPeerDir(p.dir)));
    const slots: Slot[] = selves.map((self, index) => ({
      index,
      self,
      pkiHex: self.pkiId.toString('hex'),
      port: 0,
      state: 'down',
      churns: [],
    }));
    const byPki = new Map(slots.map((s) => [s.pkiHex, s.index] as const));
    const byEndpoint = new Map<string, number>();
    await Promise.all(slots.map((s) => startSlot(s, byPki, byEndpoint)));
    console.log(
      `soak: ${PEERS} peers, ${RATE} msg/s each (${SIZE} B), churn every ${CHURN_MS} ms (down ${DOWN_MS} ms), ${SECONDS} s; ` +
        `gc ${gc ? 'on' : 'off (run with --expose-gc)'}`,
    );

    t0 = performance.now();
    const endAt = SECONDS * 1000;
    const warmAt = endAt * WARMUP_FRACTION;
    let warmRss: number | undefined;
    let warmHeap = 0;
    let warmUnowned: number | undefined;
    let warmChurns = 0;
    let churnCount = 0;
    const payload = Buffer.alloc(SIZE, 7);

    // Sending: every TICK_MS each live peer sends RATE*TICK_MS/1000 messages (fractions carried).
    let carry = 0;
    const sender = setInterval(() => {
      carry += (RATE * TICK_MS) / 1000;
      const perPeer = Math.floor(carry);
      carry -= perPeer;
      for (const slot of slots) {
        if (slot.state !== 'up') continue;
        const inst = slot.instance!;
        for (let k = 0; k < perPeer && nextId < CAPACITY; k++) {
          let j = Math.floor(Math.random() * (PEERS - 1));
          if (j >= slot.index) j++;
          const target = slots[j]!;
          const id = nextId++;
          targetOf[id] = j;
          senderOf[id] = slot.index;
          sentAt[id] = now();
          inst.attempts++;
          try {
            inst.comm.send(
              { nonce: id, dataMsg: { payload: { seqNum: id, data: payload } } },
              { endpoint: `127.0.0.1:${target.port}`, pkiId: target.self.pkiId },
            );
          } catch (err: unknown) {
            unexpected.push(`send threw: ${String(err)}`);
          }
        }
      }
    }, TICK_MS);

    // Churn: a random live peer stopped, then restarted on the same port, one at a time.
    let churning = Promise.resolve();
    const churner = setInterval(() => {
      const up = slots.filter((s) => s.state === 'up');
      if (up.length < PEERS || now() > endAt - CHURN_MS / 2) return;
      const slot = up[Math.floor(Math.random() * up.length)]!;
      churnCount++;
      const window: [number, number] = [now(), Number.POSITIVE_INFINITY];
      slot.churns.push(window);
      churning = (async () => {
        await stopSlot(slot);
        await sleep(DOWN_MS);
        await startSlot(slot, byPki, byEndpoint);
        window[1] = now();
      })().catch((err: unknown) => void unexpected.push(`churn of peer${slot.index}: ${String(err)}`));
    }, CHURN_MS);

    /** Connection ends of every live comm: one socket each, both ends being in this process. */
    const liveConnections = (): number => slots.reduce((n, s) => n + (s.state === 'up' ? s.instance!.comm.connections().length : 0), 0);
    /** Descriptors beyond those of live connections (listeners, files, and anything leaked). */
    const unownedFds = (): number | undefined => {
      const fds = fdCount();
      return fds === undefined ? undefined : fds - liveConnections();
    };
    const status = (label: string): void => {
      const mem = process.memoryUsage();
      const conns = liveConnections();
      console.log(
        `${label.padStart(6)} rss=${mb(mem.rss)}MB heap=${mb(mem.heapUsed)}MB handles=${process.getActiveResourcesInfo().length} ` +
          `fds=${fdCount() ?? '?'} conns=${conns} up=${slots.filter((s) => s.state === 'up').length}/${PEERS} ` +
          `sent=${nextId} received=${received} dropped=${dropEvents} ${JSON.stringify(dropsByReason)} churns=${churnCount} dead=${presumedDead}`,
      );
    };
    const reporter = setInterval(() => {
      status(`t=${Math.round(now() / 1000)}s`);
      if (process.env.SOAK_DIAG) diag(slots);
    }, REPORT_MS);

    await sleep(warmAt);
    gc?.();
    warmRss = process.memoryUsage().rss;
    warmHeap = process.memoryUsage().heapUsed;
    warmUnowned = unownedFds();
    warmChurns = churnCount;
    console.log(`warm-up done at ${Math.round(now() / 1000)}s: rss=${mb(warmRss)}MB heap=${mb(warmHeap)}MB`);
    await sleep(endAt - now());

    clearInterval(sender);
    clearInterval(churner);
    await churning;
    // Let what is in flight land: until the counts stop moving for a second (at most 10 s).
    let last = -1;
    for (let i = 0; i < 40 && last !== received + dropEvents; i++) {
      last = received + dropEvents;
      await sleep(250);
    }
    gc?.();
    const endRss = process.memoryUsage().rss;
    const endHeap = process.memoryUsage().heapUsed;
    const endUnowned = unownedFds();
    status('end');
    clearInterval(reporter);

    await Promise.all(slots.filter((s) => s.state === 'up').map((s) => stopSlot(s)));
    // grpc-js keeps closed channels' reconnect-backoff timers until they fire (about 1 s).
    let leftResources = resources();
    let leftFds = fdCount();
    for (let i = 0; i < 50 && (extra(leftResources, baselineResources).length > 0 || (leftFds ?? 0) > (baselineFds ?? 0)); i++) {
      await sleep(100);
      leftResources = resources();
      leftFds = fdCount();
    }

    // The books.
    const sent = nextId;
    const lost = sent - received - dropEvents;
    let unreceived = 0;
    let unreceivedNearChurn = 0;
    const unreceivedByTarget = new Int32Array(PEERS);
    const near = (slot: Slot, t: number): boolean => slot.churns.some(([from, to]) => t >= from - IN_FLIGHT_MS && t <= to);
    for (let id = 0; id < sent; id++) {
      if (receivedFlag[id]) continue;
      unreceived++;
      unreceivedByTarget[targetOf[id]!]!++;
      if (near(slots[targetOf[id]!]!, sentAt[id]!) || near(slots[senderOf[id]!]!, sentAt[id]!)) unreceivedNearChurn++;
    }
    const growth = warmRss ? (endRss - warmRss) / warmRss : 0;
    const handlesLeft = extra(leftResources, baselineResources);
    const fdsLeft = baselineFds !== undefined && leftFds !== undefined ? leftFds - baselineFds : 0;

    const failures: string[] = [...instanceFailures, ...unexpected];
    if (lost < 0) failures.push(`${-lost} more messages received + dropped than sent (double counting)`);
    if (lost > unreceivedNearChurn) failures.push(`${lost} messages lost, but only ${unreceivedNearChurn} unreceived were sent near a stop`);
    for (let t = 0; t < PEERS; t++) {
      if (dropsByTarget[t]! > unreceivedByTarget[t]!) {
        failures.push(`peer${t}: ${dropsByTarget[t]} drops counted for it but only ${unreceivedByTarget[t]} of its messages unreceived`);
      }
    }
    if (unattributedDrops > 0) failures.push(`${unattributedDrops} drops without a known receiver`);
    if (duplicates > 0) failures.push(`${duplicates} messages received twice`);
    if (misdelivered > 0) failures.push(`${misdelivered} messages received by the wrong peer`);
    if (growth >= RSS_GROWTH_LIMIT) failures.push(`RSS grew ${(growth * 100).toFixed(1)}% after warm-up`);
    if (handlesLeft.length > 0) failures.push(`handles left after stop: ${handlesLeft.join(', ')}`);
    if (fdsLeft > 0) failures.push(`${fdsLeft} file descriptors left after stop`);
    if (received === 0) failures.push('nothing was received');

    console.log(
      `books: sent=${sent} received=${received} dropped=${dropEvents} ${JSON.stringify(dropsByReason)} lost-in-flight=${lost} ` +
        `(unreceived ${unreceived}, of which near a stop ${unreceivedNearChurn}) duplicates=${duplicates} misdelivered=${misdelivered} ` +
        `churns=${churnCount} presumed-dead=${presumedDead}`,
    );
    console.log(
      `memory: rss warm ${mb(warmRss ?? 0)}MB -> end ${mb(endRss)}MB (${(growth * 100).toFixed(1)}%), heap ${mb(warmHeap)}MB -> ${mb(endHeap)}MB; ` +
        `after stop: handles ${leftResources.length} (baseline ${baselineResources.length}), fds ${leftFds ?? '?'} (baseline ${baselineFds ?? '?'})`,
    );
    if (warmUnowned !== undefined && endUnowned !== undefined) {
      const grown = endUnowned - warmUnowned;
      const churns = churnCount - warmChurns;
      console.log(`fds beyond live connections: ${warmUnowned} after warm-up -> ${endUnowned} at the end (${churns} churns in between)`);
      if (grown > Math.max(10, churns)) {
        console.log(`WARN: ${grown} more file descriptors than live connections account for (${(grown / Math.max(1, churns)).toFixed(1)} per churn): sockets nobody owns until a comm stops`);
      }
    }
    const verdict = failures.length === 0 ? 'PASS' : 'FAIL';
    console.log(
      `${verdict} soak ${SECONDS}s ${PEERS} peers: sent ${sent} = received ${received} + dropped ${dropEvents} + in-flight ${lost}; ` +
        `rss ${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%; handles left ${handlesLeft.length}, fds left ${Math.max(0, fdsLeft)}` +
        (failures.length ? `; ${failures.join('; ')}` : ''),
    );
    return failures.length === 0 ? 0 : 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Debug aid (SOAK_DIAG=1): server-side TCP sockets of this process that no comm connection owns. */
function diag(slots: Slot[]): void {
  const out = execSync(`ss -tanH state established`).toString();
  const byPort = new Map(slots.map((s) => [s.port, s] as const));
  const inbound = new Set<string>();
  for (const s of slots) {
    if (s.state !== 'up') continue;
    for (const c of s.instance!.comm.connections()) if (c.direction === 'inbound') inbound.add(`${s.port}<-${c.endpoint}`);
  }
  const orphans: string[] = [];
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    const local = f[2]!;
    const remote = f[3]!;
    const port = Number(local.split(':').at(-1));
    const slot = byPort.get(port);
    if (!slot || !local.startsWith('127.0.0.1')) continue;
    if (!inbound.has(`${port}<-${remote}`)) orphans.push(`peer${slot.index}(${slot.state},churns ${slot.churns.length})<-${remote} q=${f[0]}/${f[1]}`);
  }
  console.log(`  diag: ${inbound.size} inbound conns, ${orphans.length} server sockets without one: ${orphans.slice(0, 12).join(' ')}`);
}

/** Entries of `now` beyond those in `base` (as multisets). */
function extra(now: readonly string[], base: readonly string[]): string[] {
  const left = [...base];
  const out: string[] = [];
  for (const r of now) {
    const i = left.indexOf(r);
    if (i >= 0) left.splice(i, 1);
    else out.push(r);
  }
  return out;
}

process.exitCode = await main();
