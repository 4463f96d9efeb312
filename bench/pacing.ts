// The two one-way senders the throughput and application-path scenarios compare: rxgossip's
// send() paced by the connection's queue depth, and a raw grpc-js stream's write() paced by
// 'drain'. Each takes what to send as a function, so a scenario can hand a pre-encoded message
// or build one per send.
import type { Comm, GossipMessageInit, RemotePeer, SignedMessage } from './rxgossip.js';
import type { RawClientStream } from './raw-grpc.js';
import { now } from './support.js';

/**
 * send(), paced by the connection's queue depth: sends while the outbound buffer holds fewer than
 * HIGH messages, then waits (queueDepth$) until it is down to LOW. The buffer holds 200, so nothing
 * is dropped. Resolves with the number of messages sent in `durationMs`.
 */
export function rxSendPaced(
  comm: Comm,
  peer: RemotePeer,
  next: () => SignedMessage | GossipMessageInit,
  durationMs: number,
): Promise<number> {
  const HIGH = 150;
  const LOW = 50;
  return new Promise((resolve) => {
    const end = now() + durationMs;
    let sent = 0;
    let depth = 0;
    let waiting = false;
    let finished = false;
    const pump = (): void => {
      waiting = false;
      while (depth < HIGH) {
        if (now() >= end) {
          finished = true;
          sub.unsubscribe();
          resolve(sent);
          return;
        }
        comm.send(next(), peer);
        sent++;
      }
      waiting = true;
    };
    const sub = comm.queueDepth$(peer).subscribe((d) => {
      depth = d;
      // Resume outside the buffer's own drain loop.
      if (waiting && !finished && d <= LOW) {
        waiting = false;
        setImmediate(pump);
      }
    });
    pump();
  });
}

/** write() until it returns false, then wait for 'drain'. Resolves with the number written. */
export function rawSend(stream: RawClientStream, next: () => Buffer, durationMs: number): Promise<number> {
  return new Promise((resolve) => {
    const end = now() + durationMs;
    let sent = 0;
    const pump = (): void => {
      while (now() < end) {
        sent++;
        if (!stream.write(next())) {
          stream.once('drain', pump);
          return;
        }
      }
      resolve(sent);
    };
    pump();
  });
}

/**
 * Echo: keeps `inFlight` requests outstanding for `durationMs`, each answer sending the next one;
 * resolves with round trips per second. `listen` calls `answered` on each answer and returns how
 * to stop listening.
 */
export function echoLoop(inFlight: number, durationMs: number, sendOne: () => void, listen: (answered: () => void) => () => void): Promise<number> {
  return new Promise((resolve) => {
    let done = 0;
    let outstanding = 0;
    const start = now();
    const end = start + durationMs;
    const stop = listen(() => {
      done++;
      outstanding--;
      if (now() < end) {
        outstanding++;
        sendOne();
      } else if (outstanding === 0) {
        stop();
        resolve(done / ((now() - start) / 1000));
      }
    });
    for (; outstanding < inFlight; outstanding++) sendOne();
  });
}

/** echoLoop over a comm: `next` builds (or hands back) each request, the data messages received answer. */
export function rxEcho(
  comm: Comm,
  peer: RemotePeer,
  next: () => SignedMessage | GossipMessageInit,
  inFlight: number,
  durationMs: number,
): Promise<number> {
  return echoLoop(
    inFlight,
    durationMs,
    () => comm.send(next(), peer),
    (answered) => {
      const sub = comm.accept((m) => m.message.content === 'dataMsg').subscribe(answered);
      return () => sub.unsubscribe();
    },
  );
}
