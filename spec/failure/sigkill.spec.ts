// A peer in another process killed with SIGKILL (no goodbye on the wire: the kernel closes its
// sockets): the peer in this process presumes it dead within a second, both when it had dialed
// the victim and when the victim had dialed it; the victim restarted on the same port is reached
// again; and a kill in the middle of a steady flow crashes nothing and loses nothing silently.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import type { Comm } from '../../lib/index.js';
import { eventually, first, peerOf, sleep, startPeer } from '../helpers/peers.js';
import { ChildPeer } from './child-peer.js';
import { UnexpectedErrors } from './unexpected.js';

const DETECTION_LIMIT_MS = 1_000;

const data = (seq: number, size = 32) => ({ nonce: seq, dataMsg: { payload: { seqNum: seq, data: Buffer.alloc(size, seq % 251) } } });
const totalDropped = (c: Comm): number => Object.values(c.stats().dropped).reduce((a, b) => a + b, 0);

const unexpected = new UnexpectedErrors();
const children: ChildPeer[] = [];
const comms: Comm[] = [];

function child(options: ConstructorParameters<typeof ChildPeer>[0] = {}): ChildPeer {
  const c = new ChildPeer(options);
  children.push(c);
  return c;
}

async function parent(name = 'peer0', options: Parameters<typeof startPeer>[1] = {}): Promise<Comm> {
  const c = await startPeer(name, options);
  comms.push(c);
  return c;
}

let seq = 1_000;

/** Sends to the child every 100 ms until it reports one of those messages; returns the ms taken. */
async function sendUntilReceived(from: Comm, to: { endpoint: string; pkiId: Buffer }, peer: ChildPeer, ms = 10_000): Promise<number> {
  const start = performance.now();
  const mine = new Set<number>();
  while (performance.now() - start < ms) {
    mine.add(seq);
    from.send(data(seq++), to);
    await sleep(100);
    if (peer.received.some((s) => mine.has(s))) return performance.now() - start;
  }
  throw new Error(`no message reached ${to.endpoint} within ${ms} ms (child stderr: ${peer.stderr})`);
}

/**
 * Kills the child with SIGKILL, sends it one message (presumedDead$ follows Fabric: a killed
 * process's sockets close in order, so the death shows when a send or a dial fails), and returns
 * how long `comm` took to report it on presumedDead$.
 */
async function killAndTimeDetection(comm: Comm, victim: ChildPeer, pkiId: Buffer, endpoint: string): Promise<number> {
  const dead = first(comm.presumedDead$, (id) => id.equals(pkiId), 5_000);
  // If a step below fails, the test reports that; this must not also become an unhandled rejection.
  dead.catch(() => undefined);
  const t0 = performance.now();
  victim.proc.kill('SIGKILL');
  await victim.exited;
  // The next send after the connection is seen gone: it dials, and the dial fails.
  const toVictim = () => comm.connections().filter((c) => c.pkiId.equals(pkiId));
  try {
    await eventually(() => toVictim().length === 0, 2_000, 'the connection to close');
  } catch (err: unknown) {
    // Say what was still open, and how far along: a rare failure under load needs it.
    const open = toVictim().map((c) => `${c.direction} ${c.state}, ${c.queued} queued, active ${c.active}`);
    throw new Error(`${err instanceof Error ? err.message : String(err)}; still open: ${open.join('; ')}`, { cause: err });
  }
  comm.send(data(seq++), { endpoint, pkiId });
  await dead;
  return performance.now() - t0;
}

before(() => unexpected.install());
after(async () => {
  await Promise.all(children.map((c) => c.kill('SIGKILL')));
  await Promise.all(comms.map((c) => c.stop()));
  unexpected.uninstall();
});

describe('SIGKILL of a peer process', () => {
  it('that we dialed: presumed dead within 1 s of the next send; restarted on the same port, reached again', async () => {
    const a = await parent('peer0');
    const victim = child({ name: 'peer1' });
    const remote = await victim.ready;
    await sendUntilReceived(a, remote, victim);
    const conn = a.connections().find((c) => c.pkiId.equals(remote.pkiId));
    assert.equal(conn?.direction, 'outbound');

    const detection = await killAndTimeDetection(a, victim, remote.pkiId, remote.endpoint);
    console.log(`# SIGKILL detection (outbound connection): ${detection.toFixed(1)} ms`);
    assert.ok(detection < DETECTION_LIMIT_MS, `presumed dead after ${detection.toFixed(1)} ms`);
    assert.equal(a.connections().filter((c) => c.pkiId.equals(remote.pkiId)).length, 0);

    const again = child({ name: 'peer1', listen: remote.endpoint });
    const back = await again.ready;
    assert.equal(back.endpoint, remote.endpoint);
    const took = await sendUntilReceived(a, remote, again);
    console.log(`# restarted peer reached again after ${took.toFixed(0)} ms`);
    assert.deepEqual(unexpected.describe(), []);
  });

  it('that dialed us: presumed dead within 1 s of the next send', async () => {
    const a = await parent('peer2');
    const hello = first(a.accept((m) => m.message.content === 'dataMsg'), () => true, 10_000);
    const victim = child({ name: 'peer3', dial: peerOf(a) });
    const remote = await victim.ready;
    const m = await hello;
    assert.ok(m.connectionInfo.pkiId.equals(remote.pkiId));
    const conn = a.connections().find((c) => c.pkiId.equals(remote.pkiId));
    assert.equal(conn?.direction, 'inbound');

    const detection = await killAndTimeDetection(a, victim, remote.pkiId, remote.endpoint);
    console.log(`# SIGKILL detection (inbound connection): ${detection.toFixed(1)} ms`);
    assert.ok(detection < DETECTION_LIMIT_MS, `presumed dead after ${detection.toFixed(1)} ms`);
    assert.deepEqual(unexpected.describe(), []);
  });

  it('in the middle of a steady flow: no crash, no unhandled rejection, every message sent or counted as dropped', async () => {
    const a = await parent('peer0');
    const victim = child({ name: 'peer1' });
    const remote = await victim.ready;
    const drops = { events: 0, byReason: new Map<string, number>(), unattributed: new Map<string, number>() };
    const sub = a.drops$.subscribe((d) => {
      drops.events++;
      // Every message here was for the child: each drop must say so, whatever the connection's state.
      if (!d.pkiId?.equals(remote.pkiId)) drops.unattributed.set(d.reason, (drops.unattributed.get(d.reason) ?? 0) + 1);
      drops.byReason.set(d.reason, (drops.byReason.get(d.reason) ?? 0) + 1);
    });
    let attempted = 0;
    const flow = setInterval(() => {
      for (let i = 0; i < 20; i++) {
        a.send(data(seq++, 256), remote);
        attempted++;
      }
    }, 2);
    try {
      await eventually(() => victim.received.length >= 500, 10_000, 'the flow to reach the child');
      const detection = await killAndTimeDetection(a, victim, remote.pkiId, remote.endpoint);
      attempted++; // the message killAndTimeDetection sent
      assert.ok(detection < DETECTION_LIMIT_MS, `presumed dead after ${detection.toFixed(1)} ms`);
      // Keep sending to the dead peer for a while: redials fail, their queues are dropped.
      await sleep(300);
    } finally {
      clearInterval(flow);
    }
    // Everything handed to send() was either written to a stream or dropped and counted, once
    // the last redial has failed (dialTimeoutMs later).
    await eventually(() => a.stats().sent + totalDropped(a) === attempted, 5_000, 'sent + dropped to add up to attempted');
    sub.unsubscribe();
    const stats = a.stats();
    console.log(`# mid-stream kill: attempted ${attempted}, written ${stats.sent}, child got ${victim.received.length}, dropped ${JSON.stringify(stats.dropped)}`);
    assert.equal(drops.events, totalDropped(a), 'every drop counted is reported on drops$');
    assert.deepEqual(Object.fromEntries(drops.unattributed), {}, 'drops$ events without the receiver PKI-ID, by reason');
    assert.ok((stats.dropped['connection-closed'] ?? 0) + (stats.dropped['dial-failed'] ?? 0) > 0, 'drops for the dead peer');
    assert.ok(stats.sent >= victim.received.length);
    // Per-peer order holds up to the kill: what the child got is increasing.
    for (let i = 1; i < victim.received.length; i++) assert.ok(victim.received[i]! > victim.received[i - 1]!, 'order kept');
    assert.deepEqual(unexpected.describe(), []);
  });
});
