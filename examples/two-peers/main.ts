// Two rxgossip peers over mutual TLS, using only the public API: connect, exchange, respond,
// probe, then a burst of messages to measure throughput. Run: npm run example:two-peers
import { join } from 'node:path';
import { firstValueFrom, from, lastValueFrom, map, range, take, toArray } from 'rxjs';
import { createComm, loadPeerDir, type ReceivedMessage } from '../../lib/index.js';

const certs = process.argv[2] ?? join(import.meta.dirname, '..', '..', 'spec', 'fixtures', 'fabric-vectors');
const [alice, bob] = await Promise.all([loadPeerDir(join(certs, 'peer0')), loadPeerDir(join(certs, 'peer1'))]);

const a = await createComm({ self: alice, listen: '127.0.0.1:0' });
const b = await createComm({ self: bob, listen: '127.0.0.1:0' });
const short = (id: Buffer): string => id.toString('hex').slice(0, 12);
console.log(`peer0 ${short(a.getPKIid())} listening on ${a.endpoint}`);
console.log(`peer1 ${short(b.getPKIid())} listening on ${b.endpoint}`);

try {
  const rtt = await a.probe({ endpoint: b.endpoint });
  console.log(`probe peer1: Ping answered in ${rtt.toFixed(2)} ms`);
  const who = await a.handshake({ endpoint: b.endpoint });
  console.log(`handshake peer1: authenticated as ${short(who.pkiId)} (TLS certificate bound, signature verified)`);

  // peer1 answers every data message with an empty message carrying the same nonce.
  const isData = (m: ReceivedMessage): boolean => m.message.content === 'dataMsg';
  const answers = b.accept(isData).subscribe((m) => void m.respond({ nonce: m.message.nonce, empty: {} }));
  const answered = firstValueFrom(a.accept((m) => m.message.content === 'empty'));
  a.send({ nonce: 42, dataMsg: { payload: { seqNum: 1, data: Buffer.from('hello from peer0') } } }, {
    endpoint: b.endpoint,
    pkiId: b.getPKIid(),
  });
  const reply = await answered;
  console.log(`peer0 got peer1's answer to nonce ${reply.message.nonce.toString()} over the same connection`);
  answers.unsubscribe();

  // The connection's outbound side on the RxJS surface. sendTo(peer) is an Observer that applies
  // the buffer's overflow policy (a full buffer drops, counted on drops$); queueTo(peer) is an
  // operator that waits for room, so a fast source is held back instead of losing messages.
  const peer1 = { endpoint: b.endpoint, pkiId: b.getPKIid() };
  const greeted = firstValueFrom(b.accept(isData).pipe(take(3), toArray()));
  from(['one', 'two', 'three'])
    .pipe(map((word, i) => ({ dataMsg: { payload: { seqNum: i, data: Buffer.from(word) } } })))
    .subscribe(a.sendTo(peer1));
  console.log(`sendTo: peer1 got ${(await greeted).map((m) => m.message.dataMsg!.payload!.data!.toString()).join(', ')}`);

  const N = Number(process.argv[3] ?? 20_000);
  const received = firstValueFrom(b.accept(isData).pipe(take(N), toArray()));
  const started = process.hrtime.bigint();
  const payload = Buffer.alloc(1024, 1);
  await lastValueFrom(
    range(0, N).pipe(
      map((i) => ({ dataMsg: { payload: { seqNum: i, data: payload } } })),
      a.queueTo(peer1),
    ),
  );
  const all = await received;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const inOrder = all.every((m, i) => Number(m.message.dataMsg!.payload!.seqNum) === i);
  const dropped = a.stats().dropped.overflow;
  console.log(`queueTo: ${N} messages of 1 KiB: ${(N / seconds).toFixed(0)} msgs/s, ${inOrder ? 'all in order' : 'OUT OF ORDER'}, ${dropped} dropped`);
  console.log('peer0 stats', JSON.stringify(a.stats()));
  console.log('peer1 stats', JSON.stringify(b.stats()));
  if (!inOrder || dropped > 0) process.exitCode = 1;
} finally {
  await Promise.all([a.stop(), b.stop()]);
}
console.log('stopped both peers');
