// comm.sendTracked: sendAsync's guarantees with a callback instead of a promise, over real gRPC
// and mutual TLS on 127.0.0.1.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionClosedError, MessageTooLargeError, StoppedError, type Comm } from '../../lib/index.js';
import { collect, eventually, peerOf, startPeer } from '../helpers/peers.js';
import { data, isData, seqOf } from '../helpers/messages.js';

/** What the callbacks reported, per message index. */
function outcomes(n: number): { settle: (i: number) => (err?: Error | null) => void; results: Array<Array<Error | null | undefined>> } {
  const results: Array<Array<Error | null | undefined>> = Array.from({ length: n }, () => []);
  return { settle: (i) => (err) => results[i]!.push(err), results };
}

describe('comm.sendTracked', () => {
  it('reports each message once, without an error, when the stream took it; all arrive in order', async () => {
    const [a, b] = await Promise.all([startPeer('peer0'), startPeer('peer1')]);
    try {
      const n = 500; // more than the buffer holds (200): the rest wait for room instead of dropping
      const got = collect(b.accept(isData), n);
      const { settle, results } = outcomes(n);
      for (let i = 0; i < n; i++) a.sendTracked!(data(i, 100), peerOf(b), settle(i));
      assert.deepEqual((await got).map(seqOf), [...Array(n).keys()]);
      await eventually(() => results.every((r) => r.length > 0), 5_000, 'every callback');
      results.forEach((r, i) => assert.deepEqual(r.map((e) => e ?? 'ok'), ['ok'], `message ${i}`));
      assert.equal(a.stats().dropped.overflow, 0);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('reports what can never be sent: too large (at once), unreachable, stopped', async () => {
    const a = await startPeer('peer0', { maxSendMsgSize: 1_024 });
    const errors: Array<Error | null | undefined> = [];
    a.sendTracked!(data(1, 4_096), { endpoint: '127.0.0.1:1', pkiId: Buffer.alloc(32, 1) }, (err) => errors.push(err));
    assert.ok(errors[0] instanceof MessageTooLargeError, 'too large: reported before returning');
    a.sendTracked!(data(2), { endpoint: '127.0.0.1:1', pkiId: Buffer.alloc(32, 1) }, (err) => errors.push(err));
    await eventually(() => errors.length === 2, 5_000, 'the dial to fail');
    assert.ok(errors[1] instanceof ConnectionClosedError && /dial-failed/.test(errors[1].message), String(errors[1]));
    await a.stop();
    a.sendTracked!(data(3), { endpoint: '127.0.0.1:1' }, (err) => errors.push(err));
    assert.ok(errors[2] instanceof StoppedError);
    assert.equal(errors.length, 3);
  });

  it('when the connection closes mid-flight, every message is reported exactly once', async () => {
    const [a, b] = await Promise.all([startPeer('peer0'), startPeer('peer1')]);
    let stopped: Comm | undefined;
    try {
      await a.connect(peerOf(b));
      const n = 2_000;
      const { settle, results } = outcomes(n);
      let received = 0;
      b.accept(isData).subscribe(() => received++);
      for (let i = 0; i < n; i++) {
        a.sendTracked!(data(i, 1_024), peerOf(b), settle(i));
        // The receiver goes away with most messages still queued or waiting for room.
        if (i === 300) {
          stopped = b;
          void b.stop();
        }
      }
      await eventually(() => results.every((r) => r.length > 0), 15_000, 'every callback');
      results.forEach((r, i) => assert.equal(r.length, 1, `message ${i} reported ${r.length} times`));
      const ok = results.filter((r) => !r[0]).length;
      const failed = results.filter((r) => r[0] instanceof Error);
      assert.equal(ok + failed.length, n);
      assert.ok(failed.length > 0, 'some messages could not be sent');
      assert.ok(received <= ok, `the receiver counted ${received}, more than the ${ok} reported taken`);
      for (const [err] of failed) assert.ok(err instanceof ConnectionClosedError, String(err));
    } finally {
      await Promise.all([a.stop(), stopped ? Promise.resolve() : b.stop()]);
    }
  });
});
