// The outbound side of a connection on the RxJS surface: sendTo(peer) is an Observer that
// applies the buffer's overflow policy; queueTo(peer) is an operator that waits for room.
import { it, after } from 'node:test';
import assert from 'node:assert/strict';
import { lastValueFrom, map, range, toArray } from 'rxjs';
import { StoppedError, type Comm, type DroppedMessage } from '../../lib/index.js';
import { data, isData, seqOf } from '../helpers/messages.js';
import { collect, peerOf, sleep, startPeer } from '../helpers/peers.js';

const comms: Comm[] = [];
after(async () => {
  await Promise.all(comms.map((c) => c.stop()));
});

async function pair(options: Parameters<typeof startPeer>[1] = {}): Promise<[Comm, Comm]> {
  const [a, b] = await Promise.all([startPeer('peer0', options), startPeer('peer1')]);
  comms.push(a, b);
  return [a, b];
}

it('source$.subscribe(comm.sendTo(peer)) delivers every value, in order', async () => {
  const [a, b] = await pair();
  const got = collect(b.accept(isData), 100);
  range(0, 100)
    .pipe(map((i) => data(i)))
    .subscribe(a.sendTo(peerOf(b)));
  assert.deepEqual((await got).map(seqOf), [...Array(100).keys()]);
});

it('sendTo applies the overflow policy: drops are counted and reported, nothing is thrown at the source', async () => {
  const [a, b] = await pair({ sendBufferSize: 5, overflowPolicy: 'error' });
  const drops: DroppedMessage[] = [];
  a.drops$.subscribe((d) => drops.push(d));
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown): void => void uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    // All 50 arrive while the connection is still being dialed: 5 fit the buffer.
    let completed = false;
    range(0, 50)
      .pipe(map((i) => data(i)))
      .subscribe({ ...a.sendTo(peerOf(b)), complete: () => (completed = true) });
    assert.ok(completed);
    await sleep(200);
  } finally {
    process.removeListener('uncaughtException', onUncaught);
  }
  assert.deepEqual(uncaught, []);
  assert.equal(drops.length, 45);
  assert.ok(drops.every((d) => d.reason === 'overflow' && d.pkiId?.equals(b.getPKIid())));
  assert.equal(a.stats().dropped.overflow, 45);
});

it('source$.pipe(comm.queueTo(peer)) waits for room: a fast source loses nothing through a small buffer', async () => {
  const [a, b] = await pair({ sendBufferSize: 20 });
  const count = 3_000;
  const got = collect(b.accept(isData), count, 60_000);
  const queued = await lastValueFrom(
    range(0, count).pipe(
      map((i) => data(i, 4096)),
      a.queueTo(peerOf(b)),
      toArray(),
    ),
  );
  assert.equal(queued.length, count);
  assert.deepEqual((await got).map(seqOf), [...Array(count).keys()]);
  assert.equal(a.stats().dropped.overflow, 0);
});

it('queueTo errors with StoppedError once the comm stopped', async () => {
  const [a, b] = await pair();
  await a.stop();
  await assert.rejects(lastValueFrom(range(0, 3).pipe(map((i) => data(i)), a.queueTo(peerOf(b)))), StoppedError);
});
