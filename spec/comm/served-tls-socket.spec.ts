// The TLS socket under calls we serve, on real grpc-js calls over mutual TLS: it is found under
// the installed grpc-js and Node (an upgrade that moves it fails here, not silently in the
// benchmark); the client certificate is the same DER that grpc-js's auth context shows, and none
// for one our TLS CAs did not issue (as grpc-js: the gossip handshake then refuses that client
// with a reason it can read); releasing the ALPN copy leaves the connection working.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { peerCertificate, releaseAlpnCopy, servedTlsSocket, sessionPeerCertificate } from '../../lib/comm/served-tls-socket.js';
import type { GossipServer } from '../../lib/comm/server.js';
import { serverCredentials } from '../../lib/comm/tls-credentials.js';
import type { GossipClient, ServerGossipStream } from '../../lib/wire/service.js';
import { collectingServer, openCollected } from '../helpers/collecting-server.js';
import { fixturePeer, rawClient } from '../helpers/peers.js';

describe('the TLS socket of a served call', () => {
  let server: GossipServer;
  const calls: ServerGossipStream[] = [];
  const clients: GossipClient[] = [];

  before(async () => {
    const self = await fixturePeer('peer0');
    server = await collectingServer(serverCredentials(self.tls.cert, self.tls.key, self.tlsRootCerts), calls);
  });
  after(async () => {
    for (const client of clients) client.close();
    await server.close(100);
  });

  async function open(name: string): Promise<{ client: ReturnType<GossipClient['GossipStream']>; call: ServerGossipStream }> {
    // (Each call of this suite comes on a connection of its own: rawClient uses a local subchannel pool.)
    const client = await rawClient(`localhost:${server.port}`, name);
    clients.push(client);
    return openCollected(calls, () => client.GossipStream());
  }

  it('is the DER of the certificate the client presented, as grpc-js shows it', async () => {
    const { call } = await open('peer1');
    const serverSide = peerCertificate(call, servedTlsSocket(call));
    assert.ok(serverSide, 'no client certificate seen by the server');
    assert.deepEqual(serverSide, call.getAuthContext().sslPeerCertificate?.raw);
    assert.deepEqual(serverSide, new X509Certificate((await fixturePeer('peer1')).tls.cert).raw);
  });

  it("reads the client's certificate out of the encoded TLS session, and nothing out of anything else", async () => {
    const { call } = await open('peer2');
    const socket = servedTlsSocket(call);
    assert.ok(socket);
    const expected = new X509Certificate((await fixturePeer('peer2')).tls.cert).raw;
    const session = socket.getSession();
    assert.ok(session, 'no TLS session on the served socket');
    assert.deepEqual(sessionPeerCertificate(session), expected);
    // Cut short, or without the peer field: nothing (peerCertificate then asks OpenSSL).
    for (const cut of [1, 10, session.length >> 1, session.length - 1]) {
      assert.equal(sessionPeerCertificate(session.subarray(0, cut)), undefined, `a session cut at ${cut} bytes`);
    }
    assert.equal(sessionPeerCertificate(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01])), undefined);
    assert.equal(sessionPeerCertificate(Buffer.from([0x30, 0x04, 0xa3, 0x02, 0x04, 0x00])), undefined, 'a [3] field that is not a certificate');
    assert.equal(sessionPeerCertificate(Buffer.alloc(0)), undefined);
  });

  it("lets go of Node's copy of the ALPN list, and the connection goes on working", async () => {
    const { client, call } = await open('peer1');
    const socket = servedTlsSocket(call);
    assert.ok(socket, 'no TLS socket found under the served call');
    const options = (socket as unknown as { _tlsOptions?: { ALPNProtocols?: unknown } })._tlsOptions;
    assert.ok(options?.ALPNProtocols !== undefined, 'Node keeps no ALPN copy where we look for it: releaseAlpnCopy does nothing');
    releaseAlpnCopy(socket);
    assert.equal(options.ALPNProtocols, undefined);
    assert.equal(socket.alpnProtocol, 'h2');
    const echoed = new Promise<Buffer>((resolve) => client.once('data', resolve));
    call.write(Buffer.from('still here'));
    assert.equal((await echoed).toString(), 'still here');
  });

  it('is undefined for a client certificate not issued by our TLS CAs', async () => {
    const { call } = await open('rogue/peer0');
    assert.equal(call.getAuthContext().sslPeerCertificate, undefined);
    assert.equal(peerCertificate(call, servedTlsSocket(call)), undefined);
  });
});
