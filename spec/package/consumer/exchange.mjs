// A user's program: plain node, no TypeScript loader. Two comms over mutual TLS on 127.0.0.1
// exchange a message and its answer, print what happened as JSON, stop, and the process exits
// on its own. Argument: a folder with Fabric-style peer0 and peer1 directories.
import { join } from 'node:path';
import { firstValueFrom } from 'rxjs';
import { createComm, loadPeerDir } from 'rxgossip';

const certs = process.argv[2];
const [alice, bob] = await Promise.all([loadPeerDir(join(certs, 'peer0')), loadPeerDir(join(certs, 'peer1'))]);
const a = await createComm({ self: alice, listen: '127.0.0.1:0' });
const b = await createComm({ self: bob, listen: '127.0.0.1:0' });
b.accept((m) => m.message.content === 'dataMsg').subscribe((m) => void m.respond({ nonce: m.message.nonce, empty: {} }));
const answer = firstValueFrom(a.accept((m) => m.message.content === 'empty'));
a.send({ nonce: 7, dataMsg: { payload: { seqNum: 1, data: Buffer.from('hello') } } }, { endpoint: b.endpoint, pkiId: b.getPKIid() });
const reply = await answer;
const result = {
  nonce: reply.message.nonce.toString(),
  from: reply.connectionInfo.pkiId.toString('hex'),
  bob: b.getPKIid().toString('hex'),
  tlsBound: (reply.connectionInfo.auth.tlsCertificate?.length ?? 0) > 0,
};
await Promise.all([a.stop(), b.stop()]);
process.stdout.write(`${JSON.stringify(result)}\n`);
