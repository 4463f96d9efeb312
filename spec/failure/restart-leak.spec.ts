// A peer restarted on the same port while others keep sending to it: the dials that failed while
// it was down must not leave connections behind once it is back. Every TCP connection in this
// process must belong to a comm connection (both ends are here: 2 sockets per connection).
import { it, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Comm } from '../../lib/index.js';
import { eventually, peerOf, sleep, startPeer } from '../helpers/peers.js';

const DOWN_MS = 600;
const comms: Comm[] = [];
after(async () => {
  await Promise.all(comms.map((c) => c.stop()));
});

const tcpSockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

it('no connection is left over from dials that failed while the peer was down', async () => {
  const senders = await Promise.all(['peer0', 'peer2', 'peer3'].map((n) => startPeer(n)));
  comms.push(...senders);
  let receiver = await startPeer('peer1');
  comms.push(receiver);
  const target = peerOf(receiver);
  let seq = 0;
  const flow = setInterval(() => {
    for (const s of senders) s.send({ dataMsg: { payload: { seqNum: seq++ } } }, target);
  }, 20);
  try {
    await eventually(() => receiver.connections().length === 3, 5_000, 'three senders connected');
    await receiver.stop();
    // Down long enough for dials to fail at their deadline (dialTimeoutMs 1 s) around its return.
    await sleep(DOWN_MS);
    receiver = await startPeer('peer1', { listen: target.endpoint });
    comms.push(receiver);
    const back = receiver;
    const from = new Set<string>();
    back.accept().subscribe((m) => from.add(m.connectionInfo.pkiId.toString('hex')));
    await eventually(() => from.size === 3, 10_000, 'messages from every sender after the restart');
    // Let every dial that was in flight when it came back settle.
    await sleep(2_500);
  } finally {
    clearInterval(flow);
  }
  const connections = senders.reduce((n, s) => n + s.connections().length, 0);
  assert.equal(connections, 3);
  assert.equal(receiver.connections().length, 3);
  assert.equal(
    tcpSockets(),
    2 * connections,
    `${tcpSockets()} TCP sockets (ref'd) for ${connections} connections: ${tcpSockets() - 2 * connections} socket(s) of connections nobody owns`,
  );
});
