// A fixture peer in a process of its own, for the failure specs (SIGKILL, restart on the same
// port). Run: node --import tsx spec/failure/peer-process.ts [--name peer1] [--listen host:port]
//   [--dial host:port,pkiIdHex]
// Prints JSON lines on stdout:
//   {"ready":true,"endpoint":"127.0.0.1:PORT","pkiId":"hex"}   once serving
//   {"recv":SEQ,"from":"hex"}                                   per dataMsg received (seqNum)
// With --dial it sends one dataMsg (seqNum 0) to that peer at start, so that the connection
// between the two is one this process dialed. It stops its comm and exits when stdin closes, so
// that it never outlives the test that started it; with --natural-exit it then prints
// {"stopped":true,...} and must exit by itself (nothing comm opened may keep it alive).
import { parseArgs } from 'node:util';
import { startPeer } from '../helpers/peers.js';

const { values } = parseArgs({
  options: {
    name: { type: 'string', default: 'peer1' },
    listen: { type: 'string', default: '127.0.0.1:0' },
    dial: { type: 'string' },
    // On stdin end, stop the comm and let the process exit by itself (no process.exit).
    'natural-exit': { type: 'boolean', default: false },
  },
});

const comm = await startPeer(values.name, { listen: values.listen });
const out = (line: object): void => void process.stdout.write(`${JSON.stringify(line)}\n`);

comm.accept((m) => m.message.content === 'dataMsg').subscribe((m) => {
  out({ recv: Number(m.message.dataMsg?.payload?.seqNum ?? -1), from: m.connectionInfo.pkiId.toString('hex') });
});

if (values.dial) {
  const [endpoint, hex] = values.dial.split(',');
  comm.send({ dataMsg: { payload: { seqNum: 0 } } }, { endpoint: endpoint!, pkiId: Buffer.from(hex!, 'hex') });
}

out({ ready: true, endpoint: comm.endpoint, pkiId: comm.getPKIid().toString('hex') });

process.stdin.resume();
process.stdin.on('end', () => {
  void comm.stop().then(() => {
    if (!values['natural-exit']) process.exit(0);
    process.stdin.destroy();
    out({ stopped: true, resources: process.getActiveResourcesInfo() });
  });
});
