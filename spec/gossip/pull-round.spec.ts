import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Long from 'long';
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { ConnectionInfo, RemotePeer } from '../../lib/comm/connection-info.js';
import type { DigestFn } from '../../lib/gossip/data-digest.js';
import { pullRound, type PullReply } from '../../lib/gossip/pull-round.js';
import { gossip } from '../../lib/proto/messages.js';
import { SignedMessage, type GossipMessageInit } from '../../lib/wire/signed-message.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));

const A: RemotePeer = { endpoint: 'a:1', pkiId: Buffer.from('A') };
const B: RemotePeer = { endpoint: 'b:1', pkiId: Buffer.from('B') };
const info = (p: RemotePeer): ConnectionInfo => ({
  pkiId: Buffer.from(p.pkiId!),
  identity: new Uint8Array(0),
  endpoint: p.endpoint,
  auth: { signedData: new Uint8Array(0), signature: new Uint8Array(0) },
});
/** A data message whose digest (see `byText`) is its text. */
const item = (text: string): gossip.IEnvelope =>
  SignedMessage.create({ dataMsg: { payload: { seqNum: 1, data: Buffer.from(text) } } }).envelope;
const byText: DigestFn = (m) => Buffer.from(m.message.dataMsg?.payload?.data ?? []).toString();

const digest = (from: RemotePeer, nonce: number, digests: string[]): PullReply => ({
  from: info(from),
  message: gossip.GossipMessage.create({ dataDig: { nonce, digests: digests.map((d) => Buffer.from(d)) } }),
});
const update = (from: RemotePeer, nonce: number, texts: string[]): PullReply => ({
  from: info(from),
  message: gossip.GossipMessage.create({ dataUpdate: { nonce, data: texts.map(item) } }),
});

/** Sends, as `frame peer kind nonce [digests]`. */
function recorder(ts: TestScheduler) {
  const log: string[] = [];
  const send = (peer: RemotePeer, m: GossipMessageInit): void => {
    const msg = gossip.GossipMessage.create(m);
    const body = msg.hello ?? msg.dataReq!;
    const digests = msg.dataReq ? ` [${(msg.dataReq.digests ?? []).map((d) => Buffer.from(d).toString()).join(',')}]` : '';
    log.push(`${ts.now()} ${peer.endpoint} ${msg.content} ${Long.fromValue(body.nonce ?? 0).toString()}${digests}`);
  };
  return { log, send };
}

const nonces = (...values: number[]) => {
  let i = 0;
  return () => Long.fromNumber(values[i++]!, true);
};

describe('pullRound (virtual time)', () => {
  it('hello → digest → request → update, correlated by each peer’s nonce', () => {
    const ts = scheduler();
    const { log, send } = recorder(ts);
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const replies = hot('--a b c 2ms d e', {
        a: digest(A, 1, ['x', 'y', 'z']),
        b: digest(B, 99, ['w']), // a nonce nobody sent: ignored
        c: digest(B, 2, ['y', 'v']), // B answered: both did, so the digest phase ends now (frame 4)
        d: update(B, 2, ['x']), // B was asked for v only: its x is dropped, but B has answered
        e: update(A, 1, ['x', 'y', 'q']), // q was not requested: dropped
      });
      const round = pullRound({
        peers: [A, B],
        replies$: replies,
        send,
        lacks: (d) => d !== 'z',
        digestOf: byText,
        digestWaitMs: 10,
        requestWaitMs: 15,
        nonce: nonces(1, 2),
        random: () => 0, // each digest from the first peer that offered it
        scheduler: ts,
      });
      expectObservable(round.pipe(map((i) => `${i.digest}@${i.from.endpoint}`))).toBe('8ms (xy|)', {
        x: 'x@a:1',
        y: 'y@a:1',
      });
      expectSubscriptions(replies.subscriptions).toBe(['^---!', '----^---!']);
    });
    assert.deepEqual(log, ['0 a:1 hello 1', '0 b:1 hello 2', '4 a:1 dataReq 1 [x,y]', '4 b:1 dataReq 2 [v]']);
  });

  it('times out: digests after digestWait, updates after requestWait', () => {
    const ts = scheduler();
    const { log, send } = recorder(ts);
    ts.run(({ hot, expectObservable }) => {
      const replies = hot('-a 20ms c 5ms d', {
        a: digest(A, 1, ['x']),
        c: update(A, 1, ['x']), // at 22: within the request wait (10 + 15)
        d: update(A, 1, ['x']), // too late, and the round is over anyway
      });
      const round = pullRound({
        peers: [A, B], // B never answers
        replies$: replies,
        send,
        lacks: () => true,
        digestOf: byText,
        digestWaitMs: 10,
        requestWaitMs: 15,
        nonce: nonces(1, 2),
        scheduler: ts,
      });
      expectObservable(round.pipe(map((i) => i.digest))).toBe('22ms (x|)');
    });
    assert.deepEqual(log, ['0 a:1 hello 1', '0 b:1 hello 2', '10 a:1 dataReq 1 [x]']);
  });

  it('ends after requestWait when an asked peer never answers', () => {
    const ts = scheduler();
    const { send } = recorder(ts);
    ts.run(({ hot, expectObservable }) => {
      const replies = hot('-a', { a: digest(A, 1, ['x']) });
      const round = pullRound({
        peers: [A],
        replies$: replies,
        send,
        lacks: () => true,
        digestOf: byText,
        digestWaitMs: 10,
        requestWaitMs: 15,
        nonce: nonces(1),
        scheduler: ts,
      });
      expectObservable(round).toBe('16ms |');
    });
  });

  it('ignores a reply with the right nonce from the wrong peer', () => {
    const ts = scheduler();
    const { log, send } = recorder(ts);
    ts.run(({ hot, expectObservable }) => {
      const replies = hot('-a', { a: digest(B, 1, ['x']) });
      const round = pullRound({
        peers: [A],
        replies$: replies,
        send,
        lacks: () => true,
        digestOf: byText,
        digestWaitMs: 10,
        requestWaitMs: 15,
        nonce: nonces(1),
        scheduler: ts,
      });
      expectObservable(round).toBe('10ms |');
    });
    assert.deepEqual(log, ['0 a:1 hello 1']);
  });

  it('requests nothing when nothing is missing, and does nothing without peers', () => {
    const ts = scheduler();
    const { log, send } = recorder(ts);
    ts.run(({ hot, expectObservable }) => {
      const replies = hot('-a', { a: digest(A, 1, ['x']) });
      const common = { replies$: replies, send, digestOf: byText, digestWaitMs: 10, requestWaitMs: 15, scheduler: ts };
      expectObservable(pullRound({ ...common, peers: [A], lacks: () => false, nonce: nonces(1) })).toBe('-|');
      expectObservable(pullRound({ ...common, peers: [], lacks: () => true })).toBe('|');
    });
    assert.deepEqual(log, ['0 a:1 hello 1']);
  });

  it('unsubscribing abandons the round: no request is sent', () => {
    const ts = scheduler();
    const { log, send } = recorder(ts);
    ts.run(({ hot, expectObservable }) => {
      const replies = hot('-a', { a: digest(A, 1, ['x']) });
      const round = pullRound({
        peers: [A, B],
        replies$: replies,
        send,
        lacks: () => true,
        digestOf: byText,
        digestWaitMs: 10,
        requestWaitMs: 15,
        nonce: nonces(1, 2),
        scheduler: ts,
      });
      expectObservable(round, '^ 5ms !').toBe('');
    });
    assert.equal(ts.actions.length, 0);
    assert.deepEqual(log, ['0 a:1 hello 1', '0 b:1 hello 2']);
  });
});
