// SignedMessage.create writes an unsigned Envelope around its GossipMessage in one pass: the bytes
// must be exactly protobufjs's two-step encoding (the payload encoded, then the Envelope around
// it), for any message, the empty one included, and its payload the bytes a receiver verifies.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { gossip } from '../../lib/proto/messages.js';
import { keepingUnknownFields, SignedMessage, type GossipMessageInit } from '../../lib/wire/signed-message.js';

function twoStep(init: GossipMessageInit): Buffer {
  const payload = gossip.GossipMessage.encode(gossip.GossipMessage.create(init)).finish();
  return Buffer.from(gossip.Envelope.encode({ payload, signature: new Uint8Array(0) }).finish());
}

const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });

const init: fc.Arbitrary<GossipMessageInit> = fc.oneof(
  fc.constant({}),
  fc.record(
    {
      nonce: fc.nat(),
      channel: bytes(40),
      tag: fc.constantFrom(0, 1, 2, 3, 4, 5),
      dataMsg: fc.record({ payload: fc.record({ seqNum: fc.nat(), data: bytes(20_000) }, { requiredKeys: [] }) }, { requiredKeys: [] }),
    },
    { requiredKeys: [] },
  ),
  fc.record({
    tag: fc.constant(1),
    aliveMsg: fc.record({
      membership: fc.record({ endpoint: fc.string({ maxLength: 30 }), pkiId: bytes(32) }),
      timestamp: fc.record({ incNum: fc.nat(), seqNum: fc.nat() }),
    }),
  }),
  fc.record({ conn: fc.record({ pkiId: bytes(32), identity: bytes(900), tlsCertHash: bytes(32), probe: fc.boolean() }) }),
);

describe('SignedMessage.create, unsigned', () => {
  it("writes exactly protobufjs's Envelope of the encoded message, and that payload", () => {
    fc.assert(
      fc.property(init, (m) => {
        const created = SignedMessage.create(m);
        const expected = twoStep(m);
        assert.deepEqual(created.bytes, expected);
        assert.deepEqual(Buffer.from(created.payload), Buffer.from(gossip.GossipMessage.encode(gossip.GossipMessage.create(m)).finish()));
        assert.equal(created.signature.length, 0);
        const received = SignedMessage.fromBytes(created.bytes);
        assert.deepEqual(Buffer.from(received.payload), Buffer.from(created.payload));
        assert.deepEqual(Buffer.from(gossip.GossipMessage.encode(received.message).finish()), Buffer.from(created.payload));
      }),
      { numRuns: 400 },
    );
  });

  it("keeps a decoded message's unknown fields, and writes lengths of any size", () => {
    // A newer Fabric's field (number 99, length-delimited) after a data message, decoded keeping it.
    const known = Buffer.from(gossip.GossipMessage.encode({ nonce: 3, dataMsg: { payload: { seqNum: 9, data: Buffer.from('d') } } }).finish());
    const decoded = gossip.GossipMessage.decode(keepingUnknownFields(Buffer.concat([known, Buffer.from([0x9a, 0x06, 0x02, 0xab, 0xcd])])));
    const created = SignedMessage.create(decoded);
    assert.deepEqual(created.bytes, Buffer.from(gossip.Envelope.encode({ payload: gossip.GossipMessage.encode(decoded).finish() }).finish()));
    assert.ok(Buffer.from(created.payload).subarray(-5).equals(Buffer.from([0x9a, 0x06, 0x02, 0xab, 0xcd])));
    // A payload over 2 MiB: four bytes of length in the Envelope.
    const big = { dataMsg: { payload: { seqNum: 1, data: Buffer.alloc(2_500_000, 5) } } };
    assert.deepEqual(SignedMessage.create(big).bytes, twoStep(big));
  });

  it('leaves an empty message out of the Envelope, as protobufjs does', () => {
    const created = SignedMessage.create({});
    assert.equal(created.bytes.length, 0);
    assert.equal(created.payload.length, 0);
  });

  it('still signs the payload it encodes when given a signer', () => {
    const seen: Uint8Array[] = [];
    const signed = SignedMessage.create({ nonce: 7, dataMsg: { payload: { seqNum: 1, data: Buffer.from('x') } } }, {
      sign: (data) => {
        seen.push(Buffer.from(data));
        return Buffer.from('sig');
      },
    });
    assert.deepEqual(seen, [Buffer.from(signed.payload)]);
    assert.equal(Buffer.from(signed.signature).toString(), 'sig');
    assert.deepEqual(SignedMessage.fromBytes(signed.bytes).signature, signed.signature);
  });
});
