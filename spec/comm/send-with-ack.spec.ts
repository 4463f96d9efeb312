// Fabric 2.x SendWithAck between live peers: acks, nacks with their text, timeouts, minAck.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Subscription } from 'rxjs';
import type { Comm } from '../../lib/index.js';
import { peerOf, startPeer } from '../helpers/peers.js';
import { isData } from '../helpers/messages.js';

describe('sendWithAck', () => {
  let a: Comm;
  let acker: Comm;
  let nacker: Comm;
  let silent: Comm;
  const subs: Subscription[] = [];
  const seenByA: string[] = [];

  before(async () => {
    [a, acker, nacker, silent] = await Promise.all(['peer0', 'peer1', 'peer2', 'peer3'].map((p) => startPeer(p)));
    subs.push(
      acker.accept(isData).subscribe((m) => void m.ack()),
      nacker.accept(isData).subscribe((m) => void m.ack(new Error('ledger height too low'))),
      a.accept().subscribe((m) => seenByA.push(m.message.content ?? 'none')),
    );
  });
  after(async () => {
    for (const s of subs) s.unsubscribe();
    await Promise.all([a, acker, nacker, silent].map((c) => c.stop()));
  });

  const msg = { dataMsg: { payload: { seqNum: 1 } } };

  it('aggregates acks and nacks with their error text', async () => {
    const result = await a.sendWithAck(msg, 2_000, 2, peerOf(acker), peerOf(nacker));
    assert.equal(result.ackCount, 1);
    assert.equal(result.nackCount, 1);
    assert.deepEqual([...result.errors()], [['ledger height too low', 1]]);
    const byPeer = new Map(result.outcomes.map((o) => [Buffer.from(o.peer.pkiId!).toString('hex'), o.error]));
    assert.equal(byPeer.get(acker.getPKIid().toString('hex')), '');
    assert.equal(byPeer.get(nacker.getPKIid().toString('hex')), 'ledger height too low');
  });

  it('a peer that never acks times out', async () => {
    const started = Date.now();
    const result = await a.sendWithAck(msg, 300, 2, peerOf(acker), peerOf(silent));
    assert.ok(Date.now() - started >= 280);
    assert.equal(result.ackCount, 1);
    const silentOutcome = result.outcomes.find((o) => Buffer.from(o.peer.pkiId!).equals(silent.getPKIid()));
    assert.match(silentOutcome!.error, /timed out/);
  });

  it('returns as soon as minAck peers acknowledged', async () => {
    const started = Date.now();
    const result = await a.sendWithAck(msg, 5_000, 1, peerOf(acker), peerOf(silent));
    assert.ok(Date.now() - started < 2_000, 'did not wait for the silent peer');
    assert.equal(result.ackCount, 1);
    assert.equal(result.outcomes.length, 2);
  });

  it('acks are consumed by sendWithAck, not delivered to acceptors', () => {
    assert.ok(!seenByA.includes('ack'), `A's acceptors saw ${seenByA.join(',')}`);
  });

  it('each send uses a fresh nonce', async () => {
    const nonces: string[] = [];
    const sub = acker.accept(isData).subscribe((m) => nonces.push(m.message.nonce.toString()));
    await a.sendWithAck(msg, 2_000, 1, peerOf(acker));
    await a.sendWithAck(msg, 2_000, 1, peerOf(acker));
    sub.unsubscribe();
    assert.equal(nonces.length, 2);
    assert.notEqual(nonces[0], nonces[1]);
  });
});
