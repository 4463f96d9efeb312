/**
 * Scenario 2: fan-out. The parent's comm sends each 1 KiB message to N peers with one
 * send(message, ...peers) call; the peers are comm instances (each with its own identity and
 * server on port 0) spread round-robin over a few worker processes, which count what they get.
 * Sends are paced by the connections' queue depths (queueDepth$) so that nothing is dropped.
 * Result: messages delivered per second, summed over all receivers, until every receiver has
 * counted every message.
 */
import { randomBytes } from 'node:crypto';
import type { Subscription } from 'rxjs';
import { createComm, loadPeerDir, SignedMessage, type Comm, type RemotePeer } from './rxgossip.js';
import { log, now, summarize, Worker, type Summary } from './support.js';

export interface FanoutConfig {
  readonly peerCounts: readonly number[];
  readonly reps: number;
  readonly durationMs: number;
  readonly payloadSize: number;
  readonly workers: number;
  readonly senderDir: string;
  /** Receiver identities; at least max(peerCounts). */
  readonly receiverDirs: readonly string[];
}

export interface FanoutRow {
  readonly peers: number;
  /** Deliveries per second (messages × receivers). */
  readonly delivered: Summary;
  /** send() calls per second (each to every peer). */
  readonly rounds: Summary;
  readonly drops: number;
}

interface Placement {
  readonly worker: Worker;
  readonly index: number;
  readonly peer: RemotePeer;
}

export async function runFanout(config: FanoutConfig): Promise<FanoutRow[]> {
  const maxPeers = Math.max(...config.peerCounts);
  const workerCount = Math.min(config.workers, maxPeers);
  const workers = Array.from({ length: workerCount }, (_, i) => new Worker(`fanout-receiver-${i}`));
  let comm: Comm | undefined;
  try {
    // Peer i lives in worker i % W, at index floor(i / W) there: the first N peers are always
    // spread evenly over the workers.
    const dirsPerWorker = workers.map((_, w) => config.receiverDirs.slice(0, maxPeers).filter((_, i) => i % workerCount === w));
    log(`fan-out: starting ${maxPeers} receiver comms in ${workerCount} processes`);
    const [started, self] = await Promise.all([
      Promise.all(
        workers.map((w, i) => w.request<Array<{ endpoint: string; pkiIdHex: string }>>('rx-start', { dirs: dirsPerWorker[i] })),
      ),
      loadPeerDir(config.senderDir),
    ]);
    await Promise.all(workers.map((w) => w.request('mode', { mode: 'count' })));
    const placements: Placement[] = Array.from({ length: maxPeers }, (_, i) => {
      const w = i % workerCount;
      const index = Math.floor(i / workerCount);
      const remote = started[w]![index]!;
      return { worker: workers[w]!, index, peer: { endpoint: remote.endpoint, pkiId: Buffer.from(remote.pkiIdHex, 'hex') } };
    });
    comm = await createComm({ self, listen: '127.0.0.1:0' });
    const signed = SignedMessage.create({ nonce: 1, dataMsg: { payload: { seqNum: 1, data: randomBytes(config.payloadSize) } } });

    const rows: FanoutRow[] = [];
    for (const n of config.peerCounts) {
      const targets = placements.slice(0, n);
      const peers = targets.map((t) => t.peer);
      log(`fan-out: ${n} peers`);
      // Connect every peer, then warm up, before measuring.
      await Promise.all(peers.map((p) => comm!.sendAsync(signed, p)));
      await measure(comm, signed, targets, workers, Math.min(500, config.durationMs));
      const dropsBefore = totalDrops(comm);
      const delivered: number[] = [];
      const rounds: number[] = [];
      for (let rep = 0; rep < config.reps; rep++) {
        const r = await measure(comm, signed, targets, workers, config.durationMs);
        delivered.push(r.delivered);
        rounds.push(r.rounds);
        log(`  rep ${rep + 1}/${config.reps}: ${r.delivered.toFixed(0)} deliveries/s`);
      }
      rows.push({ peers: n, delivered: summarize(delivered), rounds: summarize(rounds), drops: totalDrops(comm) - dropsBefore });
    }
    return rows;
  } finally {
    await comm?.stop();
    await Promise.all(workers.map((w) => w.shutdown()));
  }
}

async function measure(
  comm: Comm,
  signed: SignedMessage,
  targets: readonly Placement[],
  workers: readonly Worker[],
  durationMs: number,
): Promise<{ delivered: number; rounds: number }> {
  await Promise.all(workers.map((w) => w.request('reset')));
  const start = now();
  const rounds = await sendRounds(comm, signed, targets.map((t) => t.peer), durationMs);
  await Promise.all(
    workers.map((w) => {
      const indices = targets.filter((t) => t.worker === w).map((t) => t.index);
      return indices.length === 0 ? undefined : w.request('expect', { target: 'rx', indices, perComm: rounds });
    }),
  );
  const seconds = (now() - start) / 1000;
  return { delivered: (rounds * targets.length) / seconds, rounds: rounds / seconds };
}

/**
 * Calls send(message, ...peers) for `durationMs`, pausing while any connection has HIGH or more
 * messages queued until all are down to LOW. Returns the number of calls.
 */
function sendRounds(comm: Comm, signed: SignedMessage, peers: readonly RemotePeer[], durationMs: number): Promise<number> {
  const HIGH = 150;
  const LOW = 50;
  return new Promise((resolve) => {
    const end = now() + durationMs;
    let rounds = 0;
    let congested = 0;
    let waiting = false;
    let finished = false;
    const subs: Subscription[] = [];
    const pump = (): void => {
      waiting = false;
      while (congested === 0) {
        if (now() >= end) {
          finished = true;
          for (const s of subs) s.unsubscribe();
          resolve(rounds);
          return;
        }
        comm.send(signed, ...peers);
        rounds++;
      }
      waiting = true;
    };
    for (const peer of peers) {
      let over = false;
      subs.push(
        comm.queueDepth$(peer).subscribe((depth) => {
          if (!over && depth >= HIGH) {
            over = true;
            congested++;
          } else if (over && depth <= LOW) {
            over = false;
            // Resume outside the buffer's own drain loop.
            if (--congested === 0 && waiting && !finished) {
              waiting = false;
              setImmediate(pump);
            }
          }
        }),
      );
    }
    pump();
  });
}

function totalDrops(comm: Comm): number {
  return Object.values(comm.stats().dropped).reduce((a, b) => a + b, 0);
}
