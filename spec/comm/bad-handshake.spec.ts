// Each class of bad handshake thrown at a live server by a raw grpc-js client: refused with a
// typed reason locally, status UNKNOWN and a readable reason on the wire (as Fabric), and the
// server keeps serving good peers.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { HandshakeError, type Comm, type HandshakeFailureEvent, type LocalPeer } from '../../lib/index.js';
import type { GossipClient } from '../../lib/wire/service.js';
import { craftConnEstablish } from '../helpers/craft.js';
import { first, fixturePeer, peerOf, rawClient, startPeer } from '../helpers/peers.js';

interface StreamEnd {
  code: number;
  details: string;
  received: number;
}

/** Opens GossipStream, writes `messages`, and reports how the server ended the stream. */
function exchange(client: GossipClient, messages: Buffer[]): Promise<StreamEnd> {
  return new Promise((resolve) => {
    const call = client.GossipStream();
    let received = 0;
    call.on('data', () => received++);
    call.on('error', (err: grpc.ServiceError) => resolve({ code: err.code, details: err.details, received }));
    call.on('status', (s: grpc.StatusObject) => {
      if (s.code === grpc.status.OK) resolve({ code: s.code, details: s.details, received });
    });
    for (const m of messages) call.write(m);
  });
}

let server: Comm;
let peer1: LocalPeer;
let peer2: LocalPeer;
let rogue: LocalPeer;
const clients: GossipClient[] = [];

before(async () => {
  server = await startPeer('peer0', { connTimeoutMs: 300 });
  [peer1, peer2, rogue] = await Promise.all([fixturePeer('peer1'), fixturePeer('peer2'), fixturePeer('rogue/peer0')]);
});
after(async () => {
  for (const c of clients) c.close();
  await server.stop();
});

/** A raw client presenting the TLS pair of `tlsOf`, or no client certificate at all for null. */
async function client(tlsOf: string | null): Promise<GossipClient> {
  const c = await rawClient(server.endpoint, tlsOf ?? undefined);
  clients.push(c);
  return c;
}

async function expectRefused(
  messages: Buffer[],
  reason: HandshakeError['reason'],
  details: RegExp,
  tlsOf: string | null = 'peer1',
): Promise<void> {
  const failure = first(server.handshakeFailures$);
  const end = await exchange(await client(tlsOf), messages);
  const seen: HandshakeFailureEvent = await failure;
  assert.ok(seen.error instanceof HandshakeError, `typed error, got ${seen.error.name}`);
  assert.equal(seen.error.reason, reason);
  assert.equal(seen.direction, 'inbound');
  assert.equal(end.code, reason === 'timeout' ? grpc.status.DEADLINE_EXCEEDED : grpc.status.UNKNOWN, end.details);
  assert.match(end.details, details);
  // The server sent its own ConnEstablish first, as Fabric does, and nothing after it.
  assert.equal(end.received, 1);
}

describe('a live server refuses', () => {
  it('a corrupted signature', () =>
    expectRefused([craftConnEstablish(peer1, { signature: 'corrupt' })], 'bad-signature', /signature/));
  it('a high-S signature', () =>
    expectRefused([craftConnEstablish(peer1, { signature: 'high-s' })], 'bad-signature', /Invalid S/));
  it('an empty signature', () =>
    expectRefused([craftConnEstablish(peer1, { signature: 'empty' })], 'bad-signature', /empty signature/));
  it('a PKI-ID that is not the identity', () =>
    expectRefused([craftConnEstablish(peer1, { pkiId: peer2.pkiId })], 'pki-id-mismatch', /does not match/));
  it('an empty PKI-ID', () =>
    expectRefused([craftConnEstablish(peer1, { pkiId: new Uint8Array(0) })], 'empty-pki-id', /No PKI-ID|no PKI-ID/i));
  it('a TLS hash of another certificate', () =>
    expectRefused([craftConnEstablish(peer1, { tlsCertHash: peer2.tls.certHash })], 'tls-binding', /remote hash/));
  it('a client without a TLS certificate', () =>
    expectRefused([craftConnEstablish(peer1)], 'no-client-certificate', /no TLS certificate/, null));
  it('an identity issued by an untrusted CA', () =>
    expectRefused([craftConnEstablish(rogue)], 'identity-rejected', /identity rejected/, 'rogue/peer0'));
  // TLS lets such a client in (so that it can be told why), but shows the server no certificate.
  it('a TLS certificate issued by an untrusted TLS CA', () =>
    expectRefused(
      [craftConnEstablish(peer1, { tlsCertHash: rogue.tls.certHash })],
      'no-client-certificate',
      /not issued by a trusted TLS CA/,
      'rogue/peer0',
    ));
  it('a first message that is not conn', () =>
    expectRefused([craftConnEstablish(peer1, { notConn: true })], 'not-conn', /wrong type/));
  it('a first message that is not protobuf', () =>
    expectRefused([Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])], 'malformed', /does not decode/));
  it('silence past the connection timeout', () => expectRefused([], 'timeout', /timed out/));
});

describe('after all that', () => {
  it('the server still serves good peers', async () => {
    const good = await startPeer('peer3');
    try {
      const got = first(server.accept((m) => m.message.content === 'dataMsg'));
      good.send({ dataMsg: { payload: { seqNum: 1 } } }, peerOf(server));
      assert.deepEqual((await got).connectionInfo.pkiId, good.getPKIid());
    } finally {
      await good.stop();
    }
  });

  it('a probe handshake ends with OK', async () => {
    const end = await exchange(await client('peer1'), [craftConnEstablish(peer1, { probe: true })]);
    assert.equal(end.code, grpc.status.OK);
    assert.equal(server.connections().filter((c) => c.pkiId.equals(peer1.pkiId)).length, 0);
  });
});
