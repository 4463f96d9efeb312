// How we dial: every connection we open to a peer starts a TLS handshake (a Fabric peer logs a
// TLS-less connection as a failed handshake), a server's refusal of our client certificate is
// reported with the alert it sent and at once, and dialing an IP address prints nothing.
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { ConnectError, type Comm } from '../../lib/index.js';
import { channelTarget } from '../../lib/comm/dialer.js';
import { data, isData } from '../helpers/messages.js';
import { first, peerOf, sleep, startPeer } from '../helpers/peers.js';
import { startTlsRefusingServer, type RefusingServer } from '../helpers/tls-refusing-server.js';

/** A TCP proxy in front of `target` that records the first byte each connection sent. */
async function recordingProxy(target: number): Promise<{ server: Server; port: number; firstBytes: Array<number | undefined> }> {
  const firstBytes: Array<number | undefined> = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const index = firstBytes.push(undefined) - 1;
    const upstream = connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined).on('close', () => sockets.delete(s));
    }
    client.once('data', (chunk: Buffer) => (firstBytes[index] = chunk[0]));
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0, firstBytes };
}

const TLS_HANDSHAKE_RECORD = 0x16;

describe('dialing', () => {
  let a: Comm;
  let b: Comm;
  const warnings: string[] = [];
  const onWarning = (w: Error & { code?: string }): void => void warnings.push(`${w.code ?? w.name}: ${w.message}`);
  before(async () => {
    process.on('warning', onWarning);
    [a, b] = await Promise.all([startPeer('peer0'), startPeer('peer1')]);
  });
  after(async () => {
    process.removeListener('warning', onWarning);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('opens no connection without a TLS handshake: send, handshake and probe each start with a ClientHello', async () => {
    const port = Number(b.endpoint.split(':')[1]);
    const proxy = await recordingProxy(port);
    try {
      const target = { endpoint: `127.0.0.1:${proxy.port}`, pkiId: b.getPKIid() };
      const got = first(b.accept(isData));
      a.send(data(1), target);
      await got;
      await a.handshake(target);
      await a.probe(target);
      assert.ok(proxy.firstBytes.length >= 3, `${proxy.firstBytes.length} connections`);
      assert.deepEqual(
        proxy.firstBytes,
        proxy.firstBytes.map(() => TLS_HANDSHAKE_RECORD),
        'every connection opened a TLS handshake',
      );
    } finally {
      proxy.server.close();
    }
  });

  it('a peer that is down fails at once with the socket error, and no TCP-only probe reaches it later', async () => {
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const port = (free.address() as { port: number }).port;
    await new Promise<void>((resolve) => free.close(() => resolve()));
    const started = Date.now();
    await assert.rejects(a.probe({ endpoint: `127.0.0.1:${port}` }), (err: unknown) => {
      assert.ok(err instanceof ConnectError);
      assert.match(err.message, /ECONNREFUSED/);
      return true;
    });
    assert.ok(Date.now() - started < 900, `failed after ${Date.now() - started} ms, before the 1 s dial timeout`);
    // Back on the same port: the failed dial's channel must not connect on its own.
    const listener = createServer((s) => {
      accepted++;
      s.destroy();
    });
    let accepted = 0;
    await new Promise<void>((resolve) => listener.listen(port, '127.0.0.1', resolve));
    await sleep(1_500); // longer than grpc-js's first reconnect backoff (1 s)
    await new Promise<void>((resolve) => listener.close(() => resolve()));
    assert.equal(accepted, 0, 'nobody dialed the port once it was back');
  });

  it('dialing 127.0.0.1 over TLS prints no warning (no IP address as TLS server name)', async () => {
    const got = first(a.accept(isData));
    b.send(data(2), peerOf(a));
    await got;
    assert.deepEqual(warnings, []);
  });

  it("checks the server's name against its certificate: a name it does not carry is refused", async () => {
    const dialer = await startPeer('peer3', { tlsServerNameOverride: 'peer9.org1.example.com' });
    try {
      await assert.rejects(dialer.connect(peerOf(a)), (err: unknown) => err instanceof ConnectError && /altnames|peer9/i.test(err.message));
      assert.equal(dialer.connections().length, 0);
    } finally {
      await dialer.stop();
    }
  });

  it('reaches peers by IPv4 address, IPv6 address and host name (IP addresses skip DNS)', async () => {
    // ::1 is not in the fixture certificates: the server name is overridden for TLS.
    const [v6, dialer] = await Promise.all([
      startPeer('peer2', { listen: '[::1]:0' }),
      startPeer('peer3', { tlsServerNameOverride: 'localhost' }),
    ]);
    try {
      const port = (comm: Comm): string => comm.endpoint.slice(comm.endpoint.lastIndexOf(':') + 1);
      for (const [endpoint, comm] of [
        [a.endpoint, a],
        [`[::1]:${port(v6)}`, v6],
        [`localhost:${port(b)}`, b],
      ] as const) {
        const info = await dialer.connect({ endpoint, pkiId: comm.getPKIid() });
        assert.ok(info.pkiId.equals(comm.getPKIid()), `reached someone else at ${endpoint}`);
      }
      // The grpc-js targets those dials used: addresses through its IP resolver, names through DNS.
      assert.equal(channelTarget('127.0.0.1:7051', '127.0.0.1', 7051), 'ipv4:127.0.0.1:7051');
      assert.equal(channelTarget('[::1]:7051', '::1', 7051), 'ipv6:[::1]:7051');
      assert.equal(channelTarget('localhost:7051', 'localhost', 7051), 'localhost:7051');
    } finally {
      await Promise.all([v6.stop(), dialer.stop()]);
    }
  });
});

describe('a server that refuses our client certificate', () => {
  let server: RefusingServer | undefined;
  before(async () => {
    server = await startTlsRefusingServer();
  });
  after(() => server?.stop());

  it('is reported with the TLS alert it sent, well before the dial timeout', async () => {
    const rogue = await startPeer('rogue/peer0', { dialTimeoutMs: 3_000, msps: undefined, mapper: undefined });
    try {
      const started = Date.now();
      await assert.rejects(rogue.probe({ endpoint: server!.endpoint }), (err: unknown) => {
        assert.ok(err instanceof ConnectError, String(err));
        assert.match(err.message, /TLS alert "unknown ca"/);
        assert.doesNotMatch(err.message, /within \d+ ms/);
        return true;
      });
      assert.ok(Date.now() - started < 2_500, `took ${Date.now() - started} ms`);
    } finally {
      await rogue.stop();
    }
  });
});
