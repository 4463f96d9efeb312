/**
 * The receiving process of the push benchmark (bench/scenario-push.ts):
 * `node --import tsx bench/push-worker.ts`, driven over IPC with the same request/reply shape as
 * bench/worker.ts. It holds one comm and, per measurement, either counts the data messages the
 * comm receives (the comm baseline) or runs a push and counts its deliveries.
 *
 * Commands (request `{ id, cmd, args }`, reply `{ id, ok, result | error }`):
 *   init { dir }                              create the comm on 127.0.0.1:0; returns endpoint, pkiIdHex
 *   comm-count                                count every data message the comm receives (no push)
 *   push { peer, verify, offThread, batching, echo }
 *                                             (re)start a push towards `peer`, counting deliveries;
 *                                             verify: check originator signatures (offThread:
 *                                             'threadpool' on libuv's, else on a worker thread);
 *                                             echo: answer each delivery by publishing a message back
 *   expect { count, timeoutMs }               resolve once `count` messages were counted since reset
 *   reset                                     zero the counter
 *   stats                                     the push's stats (or undefined)
 *   cpu                                       process.cpuUsage()
 *   loop                                      performance.eventLoopUtilization() (cumulative)
 *   exit                                      stop everything and exit
 */
import { of, type Subscription } from 'rxjs';
import { createComm, createPush, loadPeerDir, type Comm, type Push, type RemotePeer } from './rxgossip.js';
import { serveRequests, type WorkerRequestIn } from './worker-ipc.js';

type Request = WorkerRequestIn;

const ECHO = Buffer.from('echo');
let comm: Comm | undefined;
let push: Push | undefined;
let counting: Subscription | undefined;
let count = 0;
let waiter: { count: number; resolve: () => void } | undefined;

function counted(): void {
  count++;
  if (waiter && count >= waiter.count) {
    const w = waiter;
    waiter = undefined;
    w.resolve();
  }
}

function stopCounting(): void {
  counting?.unsubscribe();
  counting = undefined;
  push?.stop();
  push = undefined;
}

async function handle(req: Request): Promise<unknown> {
  const args = req.args ?? {};
  switch (req.cmd) {
    case 'init': {
      comm = await createComm({ self: await loadPeerDir(String(args.dir)), listen: '127.0.0.1:0' });
      return { endpoint: comm.endpoint, pkiIdHex: comm.getPKIid().toString('hex') };
    }
    case 'comm-count':
      stopCounting();
      counting = comm!.accept((m) => m.message.content === 'dataMsg').subscribe(counted);
      return true;
    case 'push': {
      stopCounting();
      const raw = args.peer as { endpoint: string; pkiIdHex: string };
      const peer: RemotePeer = { endpoint: raw.endpoint, pkiId: Buffer.from(raw.pkiIdHex, 'hex') };
      const p = createPush(comm!, of([peer]), {
        fanout: 1,
        verifyOrigin: args.verify === true,
        verifyOffThread: args.offThread === 'threadpool' ? 'threadpool' : true,
        batching: args.batching === 'window' ? 'window' : 'immediate',
      });
      push = p;
      const echo = args.echo === true;
      counting = p.delivered$.subscribe(() => {
        counted();
        // The sender is our only peer, so push would not forward: answer with a new message
        // (other bytes than the sender's, or the sender would take it for its own).
        if (echo) p.publish(ECHO);
      });
      return true;
    }
    case 'reset':
      count = 0;
      return true;
    case 'expect': {
      const want = Number(args.count);
      const timeoutMs = Number(args.timeoutMs ?? 60_000);
      if (count >= want) return count;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = undefined;
          reject(new Error(`expect timed out after ${timeoutMs} ms: ${count} of ${want} (${JSON.stringify(push?.stats())})`));
        }, timeoutMs);
        waiter = {
          count: want,
          resolve: () => {
            clearTimeout(timer);
            resolve(count);
          },
        };
      });
    }
    case 'stats':
      return push?.stats();
    case 'cpu':
      return process.cpuUsage();
    case 'loop':
      return performance.eventLoopUtilization();
    case 'exit':
      setImmediate(() => void shutdown());
      return true;
    default:
      throw new Error(`unknown command ${req.cmd}`);
  }
}

let exiting = false;
async function shutdown(): Promise<never> {
  if (!exiting) {
    exiting = true;
    setTimeout(() => process.exit(0), 3_000).unref();
    stopCounting();
    await comm?.stop().catch(() => undefined);
  }
  process.exit(0);
}

serveRequests(handle);
