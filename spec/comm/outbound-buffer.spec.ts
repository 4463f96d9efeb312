// The outbound buffer against a real node Writable with a tiny highWaterMark, so that write()
// returns false and 'drain' comes exactly as from a gRPC stream.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { OutboundBuffer, type DropReason, type OutboundItem } from '../../lib/comm/outbound-buffer.js';
import { BufferOverflowError, ConnectionClosedError } from '../../lib/index.js';

/** A writable that holds each write until release() is called. */
function slowSink() {
  const written: string[] = [];
  const pending: Array<() => void> = [];
  const sink = new Writable({
    objectMode: true,
    highWaterMark: 2,
    write(chunk: Buffer, _enc, cb) {
      written.push(chunk.toString());
      pending.push(() => cb());
    },
  });
  const release = async (n = Infinity): Promise<void> => {
    for (let i = 0; i < n && pending.length > 0; i++) {
      pending.shift()!();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { sink, written, release, pending };
}

const item = (s: string): OutboundItem => ({ bytes: Buffer.from(s) });

function buffer(capacity: number, policy: 'drop-newest' | 'drop-oldest' | 'error') {
  const drops: Array<[string, DropReason]> = [];
  const b = new OutboundBuffer(capacity, policy, (i, r) => drops.push([i.bytes.toString(), r]));
  return { b, drops };
}

describe('OutboundBuffer', () => {
  it('queues before a stream is attached and writes in order once it is', async () => {
    const { b } = buffer(10, 'drop-newest');
    const { sink, written, release } = slowSink();
    for (const s of ['a', 'b', 'c']) b.next(item(s));
    assert.equal(b.depth, 3);
    b.attach(sink);
    await release();
    assert.deepEqual(written, ['a', 'b', 'c']);
    assert.equal(b.depth, 0);
  });

  it('stops writing when the stream says so and resumes on drain', async () => {
    const { b } = buffer(100, 'drop-newest');
    const { sink, written, release } = slowSink();
    b.attach(sink);
    for (let i = 0; i < 10; i++) b.next(item(String(i)));
    // highWaterMark 2: the first write is in progress, one more is buffered by the stream.
    assert.ok(written.length <= 2, `written ${written.length}`);
    assert.ok(b.depth >= 8);
    await release();
    assert.deepEqual(written, [...Array(10).keys()].map(String));
    assert.equal(b.depth, 0);
  });

  it('drop-newest refuses new messages when full and reports each one', () => {
    const { b, drops } = buffer(3, 'drop-newest');
    const accepted = ['a', 'b', 'c', 'd', 'e'].map((s) => b.next(item(s)));
    assert.deepEqual(accepted, [true, true, true, false, false]);
    assert.deepEqual(drops, [
      ['d', 'overflow'],
      ['e', 'overflow'],
    ]);
    assert.deepEqual(b.takeAll().map((i) => i.bytes.toString()), ['a', 'b', 'c']);
  });

  it('drop-oldest evicts the oldest queued message', () => {
    const { b, drops } = buffer(3, 'drop-oldest');
    for (const s of ['a', 'b', 'c', 'd', 'e']) b.next(item(s));
    assert.deepEqual(drops, [
      ['a', 'overflow'],
      ['b', 'overflow'],
    ]);
    assert.deepEqual(b.takeAll().map((i) => i.bytes.toString()), ['c', 'd', 'e']);
  });

  it('error throws BufferOverflowError and still counts the drop', () => {
    const { b, drops } = buffer(1, 'error');
    b.next(item('a'));
    assert.throws(() => b.next(item('b')), BufferOverflowError);
    assert.deepEqual(drops, [['b', 'overflow']]);
  });

  it('nextBlocking waits for room instead of dropping, and resolves once written', async () => {
    const { b, drops } = buffer(2, 'drop-newest');
    const { sink, written, release } = slowSink();
    const done: string[] = [];
    const promises = ['a', 'b', 'c', 'd'].map((s) => b.nextBlocking(Buffer.from(s)).then(() => done.push(s)));
    assert.equal(b.depth, 2);
    b.attach(sink);
    await release();
    await Promise.all(promises);
    assert.deepEqual(written, ['a', 'b', 'c', 'd']);
    assert.deepEqual(done, ['a', 'b', 'c', 'd']);
    assert.deepEqual(drops, []);
  });

  it('nextQueued resolves at once while there is room, and waits for room when full', async () => {
    const { b, drops } = buffer(2, 'drop-newest');
    const { sink, written, release } = slowSink();
    const settled: string[] = [];
    const p = ['a', 'b', 'c'].map((s) => b.nextQueued(Buffer.from(s)).then(() => settled.push(s)));
    await Promise.resolve();
    await Promise.resolve();
    assert.deepEqual(settled, ['a', 'b'], 'the first two were queued at once; c waits for room');
    b.attach(sink);
    await release();
    await Promise.all(p);
    assert.deepEqual(written, ['a', 'b', 'c']);
    assert.deepEqual(drops, []);
  });

  it('hold() pauses draining until released', async () => {
    const { b } = buffer(10, 'drop-newest');
    const { sink, written, release } = slowSink();
    const releaseHold = b.hold();
    b.attach(sink);
    b.next(item('a'));
    await release();
    assert.deepEqual(written, []);
    releaseHold();
    await release();
    assert.deepEqual(written, ['a']);
  });

  it('flush() resolves once everything queued was handed to the stream', async () => {
    const { b } = buffer(10, 'drop-newest');
    const { sink, written, release } = slowSink();
    b.attach(sink);
    for (const s of ['a', 'b', 'c', 'd']) b.next(item(s));
    let flushed = false;
    const f = b.flush().then(() => (flushed = true));
    assert.equal(flushed, false);
    await release();
    await f;
    assert.equal(written.length, 4);
  });

  it('close() drops what is left with the reason, rejects waiters, refuses more', async () => {
    const { b, drops } = buffer(1, 'drop-newest');
    b.next(item('a'));
    const waiting = b.nextBlocking(Buffer.from('b'));
    b.close('connection-closed');
    await assert.rejects(waiting, ConnectionClosedError);
    assert.deepEqual(drops, [
      ['a', 'connection-closed'],
      ['b', 'connection-closed'],
    ]);
    assert.equal(b.next(item('c')), false);
    await assert.rejects(b.nextBlocking(Buffer.from('d')), ConnectionClosedError);
  });

  it('adopt() takes moved messages beyond the capacity, in order', async () => {
    const { b, drops } = buffer(1, 'drop-newest');
    const { sink, written, release } = slowSink();
    b.next(item('a'));
    b.adopt(['b', 'c', 'd'].map(item));
    assert.deepEqual(drops, []);
    b.attach(sink);
    await release();
    assert.deepEqual(written, ['a', 'b', 'c', 'd']);
  });

  it('depth$ replays the current depth and follows it', async () => {
    const { b } = buffer(10, 'drop-newest');
    const seen: number[] = [];
    const sub = b.depth$.subscribe((d) => seen.push(d));
    b.next(item('a'));
    b.next(item('b'));
    const { sink, release } = slowSink();
    b.attach(sink);
    await release();
    sub.unsubscribe();
    assert.equal(seen[0], 0);
    assert.ok(seen.includes(2));
    assert.equal(seen.at(-1), 0);
  });

  it('corks a sink that can be corked while it writes a run of queued messages, and only then', () => {
    const { b } = buffer(10, 'drop-newest');
    const calls: string[] = [];
    const sink = {
      write: (bytes: Buffer) => (calls.push(bytes.toString()), true),
      once: () => undefined,
      removeListener: () => undefined,
      cork: () => calls.push('cork'),
      uncork: () => calls.push('uncork'),
    };
    for (const s of ['a', 'b', 'c']) b.next(item(s));
    b.attach(sink);
    // A single message needs no corking: it goes out at once.
    b.next(item('d'));
    assert.deepEqual(calls, ['cork', 'a', 'b', 'c', 'uncork', 'd']);
  });
});
