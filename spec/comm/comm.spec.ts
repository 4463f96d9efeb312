// Two and three rxgossip peers over real gRPC and mutual TLS on 127.0.0.1, as Fabric's comm tests.
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { lastValueFrom, toArray } from 'rxjs';
import {
  ConnectError,
  createComm,
  HandshakeError,
  MessageTooLargeError,
  MspIdentityMapper,
  MspManager,
  StoppedError,
  type Comm,
  type Logger,
} from '../../lib/index.js';
import { collect, eventually, FAST, first, fixturePeer, peerOf, sleep, startPeer } from '../helpers/peers.js';
import { data, isData, seqOf } from '../helpers/messages.js';

describe('two peers', () => {
  let a: Comm;
  let b: Comm;
  before(async () => {
    [a, b] = await Promise.all([startPeer('peer0'), startPeer('peer1')]);
  });
  after(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });

  it('a message sent reaches the other peer, which knows who sent it', async () => {
    const got = first(b.accept(isData));
    a.send(data(1), peerOf(b));
    const m = await got;
    assert.equal(seqOf(m), 1);
    assert.deepEqual(m.connectionInfo.pkiId, a.getPKIid());
    assert.ok(m.connectionInfo.auth.tlsCertificate && m.connectionInfo.auth.tlsCertificate.length > 0);
  });

  it('respond() answers over the same connection, and there is one connection each side', async () => {
    const answered = first(a.accept((m) => m.message.content === 'empty'));
    const sub = b.accept(isData).subscribe((m) => void m.respond({ nonce: m.message.nonce, empty: {} }));
    a.send(data(2), peerOf(b));
    const answer = await answered;
    sub.unsubscribe();
    assert.equal(answer.message.nonce.toString(), '2');
    assert.deepEqual(answer.connectionInfo.pkiId, b.getPKIid());
    assert.equal(a.connections().length, 1);
    assert.equal(b.connections().length, 1);
  });

  it('messages arrive in the order sent', async () => {
    const got = collect(b.accept(isData), 150);
    for (let i = 0; i < 150; i++) a.send(data(i), peerOf(b));
    assert.deepEqual((await got).map(seqOf), [...Array(150).keys()]);
  });

  it('exposes its identity, signer and the identities its handshakes proved', async () => {
    const self = await fixturePeer('peer0');
    assert.deepEqual(Buffer.from(a.identity), Buffer.from(self.identity));
    await a.connect(peerOf(b));
    const remote = a.identityMapper.get(b.getPKIid());
    assert.ok(remote, 'b is in a\'s mapper after the handshake');
    assert.deepEqual(Buffer.from(remote), Buffer.from(b.identity));
    const data = Buffer.from('signed by a');
    const signature = a.signer.sign(data);
    b.identityMapper.verify(a.getPKIid(), signature, data);
    assert.throws(() => b.identityMapper.verify(a.getPKIid(), signature, Buffer.from('other bytes')));
  });

  it('probe() measures a Ping round trip without keeping a connection', async () => {
    const before = b.connections().length;
    const rtt = await a.probe({ endpoint: b.endpoint });
    assert.ok(rtt > 0 && rtt < 2_000, `rtt ${rtt}`);
    assert.equal(b.connections().length, before);
  });

  it('handshake() authenticates the remote and keeps nothing', async () => {
    const c = await startPeer('peer2');
    try {
      const info = await c.handshake({ endpoint: b.endpoint });
      assert.deepEqual(info.pkiId, b.getPKIid());
      assert.deepEqual(Buffer.from(info.identity), Buffer.from((await fixturePeer('peer1')).identity));
      await sleep(100);
      assert.equal(c.connections().length, 0);
      assert.ok(!b.connections().some((conn) => conn.pkiId.equals(c.getPKIid())));
    } finally {
      await c.stop();
    }
  });

  it('unsubscribing from accept() releases the subscriber only', async () => {
    const seen: number[] = [];
    const s1 = b.accept(isData).subscribe((m) => seen.push(seqOf(m)));
    const later = first(b.accept((m) => isData(m) && seqOf(m) === 901));
    a.send(data(900), peerOf(b));
    await eventually(() => seen.includes(900));
    s1.unsubscribe();
    a.send(data(901), peerOf(b));
    await later;
    assert.deepEqual(seen, [900]);
  });
});

describe('both peers send 1,000 messages to each other at once', () => {
  it('all arrive, in order, over one connection both sides agree on', async () => {
    const [a, b] = await Promise.all([startPeer('peer0'), startPeer('peer1')]);
    try {
      const N = 1_000;
      const atA = collect(a.accept(isData), N, 20_000);
      const atB = collect(b.accept(isData), N, 20_000);
      const sends: Promise<void>[] = [];
      for (let i = 0; i < N; i++) {
        sends.push(a.sendAsync(data(i), peerOf(b)), b.sendAsync(data(i), peerOf(a)));
      }
      await Promise.all(sends);
      assert.deepEqual((await atA).map(seqOf), [...Array(N).keys()]);
      assert.deepEqual((await atB).map(seqOf), [...Array(N).keys()]);
      await eventually(() => a.connections().length === 1 && b.connections().length === 1, 5_000, 'one connection each');
      assert.equal(a.stats().dropped.overflow + b.stats().dropped.overflow, 0);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe('refusals', () => {
  it('a peer that is not the one dialed is refused, and reported dead', async () => {
    const [a, b] = await Promise.all([startPeer('peer0'), startPeer('peer1')]);
    const peer2 = await fixturePeer('peer2');
    try {
      await assert.rejects(a.handshake({ endpoint: b.endpoint, pkiId: peer2.pkiId }), (err: unknown) => {
        return err instanceof HandshakeError && err.reason === 'unexpected-peer';
      });
      const dead = first(a.presumedDead$);
      const dropped = first(a.drops$);
      a.send(data(1), { endpoint: b.endpoint, pkiId: peer2.pkiId });
      assert.deepEqual(await dead, peer2.pkiId);
      assert.equal((await dropped).reason, 'dial-failed');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('a rogue peer (identity from another CA) is refused, and learns why', async () => {
    const good = await startPeer('peer0');
    const org1 = await fixturePeer('peer0');
    const rogueSelf = await fixturePeer('rogue/peer0');
    const rogue = await createComm({
      self: rogueSelf,
      listen: '127.0.0.1:0',
      // The rogue trusts org1 so that it gets as far as being judged by the good peer.
      mapper: new MspIdentityMapper(new MspManager([org1.msp])),
      tlsRootCerts: org1.tlsRootCerts,
      ...FAST,
    });
    try {
      const failure = first(good.handshakeFailures$);
      await assert.rejects(rogue.handshake(peerOf(good)), (err: unknown) => {
        return err instanceof HandshakeError && err.reason === 'remote-refused' && /identity rejected/.test(err.message);
      });
      const seen = await failure;
      assert.equal(seen.direction, 'inbound');
      assert.ok(seen.error instanceof HandshakeError && seen.error.reason === 'identity-rejected');
      // And the good peer does not reach the rogue: its TLS CA is not trusted.
      await assert.rejects(good.handshake({ endpoint: rogue.endpoint }), ConnectError);
    } finally {
      await Promise.all([good.stop(), rogue.stop()]);
    }
  });
});

describe('failures', () => {
  it('a stopped peer is presumed dead on the next send', async () => {
    const [a, b] = await Promise.all([startPeer('peer0'), startPeer('peer1')]);
    try {
      const got = first(b.accept(isData));
      a.send(data(1), peerOf(b));
      await got;
      const target = peerOf(b);
      await b.stop();
      const dead = first(a.presumedDead$, () => true, 8_000);
      await sleep(50);
      a.send(data(2), target);
      assert.deepEqual(await dead, target.pkiId);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('a restarted peer is reached again', async () => {
    const a = await startPeer('peer0');
    let b = await startPeer('peer1');
    try {
      const target = peerOf(b);
      a.send(data(1), target);
      await first(b.accept(isData));
      await b.stop();
      b = await startPeer('peer1', { listen: target.endpoint });
      const got = first(b.accept(isData), () => true, 8_000);
      // The old connection may still be winding down: keep sending until one lands.
      const timer = setInterval(() => a.send(data(2), target), 100);
      try {
        assert.equal(seqOf(await got), 2);
      } finally {
        clearInterval(timer);
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('closeConn() racing with sends from both sides leaves a working pair', async () => {
    const [a, b] = await Promise.all([startPeer('peer0'), startPeer('peer1')]);
    try {
      a.send(data(1), peerOf(b));
      await first(b.accept(isData));
      const closes: Promise<void>[] = [];
      for (let i = 0; i < 20; i++) {
        a.send(data(i), peerOf(b));
        b.send(data(i), peerOf(a));
        if (i % 5 === 0) closes.push(a.closeConn(peerOf(b)), b.closeConn(peerOf(a)));
      }
      await Promise.all(closes);
      const got = first(b.accept((m) => isData(m) && seqOf(m) === 777), () => true, 8_000);
      const timer = setInterval(() => a.send(data(777), peerOf(b)), 100);
      try {
        await got;
      } finally {
        clearInterval(timer);
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe('message size limits', () => {
  it('an oversized outbound message is refused locally before anything is sent', async () => {
    const [a, b] = await Promise.all([startPeer('peer0', { maxSendMsgSize: 1_024 }), startPeer('peer1')]);
    try {
      assert.throws(() => a.send(data(1, 4_096), peerOf(b)), MessageTooLargeError);
      await assert.rejects(a.sendAsync(data(1, 4_096), peerOf(b)), MessageTooLargeError);
      assert.equal(a.connections().length, 0);
      assert.equal(a.stats().dropped['too-large'], 2);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('an oversized inbound message ends that stream with RESOURCE_EXHAUSTED, and only that', async () => {
    const [a, b, c] = await Promise.all([startPeer('peer0'), startPeer('peer1', { maxRecvMsgSize: 2_048 }), startPeer('peer2')]);
    try {
      c.send(data(1), peerOf(b));
      await first(b.accept(isData));
      a.send(data(1), peerOf(b));
      await first(b.accept((m) => isData(m) && m.connectionInfo.pkiId.equals(a.getPKIid())));
      a.send(data(2, 8_192), peerOf(b));
      // b ends that stream; both sides drop the connection. b is not dead (the write went out),
      // so a does not presume it dead: its next send dials again, as in Fabric.
      await eventually(() => !a.connections().some((x) => x.pkiId.equals(b.getPKIid())), 5_000, 'a to lose its stream to b');
      await eventually(() => !b.connections().some((x) => x.pkiId.equals(a.getPKIid())), 5_000, 'b to drop a');
      // c's connection is untouched.
      const got = first(b.accept((m) => isData(m) && seqOf(m) === 3));
      c.send(data(3), peerOf(b));
      assert.deepEqual((await got).connectionInfo.pkiId, c.getPKIid());
    } finally {
      await Promise.all([a.stop(), b.stop(), c.stop()]);
    }
  });
});

describe('attached to a grpc-js Server the caller owns', () => {
  it('serves gossip on it, and stop() detaches without shutting it down', async () => {
    const self = await fixturePeer('peer1');
    const server = new grpc.Server();
    const credentials = grpc.ServerCredentials.createSsl(null, [{ private_key: self.tls.key, cert_chain: self.tls.cert }], false);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
    const b = await createComm({ self, server, externalEndpoint: `127.0.0.1:${port}`, tls: true, ...FAST });
    const a = await startPeer('peer0');
    try {
      assert.equal(b.endpoint, `127.0.0.1:${port}`);
      // Without a client-certificate request TLS gives the server nothing to bind: refused.
      await assert.rejects(a.handshake(peerOf(b)), (err: unknown) => err instanceof HandshakeError);
      await b.stop();
      // The caller's server is still up: it answers (UNIMPLEMENTED for the removed service).
      await assert.rejects(a.probe(peerOf(b)), /UNIMPLEMENTED|Ping/);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      server.forceShutdown();
    }
  });

  it('with credentials that request client certificates, handshakes succeed', async () => {
    const self = await fixturePeer('peer1');
    const server = new grpc.Server();
    const credentials = grpc.ServerCredentials.createSsl(
      Buffer.concat(self.tlsRootCerts),
      [{ private_key: self.tls.key, cert_chain: self.tls.cert }],
      true,
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
    const b = await createComm({ self, server, externalEndpoint: `127.0.0.1:${port}`, ...FAST });
    const a = await startPeer('peer0');
    try {
      const got = first(b.accept(isData));
      a.send(data(5), peerOf(b));
      assert.equal(seqOf(await got), 5);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      server.forceShutdown();
    }
  });
});

describe('stop()', () => {
  it('completes accept() and presumedDead$, is idempotent, and refuses later sends', async () => {
    const [a, b] = await Promise.all([startPeer('peer0'), startPeer('peer1')]);
    const accepted = lastValueFrom(a.accept().pipe(toArray()));
    const deaths = lastValueFrom(a.presumedDead$.pipe(toArray()));
    b.send(data(1), peerOf(a));
    await first(a.accept(isData));
    await Promise.all([a.stop(), a.stop()]);
    await a.stop();
    assert.equal((await accepted).length, 1);
    assert.deepEqual(await deaths, []);
    await assert.rejects(a.sendAsync(data(2), peerOf(b)), StoppedError);
    a.send(data(3), peerOf(b));
    assert.equal(a.stats().dropped.stopped, 1);
    await b.stop();
  });
});

describe('connect() and dial-only comms', () => {
  it('a comm with neither listen nor server dials out, and connect() says who answered', async () => {
    const b = await startPeer('peer1');
    const self = await fixturePeer('peer0');
    const a = await createComm({ self, ...FAST });
    try {
      assert.equal(a.endpoint, '');
      const info = await a.connect({ endpoint: b.endpoint });
      assert.deepEqual(info.pkiId, b.getPKIid());
      // The connection is kept and used by sends.
      const got = first(b.accept(isData));
      a.send(data(9), peerOf(b));
      assert.equal(seqOf(await got), 9);
      assert.equal(a.connections().length, 1);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('connect() and sendAsync() reject with the cause when the peer cannot be reached', async () => {
    const a = await startPeer('peer0');
    try {
      await assert.rejects(a.connect({ endpoint: '127.0.0.1:1' }), ConnectError);
      await assert.rejects(a.sendAsync(data(1), { endpoint: '127.0.0.1:1', pkiId: Buffer.alloc(32, 1) }), (err: unknown) => {
        return err instanceof Error && /dial-failed/.test(err.message) && err.cause instanceof ConnectError;
      });
    } finally {
      await a.stop();
    }
  });
});

describe('a logger', () => {
  it('records each connection opened, on both sides', async () => {
    const records = (): { debug: Array<{ obj: object; msg?: string }>; logger: Logger } => {
      const debug: Array<{ obj: object; msg?: string }> = [];
      const ignore = (): void => undefined;
      return { debug, logger: { debug: (obj, msg) => void debug.push({ obj, ...(msg ? { msg } : {}) }), info: ignore, warn: ignore, error: ignore } };
    };
    const [la, lb] = [records(), records()];
    const [a, b] = await Promise.all([startPeer('peer0', { logger: la.logger }), startPeer('peer1', { logger: lb.logger })]);
    try {
      await a.connect(peerOf(b));
      await eventually(() => lb.debug.some((r) => r.msg === 'inbound connection'), 5_000, "b's inbound connection record");
      const outbound = la.debug.find((r) => r.msg === 'outbound connection');
      assert.deepEqual(outbound?.obj, { pkiId: b.getPKIid().toString('hex'), endpoint: b.endpoint });
      const inbound = lb.debug.find((r) => r.msg === 'inbound connection');
      assert.equal((inbound?.obj as { pkiId?: string }).pkiId, a.getPKIid().toString('hex'));
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
