/**
 * Scenario "push": push dissemination between two processes (mutual TLS, one connection,
 * fanout 1), beside what bounds it, all measured in the same run, rep by rep:
 *
 * - ECDSA P-256 verifications per second on one core, in this process (node:crypto verify of
 *   the signed payloads: the limit of a receiving core that verifies every message), and
 *   signatures per second;
 * - comm send(): the sender calls send() while the connection's queue holds fewer than 150
 *   messages, resumes at 50 (queueDepth$, subscribed once for the whole scenario); the receiver
 *   counts the data messages its comm receives. Twice: with one pre-encoded message sent again
 *   and again (the transport alone), and with a data message built per send as push builds
 *   one per publish (`{ data_msg: { payload: { seq_num, data } } }`, the application's path:
 *   what the push target compares with);
 * - push unsigned: the sender publishes with publishAsync() (waiting for room, never dropping);
 *   the receiver runs a push and counts its deliveries;
 * - push signed + verified: the same, with every message signed by the sender as its originator
 *   and verified by the receiver's push (verifyOrigin) before delivery, on a worker thread in
 *   batches (the default), then again on libuv's threadpool (verifyOffThread: 'threadpool');
 * - a lone message: one message in flight, the receiver's push answers each delivery by
 *   publishing one back; round-trip p50/p99 with immediate sending and with Fabric's batching
 *   window (10 messages or 10 ms).
 *
 * Rates are messages per second until the receiver counted the last one. CPU is per process:
 * µs per message, and how busy each process was (CPU time / wall time; 1.0 = one full core).
 */
import { randomBytes, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { join } from 'node:path';
import { firstValueFrom, of, take, type Subscription } from 'rxjs';
import { createComm, createPush, loadPeerDir, SignedMessage, type Comm, type Push, type RemotePeer } from './rxgossip.js';
import type { GossipMessageInit } from '../lib/wire/signed-message.js';
import { BENCH_DIR, fmtNum, fmtRatio, fmtSummary, log, markdownTable, now, percentile, summarize, Worker, type Summary } from './support.js';

export interface PushConfig {
  readonly reps: number;
  /** Length of each throughput measurement. */
  readonly durationMs: number;
  readonly payloadSize: number;
  /** Lone-message round trips timed per batching mode (after 20 untimed). */
  readonly rttSamples: number;
  /** Length of the in-process sign and verify measurements. */
  readonly cryptoMs: number;
  readonly senderDir: string;
  readonly receiverDir: string;
}

/** CPU of one measurement: µs per message and busy fraction, per process. */
export interface CpuRow {
  readonly senderUs: Summary;
  readonly receiverUs: Summary;
  readonly senderBusy: Summary;
  readonly receiverBusy: Summary;
  /**
   * Event-loop utilization of each main thread (the share of wall time it was not waiting for
   * I/O): near 1 on the side that bounds the rate; both well below 1 means a stall between them.
   */
  readonly senderLoop: Summary;
  readonly receiverLoop: Summary;
}

export interface PushResult {
  readonly payloadSize: number;
  readonly verifyPerSec: Summary;
  /** Verifications per second of CPU time: what one core does when nothing else runs on it. */
  readonly verifyPerCpuSec: Summary;
  readonly signPerSec: Summary;
  /** comm send() of one pre-encoded message, again and again. */
  readonly commSend: Summary;
  /** comm send() of a data message built per send, as push builds one per publish. */
  readonly commSendBuilt: Summary;
  readonly pushUnsigned: Summary;
  readonly pushSigned: Summary;
  /** Signed, verified on libuv's threadpool instead of the worker thread. */
  readonly pushSignedThreadpool: Summary;
  /** Per rep ratios, measured back to back within the rep. Unsigned push vs send() built per send. */
  readonly unsignedRatio: Summary;
  /** Unsigned push vs send() of a pre-encoded message. */
  readonly unsignedPreEncodedRatio: Summary;
  readonly signedRatio: Summary;
  readonly signedThreadpoolRatio: Summary;
  readonly cpu: {
    readonly commSend: CpuRow;
    readonly commSendBuilt: CpuRow;
    readonly pushUnsigned: CpuRow;
    readonly pushSigned: CpuRow;
    readonly pushSignedThreadpool: CpuRow;
  };
  readonly rtt: { readonly immediate: { p50: number; p99: number }; readonly window: { p50: number; p99: number } };
  /** Messages dropped anywhere (push drops and comm drops, both sides of the sender) — should be 0. */
  readonly drops: number;
}

export const PUSH_TARGETS = { unsignedVsSend: 0.8, signedVsVerify: 0.8, loneP50Us: 2_000 } as const;

const WARMUP_RTT = 20;

export async function runPush(config: PushConfig): Promise<PushResult> {
  const child = new Worker('push-worker', { script: join(BENCH_DIR, 'push-worker.ts') });
  let comm: Comm | undefined;
  let depthSub: Subscription | undefined;
  try {
    const [remote, self] = await Promise.all([
      child.request<{ endpoint: string; pkiIdHex: string }>('init', { dir: config.receiverDir }),
      loadPeerDir(config.senderDir),
    ]);
    comm = await createComm({ self, listen: '127.0.0.1:0' });
    const c = comm;
    const peer: RemotePeer = { endpoint: remote.endpoint, pkiId: Buffer.from(remote.pkiIdHex, 'hex') };
    const me = { endpoint: comm.endpoint, pkiIdHex: comm.getPKIid().toString('hex') };
    const data = randomBytes(config.payloadSize);
    const plain = SignedMessage.create({ dataMsg: { payload: { seqNum: 1, data } } });
    // What push builds per unsigned publish, built per send.
    let seq = 1;
    const buildData = (): GossipMessageInit => ({ dataMsg: { payload: { seqNum: ++seq, data } } });
    await comm.sendAsync(plain, peer); // connect before anyone watches the queue
    const depth = { value: 0 };
    depthSub = comm.queueDepth$(peer).subscribe((d) => (depth.value = d));

    // In-process crypto on the payloads push signs: the sender's key and identity.
    const signedSamples = Array.from({ length: 64 }, (_, i) => {
      const payload = SignedMessage.create({ dataMsg: { payload: { seqNum: i + 1, data, originPkiId: self.pkiId } } }).payload;
      return { payload, signature: self.signer.sign(payload) };
    });

    const rates = {
      verify: [] as number[],
      sign: [] as number[],
      send: [] as number[],
      sendBuilt: [] as number[],
      unsigned: [] as number[],
      signed: [] as number[],
      signedThreadpool: [] as number[],
    };
    const ratios = { unsigned: [] as number[], unsignedPreEncoded: [] as number[], signed: [] as number[], signedThreadpool: [] as number[] };
    const verifyCpu: number[] = [];
    const cpu = { commSend: newCpu(), commSendBuilt: newCpu(), pushUnsigned: newCpu(), pushSigned: newCpu(), pushSignedThreadpool: newCpu() };
    let drops = 0;
    for (let rep = 0; rep < config.reps; rep++) {
      const verify = verifyRate(self.signer.publicKey, signedSamples, config.cryptoMs);
      rates.verify.push(verify.wall);
      verifyCpu.push(verify.cpu);
      rates.sign.push(signRate(self.signer, signedSamples[0]!.payload, config.cryptoMs));

      await child.request('comm-count');
      await child.request('reset');
      const warm = await sendPaced(c, peer, () => plain, depth, Math.min(300, config.durationMs));
      await child.request('expect', { count: warm });
      rates.send.push(
        await measure(child, cpu.commSend, () => sendPaced(c, peer, () => plain, depth, config.durationMs)),
      );
      rates.sendBuilt.push(
        await measure(child, cpu.commSendBuilt, () => sendPaced(c, peer, buildData, depth, config.durationMs)),
      );

      const runs = [
        { signed: false, rates: rates.unsigned, cpu: cpu.pushUnsigned },
        { signed: true, rates: rates.signed, cpu: cpu.pushSigned },
        { signed: true, offThread: 'threadpool', rates: rates.signedThreadpool, cpu: cpu.pushSignedThreadpool },
      ];
      for (const { signed, offThread, rates: into, cpu: cpuInto } of runs) {
        await child.request('push', { peer: me, verify: signed, offThread });
        const push = createPush(c, of([peer]), { fanout: 1, sign: signed });
        // Warm up (JIT, the receiver's first verifications) without measuring.
        await child.request('reset');
        const warm = await publishFor(push, data, Math.min(300, config.durationMs));
        await child.request('expect', { count: warm });
        const rate = await measure(child, cpuInto, () => publishFor(push, data, config.durationMs));
        const stats = push.stats();
        drops += Object.values(stats.dropped).reduce((a, b) => a + b, 0);
        push.stop();
        into.push(rate);
      }
      ratios.unsigned.push(rates.unsigned.at(-1)! / rates.sendBuilt.at(-1)!);
      ratios.unsignedPreEncoded.push(rates.unsigned.at(-1)! / rates.send.at(-1)!);
      ratios.signed.push(rates.signed.at(-1)! / rates.verify.at(-1)!);
      ratios.signedThreadpool.push(rates.signedThreadpool.at(-1)! / rates.verify.at(-1)!);
      log(
        `  push rep ${rep + 1}/${config.reps}: verify ${fmtNum(rates.verify.at(-1)!)}/s, sign ${fmtNum(rates.sign.at(-1)!)}/s; ` +
          `comm send ${fmtNum(rates.send.at(-1)!)} (built per send ${fmtNum(rates.sendBuilt.at(-1)!)}), push unsigned ${fmtNum(rates.unsigned.at(-1)!)}, ` +
          `push signed ${fmtNum(rates.signed.at(-1)!)} (threadpool ${fmtNum(rates.signedThreadpool.at(-1)!)}) msgs/s`,
      );
    }

    const rtt = {
      immediate: await loneMessage(c, child, peer, me, data, 'immediate', config.rttSamples),
      window: await loneMessage(c, child, peer, me, data, 'window', Math.max(20, Math.floor(config.rttSamples / 4))),
    };
    log(`  lone message p50: immediate ${rtt.immediate.p50.toFixed(0)} µs, window ${rtt.window.p50.toFixed(0)} µs`);
    drops += Object.values(comm.stats().dropped).reduce((a, b) => a + b, 0);

    return {
      payloadSize: config.payloadSize,
      verifyPerSec: summarize(rates.verify),
      verifyPerCpuSec: summarize(verifyCpu),
      signPerSec: summarize(rates.sign),
      commSend: summarize(rates.send),
      commSendBuilt: summarize(rates.sendBuilt),
      pushUnsigned: summarize(rates.unsigned),
      pushSigned: summarize(rates.signed),
      pushSignedThreadpool: summarize(rates.signedThreadpool),
      unsignedRatio: summarize(ratios.unsigned),
      unsignedPreEncodedRatio: summarize(ratios.unsignedPreEncoded),
      signedRatio: summarize(ratios.signed),
      signedThreadpoolRatio: summarize(ratios.signedThreadpool),
      cpu: {
        commSend: summarizeCpu(cpu.commSend),
        commSendBuilt: summarizeCpu(cpu.commSendBuilt),
        pushUnsigned: summarizeCpu(cpu.pushUnsigned),
        pushSigned: summarizeCpu(cpu.pushSigned),
        pushSignedThreadpool: summarizeCpu(cpu.pushSignedThreadpool),
      },
      rtt,
      drops,
    };
  } finally {
    depthSub?.unsubscribe();
    await comm?.stop();
    await child.shutdown();
  }
}

// ---------------------------------------------------------------------------------------------
// Measurements

/** Verifications per second of wall time, and per second of CPU time (less sensitive to load). */
function verifyRate(
  publicKey: KeyObject,
  samples: ReadonlyArray<{ payload: Uint8Array; signature: Uint8Array }>,
  ms: number,
): { wall: number; cpu: number } {
  const key = { key: publicKey, dsaEncoding: 'der' as const };
  const cpu = process.cpuUsage();
  const start = now();
  let n = 0;
  while (now() - start < ms) {
    for (const s of samples) {
      if (!cryptoVerify('sha256', s.payload, key, s.signature)) throw new Error('bench: a signature did not verify');
    }
    n += samples.length;
  }
  const wall = n / ((now() - start) / 1000);
  const used = process.cpuUsage(cpu);
  return { wall, cpu: n / ((used.user + used.system) / 1e6) };
}

function signRate(signer: { sign(data: Uint8Array): Uint8Array }, payload: Uint8Array, ms: number): number {
  const start = now();
  let n = 0;
  while (now() - start < ms) {
    for (let i = 0; i < 32; i++) signer.sign(payload);
    n += 32;
  }
  return n / ((now() - start) / 1000);
}

interface CpuSamples {
  senderUs: number[];
  receiverUs: number[];
  senderBusy: number[];
  receiverBusy: number[];
  senderLoop: number[];
  receiverLoop: number[];
}

const newCpu = (): CpuSamples => ({ senderUs: [], receiverUs: [], senderBusy: [], receiverBusy: [], senderLoop: [], receiverLoop: [] });

function summarizeCpu(s: CpuSamples): CpuRow {
  return {
    senderUs: summarize(s.senderUs),
    receiverUs: summarize(s.receiverUs),
    senderBusy: summarize(s.senderBusy),
    receiverBusy: summarize(s.receiverBusy),
    senderLoop: summarize(s.senderLoop),
    receiverLoop: summarize(s.receiverLoop),
  };
}

/**
 * Resets the receiver's counter, runs `send` (which returns how many it sent), waits until the
 * receiver counted them all, and returns messages per second over the whole span.
 */
async function measure(child: Worker, cpu: CpuSamples, send: () => Promise<number>): Promise<number> {
  await child.request('reset');
  const childBefore = await child.request<NodeJS.CpuUsage>('cpu');
  const childLoopBefore = await child.request<EventLoopUtilization>('loop');
  const ownLoop = performance.eventLoopUtilization();
  const own = process.cpuUsage();
  const start = now();
  const sent = await send();
  await child.request('expect', { count: sent });
  const wallUs = (now() - start) * 1000;
  const ownUsed = process.cpuUsage(own);
  const senderLoop = performance.eventLoopUtilization(ownLoop).utilization;
  const childLoopAfter = await child.request<EventLoopUtilization>('loop');
  const receiverLoop = performance.eventLoopUtilization(childLoopAfter, childLoopBefore).utilization;
  const childAfter = await child.request<NodeJS.CpuUsage>('cpu');
  const senderUs = ownUsed.user + ownUsed.system;
  const receiverUs = childAfter.user + childAfter.system - childBefore.user - childBefore.system;
  cpu.senderUs.push(senderUs / sent);
  cpu.receiverUs.push(receiverUs / sent);
  cpu.senderBusy.push(senderUs / wallUs);
  cpu.receiverBusy.push(receiverUs / wallUs);
  cpu.senderLoop.push(senderLoop);
  cpu.receiverLoop.push(receiverLoop);
  return sent / (wallUs / 1e6);
}

/** comm.send() of `next()` while the connection's queue holds fewer than HIGH messages; resumes at LOW. */
function sendPaced(
  comm: Comm,
  peer: RemotePeer,
  next: () => SignedMessage | GossipMessageInit,
  depth: { value: number },
  durationMs: number,
): Promise<number> {
  const HIGH = 150;
  const LOW = 50;
  return new Promise((resolve) => {
    const end = now() + durationMs;
    let sent = 0;
    const pump = (): void => {
      while (depth.value < HIGH) {
        if (now() >= end) return resolve(sent);
        comm.send(next(), peer);
        sent++;
      }
      const wait = (): void => {
        if (depth.value <= LOW) pump();
        else setImmediate(wait);
      };
      setImmediate(wait);
    };
    pump();
  });
}

/** publishAsync() in a loop for `durationMs`: each call waits for room, nothing is dropped. */
async function publishFor(push: Push, data: Uint8Array, durationMs: number): Promise<number> {
  const end = now() + durationMs;
  let n = 0;
  while (now() < end) {
    // A batch per clock read: reading the clock costs about as much as a publish.
    for (let i = 0; i < 16; i++) await push.publishAsync(data);
    n += 16;
  }
  return n;
}

/** One message in flight, answered by the receiver's push; round-trip p50/p99 in µs. */
async function loneMessage(
  comm: Comm,
  child: Worker,
  peer: RemotePeer,
  me: { endpoint: string; pkiIdHex: string },
  data: Uint8Array,
  batching: 'immediate' | 'window',
  samples: number,
): Promise<{ p50: number; p99: number }> {
  await child.request('push', { peer: me, batching, echo: true });
  const push = createPush(comm, of([peer]), { fanout: 1, batching });
  try {
    const times: number[] = [];
    for (let i = 0; i < samples + WARMUP_RTT; i++) {
      const answered = firstValueFrom(push.delivered$.pipe(take(1)));
      const start = now();
      push.publish(data);
      await answered;
      if (i >= WARMUP_RTT) times.push((now() - start) * 1000);
    }
    times.sort((a, b) => a - b);
    return { p50: percentile(times, 50), p99: percentile(times, 99) };
  } finally {
    push.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering (called from run.ts)

const yesNo = (met: boolean): string => (met ? '**yes**' : '**no**');
const fmtBusy = (s: Summary): string => fmtSummary(s, (v) => v.toFixed(2));

export function pushSection(r: PushResult, reps: number, durationMs: number, loadNote: string[]): string[] {
  const cpuRow = (name: string, c: CpuRow): string[] => [
    name,
    fmtSummary(c.senderUs),
    fmtSummary(c.receiverUs),
    fmtBusy(c.senderBusy),
    fmtBusy(c.receiverBusy),
    fmtBusy(c.senderLoop),
    fmtBusy(c.receiverLoop),
  ];
  return [
    `## Push (${r.payloadSize} B payload, two processes, mutual TLS, fanout 1)`,
    '',
    markdownTable(
      ['Measure', 'msgs/s'],
      [
        ['ECDSA P-256 verify, one core, in-process (/s)', fmtSummary(r.verifyPerSec)],
        ['ECDSA P-256 verify per CPU-second, in-process', fmtSummary(r.verifyPerCpuSec)],
        ['ECDSA P-256 sign, one core, in-process (/s)', fmtSummary(r.signPerSec)],
        ['comm send() of one pre-encoded message, paced by queueDepth$', fmtSummary(r.commSend)],
        ['comm send() of a data message built per send, paced by queueDepth$', fmtSummary(r.commSendBuilt)],
        ['push, unsigned (publishAsync)', fmtSummary(r.pushUnsigned)],
        ['push, signed by the origin + verified by the receiver (worker thread)', fmtSummary(r.pushSigned)],
        ["push, signed + verified on libuv's threadpool instead", fmtSummary(r.pushSignedThreadpool)],
      ],
      [false, true],
    ),
    '',
    'CPU per message (µs), how busy each process was (CPU time / wall time of all its threads, 1.00 = one core) ' +
      "and how busy its main thread's event loop was (1.00: never waiting; the side near 1.00 bounds the rate):",
    '',
    markdownTable(
      ['Run', 'Sender µs/msg', 'Receiver µs/msg', 'Sender busy', 'Receiver busy', 'Sender loop', 'Receiver loop'],
      [
        cpuRow('comm send(), pre-encoded', r.cpu.commSend),
        cpuRow('comm send(), built per send', r.cpu.commSendBuilt),
        cpuRow('push unsigned', r.cpu.pushUnsigned),
        cpuRow('push signed + verified', r.cpu.pushSigned),
        cpuRow('push signed + verified (threadpool)', r.cpu.pushSignedThreadpool),
      ],
      [false, true, true, true, true, true, true],
    ),
    '',
    ...cpuEstimates(r),
    '',
    `Lone message (one in flight, the receiver's push answers each delivery): round trip p50 ` +
      `${fmtNum(r.rtt.immediate.p50)} µs, p99 ${fmtNum(r.rtt.immediate.p99)} µs with immediate sending (the default); ` +
      `p50 ${fmtNum(r.rtt.window.p50)} µs, p99 ${fmtNum(r.rtt.window.p99)} µs with Fabric's batching window ` +
      `(10 messages or 10 ms, each way). Messages dropped during the scenario: ${r.drops}.`,
    '',
    `${reps} repetition(s) of ${durationMs} ms per run; comm send() (pre-encoded, then built per send), push unsigned and push signed (worker, then threadpool) alternate ` +
      `within each repetition, and the in-process verify/s is measured in the same repetition; ratios are taken ` +
      `per repetition. The sender's push and the receiver's comm share the machine's cores with the rest of the run.`,
    ...loadNote,
  ];
}

/**
 * On a shared machine the rates above measure the share of the cores the run got. CPU time per
 * message does not (much): what each run could do with one core per process is
 * 1e6 / (the busier process's µs per message), compared here as the targets compare rates.
 */
function cpuEstimates(r: PushResult): string[] {
  const bound = (c: CpuRow): number => 1e6 / Math.max(c.senderUs.median, c.receiverUs.median);
  const send = bound(r.cpu.commSendBuilt);
  const unsigned = bound(r.cpu.pushUnsigned);
  const signed = bound(r.cpu.pushSigned);
  return [
    `From CPU time instead of wall time (one core per process; what the rates would be on an idle machine): ` +
      `comm send() built per send ${fmtNum(send)}/s, push unsigned ${fmtNum(unsigned)}/s (${fmtRatio(unsigned / send)}), ` +
      `push signed + verified ${fmtNum(signed)}/s against ${fmtNum(r.verifyPerCpuSec.median)} verifications per ` +
      `CPU-second (${fmtRatio(signed / r.verifyPerCpuSec.median)}). The receiver's CPU includes the thread where it ` +
      `verifies (a worker, or libuv's threadpool), so with verification it may use more than one core.`,
  ];
}

export function pushTargets(r: PushResult): string[][] {
  const u = r.unsignedRatio.median;
  const s = r.signedRatio.median;
  return [
    [
      `push unsigned ≥ ${PUSH_TARGETS.unsignedVsSend}× comm send() msgs/s (a data message built per send)`,
      `${fmtRatio(u)} (${fmtNum(r.pushUnsigned.median)} vs ${fmtNum(r.commSendBuilt.median)}; ` +
        `vs one pre-encoded message: ${fmtRatio(r.unsignedPreEncodedRatio.median)})`,
      yesNo(u >= PUSH_TARGETS.unsignedVsSend),
    ],
    [
      `push signed + verified ≥ ${PUSH_TARGETS.signedVsVerify}× one core's ECDSA verify/s`,
      `${fmtRatio(s)} (${fmtNum(r.pushSigned.median)} vs ${fmtNum(r.verifyPerSec.median)}; threadpool ${fmtRatio(r.signedThreadpoolRatio.median)})`,
      yesNo(s >= PUSH_TARGETS.signedVsVerify),
    ],
    [
      `lone message not held for a burst: push round trip p50 ≤ ${fmtNum(PUSH_TARGETS.loneP50Us)} µs (Fabric's window: ≥ 20 ms)`,
      `${fmtNum(r.rtt.immediate.p50)} µs (window: ${fmtNum(r.rtt.window.p50)} µs)`,
      yesNo(r.rtt.immediate.p50 <= PUSH_TARGETS.loneP50Us),
    ],
  ];
}
