/**
 * Scenario 1b: the path applications take. Section 1 sends pre-encoded envelopes; applications
 * do not hold those: they build a GossipMessage for every send() and answer a received one with
 * respond(m.message). Measured here, beside raw grpc-js doing the same protobuf work in the same
 * run (rep by rep, alternating):
 *
 * - echo: 16 in flight; the client builds a fresh `GossipMessage{dataMsg}` per send and decodes
 *   every answer; the server answers each with respond(m.message) (raw: decodes the Envelope and
 *   its GossipMessage, encodes both again, writes);
 * - one-way: the client builds a message per send() (paced by queueDepth$ as in section 1; raw:
 *   encodes per write, write()/'drain'); the receiver decodes and counts (raw: decodes both too).
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { gossip } from './rxgossip.js';
import type { gossip as pb } from '../lib/proto/messages.js';
import { encodeEnvelope, type RawClientStream } from './raw-grpc.js';
import { startSenderPair } from './sender-pair.js';
import { echoLoop, rawSend, rxEcho, rxSendPaced } from './pacing.js';
import { oneWayRun, withCpu } from './scenario-throughput.js';
import { log, summarize, type Summary } from './support.js';

export interface AppPathConfig {
  readonly payloadSize: number;
  readonly reps: number;
  readonly durationMs: number;
  readonly inFlight: number;
  readonly senderDir: string;
  readonly receiverDir: string;
}

export interface AppPathResult {
  readonly payloadSize: number;
  readonly echo: { rx: Summary; raw: Summary };
  readonly oneWay: { rx: Summary; raw: Summary };
  /** CPU time (µs, both processes) per round trip / per message. */
  readonly echoCpu: { rx: Summary; raw: Summary };
  readonly oneWayCpu: { rx: Summary; raw: Summary };
  /** Messages dropped by rxgossip during the runs (should be 0). */
  readonly drops: number;
  /** Ratio rxgossip/raw of each repetition, in order (the alternation pairs them). */
  readonly echoRatios: readonly number[];
  readonly oneWayRatios: readonly number[];
}

export async function runAppPath(config: AppPathConfig): Promise<AppPathResult> {
  const pair = await startSenderPair('app-path-receiver', config.senderDir, config.receiverDir);
  const { worker, comm, peer, raw } = pair;
  try {
    const c = comm;
    const data = randomBytes(config.payloadSize);
    let seq = 0;
    const build = (): pb.IGossipMessage => ({ nonce: 1, dataMsg: { payload: { seqNum: ++seq, data } } });
    log(`app path: ${config.payloadSize} B payload, a message built per send`);
    // BENCH_PROFILE_DIR=dir: CPU profiles of both processes during each run of the first repetition.
    const profileDir = process.env.BENCH_PROFILE_DIR;
    const profile = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
      if (!profileDir) return run();
      const session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 250 });
      await Promise.all([session.post('Profiler.start'), worker.request('profile-start')]);
      const result = await run();
      const { profile: own } = await session.post('Profiler.stop');
      session.disconnect();
      await Promise.all([
        writeFile(join(profileDir, `app-${name}-sender.cpuprofile`), JSON.stringify(own)),
        worker.request('profile-stop', { file: join(profileDir, `app-${name}-receiver.cpuprofile`) }),
      ]);
      return result;
    };

    await worker.request('mode', { mode: 'echo', app: true });
    await rxEcho(c, peer, build, config.inFlight, Math.min(500, config.durationMs));
    await rawEcho(raw.stream, build, config.inFlight, Math.min(500, config.durationMs));

    const echo = { rx: [] as number[], raw: [] as number[] };
    const echoCpu = { rx: [] as number[], raw: [] as number[] };
    const oneWay = { rx: [] as number[], raw: [] as number[] };
    const oneWayCpu = { rx: [] as number[], raw: [] as number[] };
    const drops = (): number => Object.values(c.stats().dropped).reduce((a, b) => a + b, 0);
    const dropsBefore = drops();
    for (let rep = 0; rep < config.reps; rep++) {
      await worker.request('mode', { mode: 'echo', app: true });
      // Alternate which goes first, so that neither always runs in the other's wake.
      const profiled = rep === 0 ? profile : async <T>(_: string, run: () => Promise<T>): Promise<T> => run();
      const echoRuns = [
        () => profiled('rx-echo', () => withCpu(worker, echo.rx, echoCpu.rx, () => rxEcho(c, peer, build, config.inFlight, config.durationMs))),
        () => profiled('raw-echo', () => withCpu(worker, echo.raw, echoCpu.raw, () => rawEcho(raw.stream, build, config.inFlight, config.durationMs))),
      ];
      for (const run of rep % 2 === 0 ? echoRuns : echoRuns.reverse()) await run();
      await worker.request('mode', { mode: 'count', app: true });
      const oneWayRuns = [
        () => profiled('rx-oneway', () => withCpu(worker, oneWay.rx, oneWayCpu.rx, () => oneWayRun(worker, 'rx', () => rxSendPaced(c, peer, build, config.durationMs)))),
        () => profiled('raw-oneway', () => withCpu(worker, oneWay.raw, oneWayCpu.raw, () => oneWayRun(worker, 'raw', () => rawSend(raw.stream, () => encodeEnvelope(build()), config.durationMs)))),
      ];
      for (const run of rep % 2 === 0 ? oneWayRuns : oneWayRuns.reverse()) await run();
      log(
        `  rep ${rep + 1}/${config.reps}: echo rx ${echo.rx.at(-1)!.toFixed(0)} raw ${echo.raw.at(-1)!.toFixed(0)} rt/s ` +
          `(${(echo.rx.at(-1)! / echo.raw.at(-1)!).toFixed(2)}×); one-way rx ${oneWay.rx.at(-1)!.toFixed(0)} raw ` +
          `${oneWay.raw.at(-1)!.toFixed(0)} msg/s (${(oneWay.rx.at(-1)! / oneWay.raw.at(-1)!).toFixed(2)}×)`,
      );
    }
    return {
      payloadSize: config.payloadSize,
      echo: { rx: summarize(echo.rx), raw: summarize(echo.raw) },
      oneWay: { rx: summarize(oneWay.rx), raw: summarize(oneWay.raw) },
      echoCpu: { rx: summarize(echoCpu.rx), raw: summarize(echoCpu.raw) },
      oneWayCpu: { rx: summarize(oneWayCpu.rx), raw: summarize(oneWayCpu.raw) },
      drops: drops() - dropsBefore,
      echoRatios: echo.rx.map((v, i) => v / echo.raw[i]!),
      oneWayRatios: oneWay.rx.map((v, i) => v / oneWay.raw[i]!),
    };
  } finally {
    await pair.close();
  }
}


function rawEcho(stream: RawClientStream, build: () => pb.IGossipMessage, inFlight: number, durationMs: number): Promise<number> {
  return echoLoop(
    inFlight,
    durationMs,
    () => stream.write(encodeEnvelope(build())),
    (answered) => {
      const onData = (bytes: Buffer): void => {
        // What the rxgossip client does with every answer: the Envelope and its GossipMessage.
        const message = gossip.GossipMessage.decode(gossip.Envelope.decode(bytes).payload);
        if (message.content === 'dataMsg') answered();
      };
      stream.on('data', onData);
      return () => stream.removeListener('data', onData);
    },
  );
}

