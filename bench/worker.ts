/**
 * The benchmark's child process: `node --import tsx bench/worker.ts <name>`, driven by the parent
 * over IPC (see Worker in support.ts). It holds rxgossip comm instances and/or a raw grpc-js
 * server, echoes or counts what they receive, dials on request and reports its memory.
 *
 * Commands (request `{ id, cmd, args }`, reply `{ id, ok, result | error }`):
 *   rx-start { dirs }                         create one comm per peer dir, listening on 127.0.0.1:0
 *   raw-start { dir }                         start the raw grpc-js server with that dir's TLS pair
 *   mode { mode: 'echo' | 'count' | 'both', app? }  what to do with received DataMessages; with
 *                                             app: true, echoes answer as an application does
 *                                             (rxgossip: respond(m.message); raw: decode, re-encode)
 *                                             and the raw server decodes what it counts
 *   reset                                     zero every receive counter
 *   expect { target, indices, perComm, timeoutMs }  resolve once each listed receiver counted perComm
 *   dial { endpoint, pkiIdHex, indices, concurrency }   each listed comm connects (sendAsync one message)
 *   raw-dial { endpoint, dir, count, concurrency, ping }   open `count` raw streams (one connection each,
 *                                             with `ping` a Ping first), write one envelope on each and
 *                                             wait for one back
 *   close-peer { endpoint, pkiIdHex }         every comm closes its connection to that peer (closeConn)
 *   raw-close                                 close every raw stream opened by raw-dial
 *   connections                               live connections summed over all comms (+ raw streams open)
 *   wait-connections { atMost, timeoutMs }    resolve once that sum is <= atMost
 *   stop-comms                                stop every comm (gracefully closing their connections)
 *   mem                                       process.memoryUsage() after a full GC (if exposed)
 *   cpu                                       process.cpuUsage() (user + system µs)
 *   cpu-clock                                 the same, with the worker's performance.now() (ms) when read
 *   profile-start                             start the V8 CPU profiler (node:inspector)
 *   profile-stop { file }                     stop it and write the .cpuprofile to `file`
 *   cluster-start|join|view|fanout|publish|expect|results|reset|stop   gossip peers (cluster-peers.ts)
 *   exit                                      stop everything and exit
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { createComm, gossip, loadPeerDir, type Comm, type ReceivedMessage } from './rxgossip.js';
import {
  clusterExpect,
  clusterFanout,
  clusterJoin,
  clusterPublish,
  clusterReset,
  clusterResults,
  clusterStart,
  clusterStop,
  clusterView,
  type ClusterTimings,
} from './cluster-peers.js';
import { encodeEnvelope, openRawStream, rawClientCredentials, readTlsFiles, startRawServer, type RawServerStream } from './raw-grpc.js';
import { serveRequests, type WorkerRequestIn } from './worker-ipc.js';

type Request = WorkerRequestIn;

/** echo: answer each DataMessage with itself; count: count it; both: count and answer. */
type Mode = 'echo' | 'count' | 'both';

interface Waiter {
  readonly indices: Set<number>;
  readonly perComm: number;
  remaining: number;
  resolve(): void;
}

const name = process.argv[2] ?? 'worker';
let mode: Mode = 'count';
/** Application path: answers are built from the decoded message, and raw decodes what it gets. */
let app = false;
const comms: Comm[] = [];
/** Receive counters: index i for comm i; the raw server uses its own. */
const counts: number[] = [];
let rawCount = 0;
const waiters: Waiter[] = [];
const rawWaiters: Array<{ perComm: number; resolve(): void }> = [];
let rawServer: { close(): void } | undefined;
/** Raw streams served (open) and dialed (by raw-dial). */
let rawServed = 0;
const rawDialed: Array<() => void> = [];

function counted(index: number): void {
  const c = ++counts[index]!;
  if (waiters.length === 0) return;
  for (let w = waiters.length - 1; w >= 0; w--) {
    const waiter = waiters[w]!;
    if (c === waiter.perComm && waiter.indices.has(index) && --waiter.remaining === 0) {
      waiters.splice(w, 1);
      waiter.resolve();
    }
  }
}

function rawCounted(): void {
  rawCount++;
  for (let w = rawWaiters.length - 1; w >= 0; w--) {
    if (rawCount >= rawWaiters[w]!.perComm) rawWaiters.splice(w, 1)[0]!.resolve();
  }
}

async function rxStart(dirs: string[]): Promise<Array<{ endpoint: string; pkiIdHex: string }>> {
  const peers = await Promise.all(dirs.map((dir) => loadPeerDir(dir)));
  const created = await Promise.all(peers.map((self) => createComm({ self, listen: '127.0.0.1:0' })));
  for (const comm of created) {
    const index = comms.length;
    comms.push(comm);
    counts.push(0);
    comm
      .accept((m) => m.message.content === 'dataMsg')
      .subscribe((m: ReceivedMessage) => {
        if (mode !== 'echo') counted(index);
        if (mode !== 'count') void m.respond(app ? m.message : m.signedMessage);
      });
  }
  return created.map((comm) => ({ endpoint: comm.endpoint, pkiIdHex: comm.getPKIid().toString('hex') }));
}

async function rawStart(dir: string): Promise<{ endpoint: string }> {
  const tls = await readTlsFiles(dir);
  const server = await startRawServer(tls, (call: RawServerStream) => {
    rawServed++;
    let open = true;
    const closed = (): void => {
      if (open) rawServed--;
      open = false;
    };
    call.on('error', closed);
    call.on('cancelled', closed);
    call.on('finish', closed);
    call.on('data', (bytes: Buffer) => {
      if (app) {
        // The protobuf work an application does with what it receives, and with what it answers.
        const message = gossip.GossipMessage.decode(gossip.Envelope.decode(bytes).payload);
        if (mode !== 'echo') rawCounted();
        if (mode !== 'count') call.write(encodeEnvelope(message));
        return;
      }
      if (mode !== 'echo') rawCounted();
      if (mode !== 'count') call.write(bytes);
    });
    call.on('end', () => call.end());
  });
  rawServer = server;
  return { endpoint: server.endpoint };
}

function remove<T>(array: T[], item: T): void {
  const i = array.indexOf(item);
  if (i >= 0) array.splice(i, 1);
}

function expect(args: Record<string, unknown>): Promise<{ counts: number[] } | { count: number }> {
  const perComm = Number(args.perComm);
  const timeoutMs = Number(args.timeoutMs ?? 120_000);
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let cancel = (): void => undefined;
    const arm = (): void => {
      timer = setTimeout(() => {
        cancel();
        reject(new Error(`expect timed out after ${timeoutMs} ms (wanted ${perComm} per receiver, raw has ${rawCount})`));
      }, timeoutMs);
    };
    if (args.target === 'raw') {
      const done = (): void => {
        clearTimeout(timer);
        resolve({ count: rawCount });
      };
      if (rawCount >= perComm) return done();
      const waiter = { perComm, resolve: done };
      rawWaiters.push(waiter);
      cancel = () => remove(rawWaiters, waiter);
      return arm();
    }
    const indices = new Set((args.indices as number[] | undefined) ?? comms.map((_, i) => i));
    const done = (): void => {
      clearTimeout(timer);
      resolve({ counts: [...indices].map((i) => counts[i]!) });
    };
    let remaining = 0;
    for (const i of indices) if (counts[i]! < perComm) remaining++;
    if (remaining === 0) return done();
    const waiter: Waiter = { indices, perComm, remaining, resolve: done };
    waiters.push(waiter);
    cancel = () => remove(waiters, waiter);
    arm();
  });
}

async function dial(args: Record<string, unknown>): Promise<{ ok: number; failed: number; errors: string[]; ms: number }> {
  const peer = { endpoint: String(args.endpoint), pkiId: Buffer.from(String(args.pkiIdHex), 'hex') };
  const indices = [...(args.indices as number[])];
  const concurrency = Math.max(1, Number(args.concurrency ?? 16));
  const message = { nonce: 1, dataMsg: { payload: { seqNum: 0, data: Buffer.alloc(16) } } };
  let ok = 0;
  let failed = 0;
  const errors: string[] = [];
  const start = performance.now();
  const next = async (): Promise<void> => {
    for (let i = indices.shift(); i !== undefined; i = indices.shift()) {
      try {
        await comms[i]!.sendAsync(message, peer);
        ok++;
      } catch (err: unknown) {
        failed++;
        if (errors.length < 5) errors.push(err instanceof Error ? err.message : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, next));
  return { ok, failed, errors, ms: performance.now() - start };
}

async function rawDial(args: Record<string, unknown>): Promise<{ ok: number; failed: number; errors: string[]; ms: number }> {
  const tls = await readTlsFiles(String(args.dir));
  const credentials = rawClientCredentials(tls);
  const envelope = Buffer.from(
    gossip.Envelope.encode({
      payload: gossip.GossipMessage.encode({ nonce: 1, dataMsg: { payload: { seqNum: 0, data: Buffer.alloc(16) } } }).finish(),
    }).finish(),
  );
  let remaining = Number(args.count);
  const concurrency = Math.max(1, Number(args.concurrency ?? 16));
  let ok = 0;
  let failed = 0;
  const errors: string[] = [];
  const start = performance.now();
  const next = async (): Promise<void> => {
    while (remaining > 0) {
      remaining--;
      try {
        const raw = await openRawStream(String(args.endpoint), tls, credentials, args.ping === true);
        rawDialed.push(raw.close);
        const answered = new Promise<void>((resolve, reject) => {
          raw.stream.once('data', () => resolve());
          raw.stream.once('error', reject);
        });
        raw.stream.write(envelope);
        await answered;
        ok++;
      } catch (err: unknown) {
        failed++;
        if (errors.length < 5) errors.push(err instanceof Error ? err.message : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, next));
  return { ok, failed, errors, ms: performance.now() - start };
}

function liveConnections(): number {
  return comms.reduce((sum, comm) => sum + comm.stats().connections, 0) + rawServed + rawDialed.length;
}

async function waitConnections(atMost: number, timeoutMs: number): Promise<{ connections: number }> {
  const deadline = performance.now() + timeoutMs;
  while (liveConnections() > atMost && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { connections: liveConnections() };
}

async function memory(): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return process.memoryUsage();
}

async function stopComms(): Promise<void> {
  await Promise.all(comms.map((comm) => comm.stop()));
}

async function handle(req: Request): Promise<unknown> {
  const args = req.args ?? {};
  switch (req.cmd) {
    case 'rx-start':
      return rxStart(args.dirs as string[]);
    case 'raw-start':
      return rawStart(String(args.dir));
    case 'mode':
      mode = args.mode as Mode;
      app = args.app === true;
      return mode;
    case 'reset':
      counts.fill(0);
      rawCount = 0;
      return true;
    case 'expect':
      return expect(args);
    case 'dial':
      return dial(args);
    case 'raw-dial':
      return rawDial(args);
    case 'close-peer': {
      const peer = { endpoint: String(args.endpoint), pkiId: Buffer.from(String(args.pkiIdHex), 'hex') };
      await Promise.all(comms.map((comm) => comm.closeConn(peer)));
      return true;
    }
    case 'raw-close':
      for (const close of rawDialed.splice(0)) close();
      return true;
    case 'connections':
      return liveConnections();
    case 'wait-connections':
      return waitConnections(Number(args.atMost ?? 0), Number(args.timeoutMs ?? 10_000));
    case 'stop-comms':
      await stopComms();
      return true;
    case 'mem':
      return memory();
    case 'cpu':
      return process.cpuUsage();
    case 'cpu-clock':
      // With the worker's own clock: a busy worker answers late, and the time it took is not idle.
      return { ...process.cpuUsage(), at: performance.now() };
    case 'profile-start':
      profiler ??= new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.setSamplingInterval', { interval: 250 });
      await profiler.post('Profiler.start');
      return true;
    case 'profile-stop': {
      if (!profiler) throw new Error('profiler not started');
      const { profile } = await profiler.post('Profiler.stop');
      profiler.disconnect();
      await writeFile(String(args.file), JSON.stringify(profile));
      return args.file;
    }
    case 'cluster-start':
      return clusterStart(args.dirs as string[]);
    case 'cluster-join':
      return clusterJoin(args as { dirs: string[]; bootstrap: string[]; timings: ClusterTimings; fanout: number; spacingMs: number });
    case 'cluster-fanout':
      clusterFanout(Number(args.fanout));
      return true;
    case 'cluster-view':
      return clusterView();
    case 'cluster-publish':
      return clusterPublish(args as { plan: Array<{ id: number; peer: number; atMs: number }>; size: number });
    case 'cluster-expect':
      return clusterExpect(args as { expected: number; timeoutMs: number });
    case 'cluster-results':
      return clusterResults();
    case 'cluster-reset':
      clusterReset(args as { first: number; count: number });
      return true;
    case 'cluster-stop':
      await clusterStop();
      return true;
    case 'exit':
      setImmediate(() => void shutdown(0));
      return true;
    default:
      throw new Error(`unknown command ${req.cmd}`);
  }
}

let profiler: Session | undefined;
let exiting = false;
async function shutdown(code: number): Promise<never> {
  if (!exiting) {
    exiting = true;
    rawServer?.close();
    const timer = setTimeout(() => process.exit(code), 3_000);
    timer.unref();
    await Promise.all([stopComms(), clusterStop()]).catch(() => undefined);
  }
  process.exit(code);
}

serveRequests(handle);
process.on('uncaughtException', (err) => {
  process.stderr.write(`${name}: uncaught ${err.stack ?? String(err)}\n`);
  process.exit(1);
});
