// The connection store's rules on live peers: simultaneous dials converge, a bad envelope closes
// only its own stream, an empty envelope is delivered (as Fabric).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import type { Comm } from '../../lib/index.js';
import { craftConnEstablish } from '../helpers/craft.js';
import { collect, eventually, first, fixturePeer, peerOf, rawClient, startPeer } from '../helpers/peers.js';
import { data, isData, seqOf } from '../helpers/messages.js';

describe('simultaneous dial', () => {
  let a: Comm;
  let b: Comm;
  before(async () => {
    [a, b] = await Promise.all([startPeer('peer0'), startPeer('peer1')]);
  });
  after(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });

  it('100 times in a row: both sides converge on the lower PKI-ID\'s dial, losing nothing', async () => {
    const lowerIsA = Buffer.compare(a.getPKIid(), b.getPKIid()) < 0;
    // Retiring the losing dial is our own decision, not a failed handshake nor a dead peer.
    const failures: string[] = [];
    const dead: string[] = [];
    const watching = [a, b].map((c) => [
      c.handshakeFailures$.subscribe((f) => failures.push(`${f.direction}: ${f.error.message}`)),
      c.presumedDead$.subscribe((p) => dead.push(p.toString('hex'))),
    ]);
    const PER_TRIAL = 5;
    for (let trial = 0; trial < 100; trial++) {
      const base = trial * PER_TRIAL;
      const atA = collect(a.accept((m) => isData(m) && seqOf(m) >= base && seqOf(m) < base + PER_TRIAL), PER_TRIAL);
      const atB = collect(b.accept((m) => isData(m) && seqOf(m) >= base && seqOf(m) < base + PER_TRIAL), PER_TRIAL);
      // Neither is connected: both dial at once.
      for (let i = 0; i < PER_TRIAL; i++) {
        a.send(data(base + i), peerOf(b));
        b.send(data(base + i), peerOf(a));
      }
      const expected = [...Array(PER_TRIAL).keys()].map((i) => base + i);
      assert.deepEqual((await atA).map(seqOf), expected, `trial ${trial} at A`);
      assert.deepEqual((await atB).map(seqOf), expected, `trial ${trial} at B`);
      await eventually(
        () => a.connections().length === 1 && b.connections().length === 1,
        5_000,
        `one connection each side (trial ${trial})`,
      );
      const [ca] = a.connections();
      const [cb] = b.connections();
      assert.equal(ca!.direction, lowerIsA ? 'outbound' : 'inbound', `trial ${trial}`);
      assert.equal(cb!.direction, lowerIsA ? 'inbound' : 'outbound', `trial ${trial}`);
      await Promise.all([a.closeConn(peerOf(b)), b.closeConn(peerOf(a))]);
      await eventually(() => a.connections().length === 0 && b.connections().length === 0, 5_000, 'closed');
    }
    const dropped = (c: Comm) => Object.values(c.stats().dropped).reduce((x, y) => x + y, 0);
    assert.equal(dropped(a) + dropped(b), 0);
    for (const sub of watching.flat()) sub.unsubscribe();
    assert.deepEqual(failures, [], 'no handshake failures reported');
    assert.deepEqual(dead, [], 'nobody presumed dead');
    assert.equal(a.stats().handshakeFailures + b.stats().handshakeFailures, 0);
  });
});

describe('closeConn while dialing', () => {
  it('cancels the dial: no failed handshake, nobody presumed dead, the queued message dropped and counted', async () => {
    const [a, b] = await Promise.all([startPeer('peer0'), startPeer('peer1')]);
    try {
      const failures: string[] = [];
      const dead: Buffer[] = [];
      const subs = [a.handshakeFailures$.subscribe((f) => failures.push(f.error.message)), a.presumedDead$.subscribe((p) => dead.push(p))];
      a.send(data(1), peerOf(b));
      await a.closeConn(peerOf(b));
      await eventually(() => a.connections().length === 0, 5_000, 'the cancelled dial is gone');
      // A later send dials again and gets through.
      const got = first(b.accept((m) => isData(m) && seqOf(m) === 2));
      a.send(data(2), peerOf(b));
      assert.equal(seqOf(await got), 2);
      for (const sub of subs) sub.unsubscribe();
      assert.deepEqual(failures, []);
      assert.deepEqual(dead, []);
      const { 'connection-closed': closed, ...others } = a.stats().dropped;
      assert.equal(closed, 1, 'the message queued on the cancelled dial is counted as closed with it');
      assert.deepEqual(Object.values(others), [0, 0, 0, 0]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe('after the handshake', () => {
  let server: Comm;
  let other: Comm;
  before(async () => {
    [server, other] = await Promise.all([startPeer('peer0'), startPeer('peer1')]);
  });
  after(async () => {
    await Promise.all([server.stop(), other.stop()]);
  });

  /** A raw client that handshakes correctly as peer2, then writes `after`. */
  async function rawSession(after: Buffer[]): Promise<{ code: number; details: string; client: grpc.Client }> {
    const peer2 = await fixturePeer('peer2');
    const client = await rawClient(server.endpoint, 'peer2');
    return new Promise((resolve) => {
      const call = client.GossipStream();
      call.on('data', () => undefined);
      call.on('error', (err: grpc.ServiceError) => resolve({ code: err.code, details: err.details, client }));
      call.on('status', (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details, client }));
      call.write(craftConnEstablish(peer2));
      for (const m of after) call.write(m);
      if (after.length === 0) resolve({ code: -1, details: 'left open', client });
    });
  }

  it('an envelope whose payload is not a GossipMessage closes that stream only', async () => {
    other.send(data(1), peerOf(server));
    await first(server.accept(isData));
    const garbage = Buffer.from([0x0a, 0x03, 0xff, 0xff, 0xff]); // Envelope{payload: <invalid>}
    const end = await rawSession([garbage]);
    end.client.close();
    assert.equal(end.code, grpc.status.INVALID_ARGUMENT);
    assert.match(end.details, /not a GossipMessage/);
    const got = first(server.accept((m) => isData(m) && seqOf(m) === 2));
    other.send(data(2), peerOf(server));
    assert.deepEqual((await got).connectionInfo.pkiId, other.getPKIid());
  });

  it('an empty Envelope decodes as an empty message and is delivered', async () => {
    const peer2 = await fixturePeer('peer2');
    const got = first(server.accept((m) => m.connectionInfo.pkiId.equals(peer2.pkiId)));
    const session = rawSession([Buffer.alloc(0)]);
    const m = await got;
    assert.equal(m.message.content, undefined);
    assert.equal(m.signedMessage.payload.length, 0);
    const end = await Promise.race([session, new Promise<null>((r) => setTimeout(r, 200, null))]);
    assert.equal(end, null, 'the stream stays open');
    await server.closeConn({ endpoint: '', pkiId: peer2.pkiId });
    const closed = await session;
    closed.client.close();
    assert.equal(closed.code, grpc.status.OK, 'closeConn ends the stream gracefully');
  });
});
