// A remote that answers our dial with a valid ConnEstablish and ends the stream at once (a peer
// shutting down, or refusing a duplicate). The connection store registers a dial a few promise
// hops after its handshake, so such a connection may already be closed, its onClosed done, when
// it is registered: it must not stay registered (counted, held in memory). grpc-js does not order
// its events so that this happens on its own here: the spec holds the dial's completion until the
// connection has closed, on real connections, to put the store in that state every time.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SignedMessage, type Comm } from '../../lib/index.js';
import type { Connection } from '../../lib/comm/connection.js';
import type { RemotePeer } from '../../lib/comm/connection-info.js';
import type { GossipServer } from '../../lib/comm/server.js';
import { serverCredentials } from '../../lib/comm/tls-credentials.js';
import type { ServerGossipStream } from '../../lib/wire/service.js';
import { collectingServer } from '../helpers/collecting-server.js';
import { craftConnEstablish } from '../helpers/craft.js';
import { eventually, fixturePeer, startPeer } from '../helpers/peers.js';

type Dial = (conn: Connection, peer: RemotePeer) => Promise<void>;

describe('a connection the remote ends right after the handshake', () => {
  let server: GossipServer;
  let comm: Comm;
  const calls: ServerGossipStream[] = [];
  /** Dials done: handshake made, then the connection closed by the remote. */
  let dialsDone = 0;

  before(async () => {
    const remote = await fixturePeer('peer1');
    const conn = craftConnEstablish(remote);
    // Every call: our ConnEstablish as peer1, then the end of the call, in one go.
    server = await collectingServer(serverCredentials(remote.tls.cert, remote.tls.key, remote.tlsRootCerts), calls, (call) => {
      call.write(conn);
      call.end();
    });
    comm = await startPeer('peer0');
    const deps = (comm as unknown as { store: { deps: { dial: Dial } } }).store.deps;
    const dial = deps.dial;
    deps.dial = async (conn, peer) => {
      await dial(conn, peer);
      await conn.closed;
      dialsDone++;
    };
  });
  after(async () => {
    await comm?.stop();
    await server?.close(100);
  });

  it('is not left registered, and the next send dials again', async () => {
    const remote = await fixturePeer('peer1');
    const peer = { endpoint: `127.0.0.1:${server.port}`, pkiId: remote.pkiId };
    for (let round = 1; round <= 3; round++) {
      comm.send(SignedMessage.create({ nonce: round, tag: 1, empty: {} }), peer);
      await eventually(() => dialsDone === round, 5_000, `dial ${round} to be made and closed`);
      assert.equal(comm.stats().connections, 0, `connection ${round} is counted gone`);
      assert.equal(comm.stats().handshakeFailures, 0, 'the handshakes themselves succeeded');
    }
    assert.equal(calls.length, 3, 'each send after the close dialed anew, on a call of its own');
  });
});
