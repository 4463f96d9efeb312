/**
 * Scenario 1: one connection, mutual TLS, two processes. The parent sends, a worker echoes or
 * counts. Measured for rxgossip and for a raw grpc-js bidi stream carrying the same Envelope bytes,
 * interleaved rep by rep so that drift hits both alike:
 *
 * - echo: 16 messages in flight, the worker answers each with respond() (raw: write() back);
 *   result in round trips per second;
 * - round trip: one message in flight, p50/p99 in microseconds, rxgossip and raw alternating
 *   message by message;
 * - one-way: the parent sends for a fixed time without dropping (rxgossip: sendAsync with a
 *   window of outstanding sends, and send() paced by queueDepth$; raw: write() until it returns
 *   false, then 'drain'), the worker counts; result in messages per second until the worker has
 *   counted the last one.
 */
import { randomBytes } from 'node:crypto';
import { gossip, SignedMessage, type Comm, type RemotePeer } from './rxgossip.js';
import type { gossip as pb } from '../lib/proto/messages.js';
import type { RawClientStream } from './raw-grpc.js';
import { startSenderPair } from './sender-pair.js';
import { echoLoop, rawSend, rxEcho, rxSendPaced } from './pacing.js';
import { log, now, percentile, summarize, Worker, type Summary } from './support.js';

export interface ThroughputConfig {
  readonly payloadSizes: readonly number[];
  readonly reps: number;
  /** Length of each echo / one-way measurement. */
  readonly durationMs: number;
  /** Round trips timed per repetition (after a warm-up). */
  readonly rttSamples: number;
  readonly inFlight: number;
  /** Outstanding sendAsync calls in the rxgossip one-way run. */
  readonly sendAsyncWindow: number;
  readonly senderDir: string;
  readonly receiverDir: string;
}

export interface PayloadResult {
  readonly size: number;
  readonly envelopeBytes: number;
  readonly echo: { rx: Summary; raw: Summary };
  readonly rttP50: { rx: Summary; raw: Summary };
  readonly rttP99: { rx: Summary; raw: Summary };
  readonly oneWay: { rxAsync: Summary; rxPaced: Summary; raw: Summary };
  /** CPU time (µs, sender and receiver processes together) per echo round trip. */
  readonly echoCpu: { rx: Summary; raw: Summary };
  /** CPU time (µs, both processes) per one-way message. */
  readonly oneWayCpu: { rxAsync: Summary; rxPaced: Summary; raw: Summary };
  /** Messages dropped by the rxgossip sender during the one-way runs (should be 0). */
  readonly oneWayDrops: number;
}

export interface ThroughputResult {
  readonly payloads: PayloadResult[];
}

const isData = (m: { message: pb.GossipMessage }): boolean => m.message.content === 'dataMsg';

export async function runThroughput(config: ThroughputConfig): Promise<ThroughputResult> {
  const pair = await startSenderPair('throughput-receiver', config.senderDir, config.receiverDir);
  const { worker, comm, peer, raw } = pair;
  try {

    const payloads: PayloadResult[] = [];
    for (const size of config.payloadSizes) {
      const data = randomBytes(size);
      const signed = SignedMessage.create({ nonce: 1, dataMsg: { payload: { seqNum: 1, data } } });
      // The baseline's bytes, built with protobufjs directly: the same Envelope.
      const rawBytes = Buffer.from(
        gossip.Envelope.encode({
          payload: gossip.GossipMessage.encode({ nonce: 1, dataMsg: { payload: { seqNum: 1, data } } }).finish(),
          signature: new Uint8Array(0),
        }).finish(),
      );
      if (!rawBytes.equals(signed.bytes)) throw new Error('raw and rxgossip envelopes differ');
      log(`throughput: ${size} B payload (${rawBytes.length} B envelope)`);

      // Warm up both paths (connection, JIT) without measuring.
      await worker.request('mode', { mode: 'echo' });
      await rxEcho(comm, peer, () => signed, config.inFlight, Math.min(500, config.durationMs));
      await rawEcho(raw.stream, rawBytes, config.inFlight, Math.min(500, config.durationMs));

      const echo = { rx: [] as number[], raw: [] as number[] };
      const p50 = { rx: [] as number[], raw: [] as number[] };
      const p99 = { rx: [] as number[], raw: [] as number[] };
      const oneWay = { rxAsync: [] as number[], rxPaced: [] as number[], raw: [] as number[] };
      const echoCpu = { rx: [] as number[], raw: [] as number[] };
      const oneWayCpu = { rxAsync: [] as number[], rxPaced: [] as number[], raw: [] as number[] };
      const dropsBefore = totalDrops(comm);
      for (let rep = 0; rep < config.reps; rep++) {
        await worker.request('mode', { mode: 'echo' });
        const c = comm;
        await withCpu(worker, echo.rx, echoCpu.rx, () => rxEcho(c, peer, () => signed, config.inFlight, config.durationMs));
        await withCpu(worker, echo.raw, echoCpu.raw, () => rawEcho(raw.stream, rawBytes, config.inFlight, config.durationMs));

        const { rx: rxRtt, raw: rawRtt } = await pairedRoundTrips(comm, peer, signed, raw.stream, rawBytes, config.rttSamples);
        p50.rx.push(percentile(rxRtt, 50));
        p99.rx.push(percentile(rxRtt, 99));
        p50.raw.push(percentile(rawRtt, 50));
        p99.raw.push(percentile(rawRtt, 99));

        await worker.request('mode', { mode: 'count' });
        await withCpu(worker, oneWay.rxAsync, oneWayCpu.rxAsync, () =>
          oneWayRun(worker, 'rx', () => rxSendAsync(c, peer, signed, config.sendAsyncWindow, config.durationMs)),
        );
        await withCpu(worker, oneWay.rxPaced, oneWayCpu.rxPaced, () =>
          oneWayRun(worker, 'rx', () => rxSendPaced(c, peer, () => signed, config.durationMs)),
        );
        await withCpu(worker, oneWay.raw, oneWayCpu.raw, () =>
          oneWayRun(worker, 'raw', () => rawSend(raw.stream, () => rawBytes, config.durationMs)),
        );
        log(
          `  rep ${rep + 1}/${config.reps}: echo rx ${echo.rx.at(-1)!.toFixed(0)} raw ${echo.raw.at(-1)!.toFixed(0)} rt/s; ` +
            `rtt p99 rx ${p99.rx.at(-1)!.toFixed(0)} raw ${p99.raw.at(-1)!.toFixed(0)} µs; one-way rx ` +
            `${oneWay.rxAsync.at(-1)!.toFixed(0)}/${oneWay.rxPaced.at(-1)!.toFixed(0)} raw ${oneWay.raw.at(-1)!.toFixed(0)} msg/s`,
        );
      }
      payloads.push({
        size,
        envelopeBytes: rawBytes.length,
        echo: { rx: summarize(echo.rx), raw: summarize(echo.raw) },
        rttP50: { rx: summarize(p50.rx), raw: summarize(p50.raw) },
        rttP99: { rx: summarize(p99.rx), raw: summarize(p99.raw) },
        oneWay: { rxAsync: summarize(oneWay.rxAsync), rxPaced: summarize(oneWay.rxPaced), raw: summarize(oneWay.raw) },
        echoCpu: { rx: summarize(echoCpu.rx), raw: summarize(echoCpu.raw) },
        oneWayCpu: { rxAsync: summarize(oneWayCpu.rxAsync), rxPaced: summarize(oneWayCpu.rxPaced), raw: summarize(oneWayCpu.raw) },
        oneWayDrops: totalDrops(comm) - dropsBefore,
      });
    }
    return { payloads };
  } finally {
    await pair.close();
  }
}

/**
 * Runs a measurement that returns messages per second, records it in `rates`, and the CPU time
 * both processes spent per message (µs) in `cpu`.
 */
export async function withCpu(worker: Worker, rates: number[], cpu: number[], run: () => Promise<number>): Promise<void> {
  const own = process.cpuUsage();
  const child = await worker.request<NodeJS.CpuUsage>('cpu');
  const start = now();
  const rate = await run();
  const seconds = (now() - start) / 1000;
  const ownUsed = process.cpuUsage(own);
  const childAfter = await worker.request<NodeJS.CpuUsage>('cpu');
  const micros = ownUsed.user + ownUsed.system + childAfter.user + childAfter.system - child.user - child.system;
  rates.push(rate);
  cpu.push(micros / (rate * seconds));
}

function totalDrops(comm: Comm): number {
  return Object.values(comm.stats().dropped).reduce((a, b) => a + b, 0);
}

// ---------------------------------------------------------------------------------------------
// Echo: `inFlight` messages outstanding; each answer sends the next one. Round trips per second.


function rawEcho(stream: RawClientStream, bytes: Buffer, inFlight: number, durationMs: number): Promise<number> {
  return echoLoop(
    inFlight,
    durationMs,
    () => stream.write(bytes),
    (answered) => {
      stream.on('data', answered);
      return () => stream.removeListener('data', answered);
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Round trip: one message in flight, rxgossip and raw grpc-js alternating message by message
// (an rxgossip round trip, then a raw one, and so on), so that every stall of the machine falls
// on both alike: a p99 is decided by a handful of samples, and timing one path after the other
// left each p99 to whatever the machine did during its own second. Returns the sorted
// round-trip times of each in microseconds.

const RTT_WARMUP = 100;

function pairedRoundTrips(
  comm: Comm,
  peer: RemotePeer,
  signed: SignedMessage,
  stream: RawClientStream,
  bytes: Buffer,
  samples: number,
): Promise<{ rx: number[]; raw: number[] }> {
  return new Promise((resolve) => {
    const rx: number[] = [];
    const raw: number[] = [];
    let sentAt = 0;
    let pairs = 0;
    const sendRx = (): void => {
      sentAt = now();
      comm.send(signed, peer);
    };
    const sendRaw = (): void => {
      sentAt = now();
      stream.write(bytes);
    };
    const sub = comm.accept(isData).subscribe(() => {
      const rtt = (now() - sentAt) * 1000;
      if (pairs >= RTT_WARMUP) rx.push(rtt);
      sendRaw();
    });
    const onData = (): void => {
      const rtt = (now() - sentAt) * 1000;
      if (pairs++ >= RTT_WARMUP) raw.push(rtt);
      if (raw.length >= samples) {
        sub.unsubscribe();
        stream.removeListener('data', onData);
        resolve({ rx: rx.sort((a, b) => a - b), raw: raw.sort((a, b) => a - b) });
        return;
      }
      sendRx();
    };
    stream.on('data', onData);
    sendRx();
  });
}

// ---------------------------------------------------------------------------------------------
// One-way: each sender runs for `durationMs` and returns how many it sent; the worker then
// confirms it has counted them all. Messages per second, over the whole span.

export async function oneWayRun(worker: Worker, target: 'rx' | 'raw', send: () => Promise<number>): Promise<number> {
  await worker.request('reset');
  const start = now();
  const sent = await send();
  await worker.request('expect', { target, perComm: sent, indices: [0] });
  return sent / ((now() - start) / 1000);
}

/** sendAsync, keeping `window` sends outstanding. */
function rxSendAsync(comm: Comm, peer: RemotePeer, signed: SignedMessage, window: number, durationMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const end = now() + durationMs;
    let sent = 0;
    let outstanding = 0;
    let stopped = false;
    const pump = (): void => {
      while (!stopped && outstanding < window) {
        if (now() >= end) {
          stopped = true;
          break;
        }
        outstanding++;
        sent++;
        comm.sendAsync(signed, peer).then(onDone, reject);
      }
      if (stopped && outstanding === 0) resolve(sent);
    };
    const onDone = (): void => {
      outstanding--;
      pump();
    };
    pump();
  });
}

