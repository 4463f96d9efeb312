// queueDepth$(peer) as a send loop uses it to pace itself: every subscriber, however late, starts
// from the depth the buffer has now. (Found against a Fabric peer: a loop paced with
// firstValueFrom(queueDepth$) read a stale 0 and 19,784 of 20,000 messages overflowed.)
import { it, after } from 'node:test';
import assert from 'node:assert/strict';
import { firstValueFrom } from 'rxjs';
import { OutboundBuffer } from '../../lib/comm/outbound-buffer.js';
import type { Comm } from '../../lib/index.js';
import { data, isData } from '../helpers/messages.js';
import { collect, peerOf, sleep, startPeer } from '../helpers/peers.js';

const comms: Comm[] = [];
after(async () => {
  await Promise.all(comms.map((c) => c.stop()));
});

it('a subscriber that joins late reads the current depth, not the one when the last one left', async () => {
  const b = new OutboundBuffer(100, 'drop-newest', () => undefined);
  assert.equal(await firstValueFrom(b.depth$), 0);
  for (let i = 0; i < 7; i++) b.next({ bytes: Buffer.from([i]) });
  assert.equal(await firstValueFrom(b.depth$), 7);
  const seen: number[] = [];
  const sub = b.depth$.subscribe((d) => seen.push(d));
  b.next({ bytes: Buffer.from([7]) });
  sub.unsubscribe();
  b.next({ bytes: Buffer.from([8]) });
  assert.deepEqual(seen, [7, 8]);
  assert.equal(await firstValueFrom(b.depth$), 9);
});

it('a send loop paced by firstValueFrom(queueDepth$) loses nothing to overflow', async () => {
  const bufferSize = 20;
  const [a, b] = await Promise.all([startPeer('peer0', { sendBufferSize: bufferSize }), startPeer('peer1')]);
  comms.push(a, b);
  const target = peerOf(b);
  const count = 3_000;
  const got = collect(b.accept(isData), count, 60_000);
  for (let i = 0; i < count; i++) {
    while ((await firstValueFrom(a.queueDepth$(target))) >= bufferSize / 2) await sleep(1);
    a.send(data(i, 4096), target);
  }
  const received = await got;
  assert.equal(a.stats().dropped.overflow, 0);
  assert.equal(received.length, count);
});
