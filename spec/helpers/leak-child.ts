// Run as a child process by spec/comm/no-leaks.spec.ts: exercises comm, stops it, and must then
// exit by itself. Prints the active resources left after stop() as JSON on its last line.
import { firstValueFrom, filter } from 'rxjs';
import { peerOf, startPeer } from './peers.js';

const baseline = process.getActiveResourcesInfo().filter((r) => r !== 'PipeWrap' && r !== 'TTYWrap');
const [a, b] = await Promise.all([startPeer('peer0'), startPeer('peer1')]);
const got = firstValueFrom(b.accept().pipe(filter((m) => m.message.content === 'dataMsg')));
a.send({ dataMsg: { payload: { seqNum: 1 } } }, peerOf(b));
const m = await got;
await m.respond({ empty: {} });
await a.probe(peerOf(b));
await a.handshake(peerOf(b));
await b.sendAsync({ empty: {} }, peerOf(a));
// A dial that fails, and a sendWithAck that times out.
a.send({ empty: {} }, { endpoint: '127.0.0.1:1', pkiId: Buffer.alloc(32, 7) });
await a.sendWithAck({ empty: {} }, 50, 1, peerOf(b));
await Promise.all([a.stop(), b.stop()]);
// Let closed sockets finish closing. grpc-js keeps a closed channel's reconnect-backoff timer
// (unref'd, up to 1 s + 20% jitter) until it fires; it does not hold the process.
await new Promise((r) => setTimeout(r, 1_500));
const left = process.getActiveResourcesInfo().filter((r) => r !== 'PipeWrap' && r !== 'TTYWrap');
console.log(JSON.stringify({ baseline, left }));
