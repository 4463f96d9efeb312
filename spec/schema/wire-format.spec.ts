// The generated code speaks Fabric's encoding: field numbers as in fabric-protos, and bytes that
// round-trip exactly (also with fields this schema does not know).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs/minimal.js';
import { gossip, msp, SignedMessage } from '../../lib/index.js';
import { FIXTURES } from '../helpers/peers.js';

/** Field numbers of the top-level fields present in an encoded message, in order. */
function fieldNumbers(bytes: Uint8Array): number[] {
  const reader = protobuf.Reader.create(bytes);
  const fields: number[] = [];
  while (reader.pos < reader.len) {
    const key = reader.uint32();
    fields.push(key >>> 3);
    reader.skipType(key & 7);
  }
  return fields;
}

describe('Fabric field numbers', () => {
  const contents: Array<[keyof gossip.IGossipMessage, number]> = [
    ['aliveMsg', 5], ['memReq', 6], ['memRes', 7], ['dataMsg', 8], ['hello', 9], ['dataDig', 10],
    ['dataReq', 11], ['dataUpdate', 12], ['empty', 13], ['conn', 14], ['stateInfo', 15],
    ['stateSnapshot', 16], ['stateInfoPullReq', 17], ['stateRequest', 18], ['stateResponse', 19],
    ['leadershipMsg', 20], ['peerIdentity', 21], ['ack', 22], ['privateReq', 23], ['privateRes', 24],
    ['privateData', 25],
  ];
  for (const [content, number] of contents) {
    it(`GossipMessage.${content} is field ${number}`, () => {
      const bytes = gossip.GossipMessage.encode({ nonce: 1, channel: Buffer.from('c'), tag: 3, [content]: {} }).finish();
      assert.deepEqual(fieldNumbers(bytes), [1, 2, 3, number]);
    });
  }

  it('Envelope, ConnEstablish, SerializedIdentity', () => {
    const one = new Uint8Array([1]);
    assert.deepEqual(fieldNumbers(gossip.Envelope.encode({ payload: one, signature: one, secretEnvelope: { payload: one } }).finish()), [1, 2, 3]);
    assert.deepEqual(
      fieldNumbers(gossip.ConnEstablish.encode({ pkiId: one, identity: one, tlsCertHash: one, probe: true }).finish()),
      [1, 2, 3, 4],
    );
    assert.deepEqual(fieldNumbers(msp.SerializedIdentity.encode({ mspid: 'm', idBytes: one }).finish()), [1, 2]);
    assert.deepEqual(fieldNumbers(gossip.AliveMessage.encode({ membership: {}, timestamp: {}, identity: one }).finish()), [1, 2, 4]);
    assert.equal(gossip.GossipMessage.Tag.CHAN_OR_ORG, 5);
  });
});

describe('byte-for-byte round trips', () => {
  for (const file of ['peer0-server-conn.envelope.pb', 'peer2-client-conn.envelope.pb']) {
    it(`${file}: Envelope and its GossipMessage re-encode to the same bytes`, () => {
      const bytes = readFileSync(join(FIXTURES, 'handshake', file));
      const envelope = gossip.Envelope.decode(bytes);
      assert.ok(Buffer.from(gossip.Envelope.encode(envelope).finish()).equals(bytes));
      const message = gossip.GossipMessage.decode(envelope.payload);
      assert.ok(Buffer.from(gossip.GossipMessage.encode(message).finish()).equals(Buffer.from(envelope.payload)));
    });
  }

  it('fields this schema does not know survive a decode and re-encode', () => {
    const known = gossip.GossipMessage.encode({ nonce: 7, empty: {} }).finish();
    // Field 99, varint 42: what a future Fabric might add.
    const withUnknown = Buffer.concat([Buffer.from(known), Buffer.from([0x98, 0x06, 42])]);
    const envelope = Buffer.concat([Buffer.from(gossip.Envelope.encode({ payload: withUnknown }).finish()), Buffer.from([0x98, 0x06, 7])]);
    const received = SignedMessage.fromBytes(envelope);
    assert.equal(received.message.content, 'empty');
    assert.ok(Buffer.from(gossip.GossipMessage.encode(received.message).finish()).equals(withUnknown));
    assert.ok(Buffer.from(gossip.Envelope.encode(received.envelope).finish()).equals(envelope));
  });
});
