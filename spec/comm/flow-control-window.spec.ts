// The HTTP/2 receive window a comm grants its peers (CommOptions.flowControlWindow), seen from
// the other end of real TLS connections: a node http2 client opening a GossipStream on a comm's
// server, and a node http2 server that a comm dials.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { firstValueFrom, take, timeout } from 'rxjs';
import { createComm } from '../../lib/index.js';
import { FAST, fixturePeer, startPeer, eventually } from '../helpers/peers.js';
import { data } from '../helpers/messages.js';

const MiB = 1024 * 1024;

/** Opens a GossipStream on `endpoint` as peer1 would and returns what the server granted. */
async function grantedByServer(endpoint: string): Promise<{ initialWindowSize: number; connectionWindow: number }> {
  const org1 = await fixturePeer('peer0');
  const peer1 = await fixturePeer('peer1');
  const session = http2.connect(`https://${endpoint}`, {
    ca: Buffer.concat(org1.tlsRootCerts),
    cert: peer1.tls.cert,
    key: peer1.tls.key,
  });
  session.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => session.once('remoteSettings', () => resolve()).once('error', reject));
    const stream = session.request({
      ':method': 'POST',
      ':path': '/gossip.Gossip/GossipStream',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    stream.on('error', () => undefined);
    // The comm widens the window once it sees the stream: wait for its second SETTINGS (or give up).
    await eventually(() => session.remoteSettings.initialWindowSize !== 65_535, 2_000, 'a SETTINGS frame widening the window').catch(() => undefined);
    await eventually(() => (session.state.remoteWindowSize ?? 0) > 65_535, 500, 'a connection WINDOW_UPDATE').catch(() => undefined);
    stream.close(http2.constants.NGHTTP2_CANCEL);
    return { initialWindowSize: session.remoteSettings.initialWindowSize ?? 65_535, connectionWindow: session.state.remoteWindowSize ?? 0 };
  } finally {
    session.destroy();
  }
}

describe('flow-control window', () => {
  it('an accepting comm grants 1 MiB per stream and per connection by default', async () => {
    const comm = await startPeer('peer0');
    try {
      const granted = await grantedByServer(comm.endpoint);
      assert.equal(granted.initialWindowSize, MiB);
      assert.ok(granted.connectionWindow > MiB - 65_535, `connection window ${granted.connectionWindow}`);
    } finally {
      await comm.stop();
    }
  });

  it('flowControlWindow sets what it grants; 65535 keeps HTTP/2 default', async () => {
    for (const [window, expected] of [[4 * MiB, 4 * MiB], [65_535, 65_535]] as const) {
      const comm = await startPeer('peer0', { flowControlWindow: window });
      try {
        const granted = await grantedByServer(comm.endpoint);
        assert.equal(granted.initialWindowSize, expected);
        if (window > 65_535) assert.ok(granted.connectionWindow > window - 65_535);
        else assert.ok(granted.connectionWindow <= 65_535);
      } finally {
        await comm.stop();
      }
    }
  });

  it('a dialing comm grants the server its window from its first SETTINGS', async () => {
    const peer0 = await fixturePeer('peer0');
    const server = http2.createSecureServer({
      cert: peer0.tls.cert,
      key: peer0.tls.key,
      ca: Buffer.concat(peer0.tlsRootCerts),
      requestCert: true,
    });
    const seen: Array<{ initialWindowSize: number | undefined }> = [];
    server.on('session', (session) => {
      session.on('error', () => undefined);
      session.on('remoteSettings', (settings) => seen.push({ initialWindowSize: settings.initialWindowSize }));
    });
    // Not a gossip server: every call is refused, so the dial fails after the settings were exchanged.
    server.on('stream', (stream) => stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const self = await fixturePeer('peer1');
    const comm = await createComm({ self, msps: [peer0.msp!], tlsRootCerts: peer0.tlsRootCerts, ...FAST, flowControlWindow: 3 * MiB });
    try {
      const dropped = firstValueFrom(comm.drops$.pipe(take(1), timeout(5_000)));
      comm.send(data(1), { endpoint });
      await dropped;
      assert.ok(seen.length > 0, 'the comm dialed');
      assert.equal(seen[0]!.initialWindowSize, 3 * MiB);
    } finally {
      await comm.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('refuses a window HTTP/2 cannot carry', async () => {
    const self = await fixturePeer('peer1');
    for (const flowControlWindow of [65_534, 2 ** 31, 1.5 * MiB + 0.5]) {
      await assert.rejects(async () => createComm({ self, flowControlWindow }), RangeError);
    }
  });
});
