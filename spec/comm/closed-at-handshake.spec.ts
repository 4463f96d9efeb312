// A remote that answers our dial with a valid ConnEstablish and ends the stream at once (a peer
// shutting down, or refusing a duplicate): the connection opened and closed before the dialing
// code went on to register it. It must not stay registered: the connection count goes back to
// 0, and the next send dials again rather than going to the closed connection.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SignedMessage, type Comm } from '../../lib/index.js';
import type { GossipServer } from '../../lib/comm/server.js';
import { serverCredentials } from '../../lib/comm/tls-credentials.js';
import type { ServerGossipStream } from '../../lib/wire/service.js';
import { collectingServer } from '../helpers/collecting-server.js';
import { craftConnEstablish } from '../helpers/craft.js';
import { eventually, fixturePeer, startPeer } from '../helpers/peers.js';

describe('a connection the remote ends right after the handshake', () => {
  let server: GossipServer;
  let comm: Comm;
  const calls: ServerGossipStream[] = [];

  before(async () => {
    const remote = await fixturePeer('peer1');
    server = await collectingServer(serverCredentials(remote.tls.cert, remote.tls.key, remote.tlsRootCerts), calls);
    // Every call: our ConnEstablish as peer1, then the end of the call, in one go.
    const conn = craftConnEstablish(remote);
    const serve = (call: ServerGossipStream): void => {
      call.write(conn);
      call.end();
    };
    const push = calls.push.bind(calls);
    calls.push = (...served: ServerGossipStream[]): number => {
      for (const call of served) serve(call);
      return push(...served);
    };
    comm = await startPeer('peer0');
  });
  after(async () => {
    await comm?.stop();
    await server?.close(100);
  });

  it('is not left registered, and the next send dials again', async () => {
    const remote = await fixturePeer('peer1');
    const peer = { endpoint: `127.0.0.1:${server.port}`, pkiId: remote.pkiId };
    for (let round = 1; round <= 5; round++) {
      comm.send(SignedMessage.create({ nonce: round, tag: 1, empty: {} }), peer);
      await eventually(() => calls.length >= round, 5_000, `dial ${round}`);
      await eventually(() => comm.stats().connections === 0 && comm.connections().length === 0, 5_000, `connection ${round} to be gone`);
    }
    assert.equal(calls.length, 5, "each send after the close dialed anew");
  });
});
