// presumedDead$ as Fabric's PresumedDead(): a peer is presumed dead when a dial fails or a send
// fails, not when a stream merely ends. A Fabric peer closing a connection, or stopping its
// comm, half-closes and cancels its streams; that is not a death.
import { it, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import type { Comm } from '../../lib/index.js';
import type { Connection } from '../../lib/comm/connection.js';
import { data, isData } from '../helpers/messages.js';
import { eventually, first, peerOf, sleep, startPeer } from '../helpers/peers.js';

const comms: Comm[] = [];
after(async () => {
  await Promise.all(comms.map((c) => c.stop()));
});

/** The comm's internals a test reaches into to cancel a stream or cut a socket. */
interface Internals {
  store: { connections: Connection[] };
  server: { own: { sockets: Set<Socket> } };
}
const internals = (c: Comm): Internals => c as unknown as Internals;

async function connectedPair(): Promise<[Comm, Comm]> {
  const [a, b] = await Promise.all([startPeer('peer0'), startPeer('peer1')]);
  comms.push(a, b);
  const got = first(b.accept(isData));
  a.send(data(1), peerOf(b));
  await got;
  return [a, b];
}

it('a peer that cancels its stream and goes (as a Fabric peer stopping its comm) is not presumed dead', async () => {
  const [a, b] = await connectedPair();
  const dead: string[] = [];
  b.presumedDead$.subscribe((id) => dead.push(id.toString('hex')));
  internals(a).store.connections[0]!.abort(new Error('closing, as a Fabric peer does: by cancelling the stream'));
  await a.stop();
  await eventually(() => b.connections().length === 0, 5_000, 'b to see the stream end');
  await sleep(200);
  assert.deepEqual(dead, []);
});

it('a peer whose connection is cut while messages wait for it is presumed dead (a failed send)', async () => {
  const [a, b] = await connectedPair();
  const dead = first(b.presumedDead$, (id) => id.equals(a.getPKIid()), 5_000);
  // b answers over the connection a opened; cut it while b has a backlog for a.
  for (let i = 0; i < 300; i++) b.send(data(i, 64 * 1024), peerOf(a));
  for (const socket of internals(b).server.own.sockets) socket.resetAndDestroy();
  assert.ok(await dead);
});

it('a dial that fails is a death', async () => {
  const [a, b] = await connectedPair();
  const target = peerOf(b);
  await b.stop();
  await eventually(() => a.connections().length === 0, 5_000, 'a to see b gone');
  const dead = first(a.presumedDead$, (id) => id.equals(target.pkiId), 5_000);
  a.send(data(2), target);
  assert.ok(await dead);
});
