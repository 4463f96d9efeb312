// A peer that stops reading: a raw grpc-js client (no rxgossip code) that handshakes correctly as
// fixture peer1, then pauses its stream and never reads. The rxgossip peer sending to it fills
// that connection's buffer (sendBufferSize 20) and applies the overflow policy, while messages to
// a healthy peer keep flowing at the same time and send() never blocks the caller.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import {
  BufferOverflowError,
  gossip,
  type Comm,
  type DroppedMessage,
  type LocalPeer,
  type OverflowPolicy,
  type ReceivedMessage,
} from '../../lib/index.js';
import type { ClientGossipStream, GossipClient } from '../../lib/wire/service.js';
import { craftConnEstablish } from '../helpers/craft.js';
import { eventually, first, fixturePeer, peerOf, rawClient, sleep, startPeer } from '../helpers/peers.js';
import { UnexpectedErrors } from './unexpected.js';

const BUFFER = 20;
const TICKS = 60;
const PER_TICK = 10;
const TOTAL = TICKS * PER_TICK;
/** Large enough that HTTP/2 flow control (64 KiB per stream) stops a paused reader early. */
const SIZE = 2_048;

const data = (seq: number) => ({ nonce: seq, dataMsg: { payload: { seqNum: seq, data: Buffer.alloc(SIZE, seq % 251) } } });
const seqOfEnvelope = (bytes: Buffer): number => {
  const envelope = gossip.Envelope.decode(bytes);
  return Number(gossip.GossipMessage.decode(envelope.payload).dataMsg!.payload!.seqNum);
};

/** A raw client that handshakes as `as`, reads the server's ConnEstablish, then stops reading. */
class StuckReader {
  readonly got: Buffer[] = [];
  private constructor(
    readonly client: GossipClient,
    readonly call: ClientGossipStream,
  ) {}

  static async connect(server: Comm, as: LocalPeer, name: string): Promise<StuckReader> {
    const client = await rawClient(server.endpoint, name);
    const call = client.GossipStream();
    const reader = new StuckReader(client, call);
    call.on('error', () => undefined);
    call.on('data', (d: Buffer) => {
      reader.got.push(d);
      if (reader.got.length === 1) call.pause();
    });
    call.write(craftConnEstablish(as));
    await eventually(() => server.connections().some((c) => c.pkiId.equals(as.pkiId)), 5_000, 'the stuck reader registered');
    return reader;
  }

  /** seqNums of the data messages read so far (the server's ConnEstablish excluded). */
  get seqs(): number[] {
    return this.got.slice(1).map(seqOfEnvelope);
  }

  resume(): void {
    this.call.resume();
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

interface Run {
  /** Longest single send() call, in ms. */
  maxSendMs: number;
  /** Time spent inside send() over the whole flow, in ms. */
  totalSendMs: number;
  throws: unknown[];
}

const unexpected = new UnexpectedErrors();
before(() => unexpected.install());
after(() => unexpected.uninstall());

for (const policy of ['drop-newest', 'drop-oldest', 'error'] as const satisfies readonly OverflowPolicy[]) {
  describe(`a reader that stops reading, overflow policy ${policy}`, () => {
    let server: Comm;
    let healthy: Comm;
    let stuck: StuckReader;
    let peer1: LocalPeer;
    const drops: DroppedMessage[] = [];
    const healthySeqs: number[] = [];
    let run: Run;

    before(async () => {
      peer1 = await fixturePeer('peer1');
      [server, healthy] = await Promise.all([startPeer('peer0', { sendBufferSize: BUFFER, overflowPolicy: policy }), startPeer('peer2')]);
      server.drops$.subscribe((d) => drops.push(d));
      healthy.accept((m: ReceivedMessage) => m.message.content === 'dataMsg').subscribe((m) => {
        const s = Number(m.message.dataMsg!.payload!.seqNum);
        if (s >= 0) healthySeqs.push(s);
      });
      // Open the connection to the healthy peer first: messages queued while dialing are not the point.
      const warm = first(healthy.accept((m) => m.message.content === 'empty'));
      server.send({ empty: {} }, peerOf(healthy));
      await warm;
      stuck = await StuckReader.connect(server, peer1, 'peer1');
      run = await flow(server, { endpoint: '127.0.0.1:1', pkiId: peer1.pkiId }, peerOf(healthy));
    });
    after(async () => {
      stuck?.close();
      await Promise.all([server?.stop(), healthy?.stop()]);
    });

    it('fills the stuck connection: its buffer is full and overflow drops are counted and reported for that peer only', () => {
      const conn = server.connections().find((c) => c.pkiId.equals(peer1.pkiId));
      assert.equal(conn?.queued, BUFFER);
      const overflow = server.stats().dropped.overflow;
      assert.ok(overflow > TOTAL / 2, `overflow ${overflow}`);
      assert.equal(drops.length, overflow, 'each overflow drop on drops$');
      for (const d of drops) {
        assert.equal(d.reason, 'overflow');
        assert.ok(d.pkiId?.equals(peer1.pkiId), 'drop attributed to the stuck peer');
      }
      if (policy === 'error') {
        assert.equal(run.throws.length, overflow, 'one BufferOverflowError per message refused');
        for (const e of run.throws) assert.ok(e instanceof BufferOverflowError, `got ${String(e)}`);
      } else {
        assert.equal(run.throws.length, 0);
      }
    });

    it('keeps delivering every message to the healthy peer, in order, at the same time', async () => {
      await eventually(() => healthySeqs.length >= TOTAL, 5_000, 'every message at the healthy peer');
      assert.deepEqual(healthySeqs, [...Array(TOTAL).keys()]);
    });

    it('send() never blocks the caller', () => {
      console.log(`# ${policy}: max send() ${run.maxSendMs.toFixed(2)} ms, total in send() ${run.totalSendMs.toFixed(1)} ms for ${TOTAL} sends`);
      assert.ok(run.maxSendMs < 100, `slowest send() took ${run.maxSendMs} ms`);
      assert.ok(run.totalSendMs < 500, `${run.totalSendMs} ms spent in send()`);
      // A tight burst at the full buffer returns at once too.
      const start = performance.now();
      for (let i = 0; i < 5_000; i++) {
        try {
          server.send(data(TOTAL + i), { endpoint: '127.0.0.1:1', pkiId: peer1.pkiId });
        } catch (err: unknown) {
          assert.ok(policy === 'error' && err instanceof BufferOverflowError);
        }
      }
      const burst = performance.now() - start;
      assert.ok(burst < 1_000, `5000 sends to a full buffer took ${burst} ms`);
    });

    it('when the reader reads again, what was kept arrives, as the policy says', async () => {
      const sentToStuck = TOTAL + 5_000;
      stuck.resume();
      await eventually(
        () => stuck.seqs.length + server.stats().dropped.overflow === sentToStuck,
        5_000,
        'received + dropped to add up to sent',
      );
      await sleep(50);
      const seqs = stuck.seqs;
      assert.equal(seqs.length + server.stats().dropped.overflow, sentToStuck, 'nothing lost beyond counted drops');
      for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! > seqs[i - 1]!, 'order kept');
      const last = sentToStuck - 1;
      if (policy === 'drop-oldest') {
        // The newest messages stayed; older ones were evicted: the tail is the last BUFFER sent.
        assert.deepEqual(seqs.slice(-BUFFER), [...Array(BUFFER).keys()].map((i) => last - BUFFER + 1 + i));
      } else {
        // New messages were refused: what arrives is exactly the first ones sent, without a gap.
        assert.deepEqual(seqs, [...Array(seqs.length).keys()]);
        assert.ok(!seqs.includes(last));
      }
      assert.deepEqual(unexpected.describe(), []);
    });
  });
}

/** TICKS rounds, every 5 ms, of PER_TICK sends to both peers (one call each), timing every send(). */
async function flow(server: Comm, stuckPeer: { endpoint: string; pkiId: Buffer }, healthyPeer: { endpoint: string; pkiId: Buffer }): Promise<Run> {
  const run: Run = { maxSendMs: 0, totalSendMs: 0, throws: [] };
  let seq = 0;
  for (let t = 0; t < TICKS; t++) {
    for (let i = 0; i < PER_TICK; i++) {
      const message = data(seq++);
      const start = performance.now();
      try {
        // The stuck peer first: under 'error' the healthy peer must still get the message.
        server.send(message, stuckPeer, healthyPeer);
      } catch (err: unknown) {
        run.throws.push(err);
      }
      const took = performance.now() - start;
      run.totalSendMs += took;
      run.maxSendMs = Math.max(run.maxSendMs, took);
    }
    await sleep(5);
  }
  return run;
}
