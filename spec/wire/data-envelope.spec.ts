// encodeDataEnvelope writes the bytes protobufjs writes for the same data message, signed or not.
import { verify } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import Long from 'long';
import { gossip } from '../../lib/proto/messages.js';
import { encodeDataEnvelope, type DataEnvelopeInit } from '../../lib/wire/data-envelope.js';
import { SignedMessage, type MessageSigner } from '../../lib/wire/signed-message.js';
import { fixturePeer } from '../helpers/peers.js';

const Tag = gossip.GossipMessage.Tag;

/** What push used to build with protobufjs, for the same fields. */
function reference(init: DataEnvelopeInit, signer?: MessageSigner): SignedMessage {
  return SignedMessage.create(
    {
      nonce: 0,
      channel: init.channel,
      tag: init.tag,
      dataMsg: {
        payload: { seqNum: init.seqNum, data: init.data, ...(init.originPkiId.length > 0 ? { originPkiId: init.originPkiId } : {}) },
      },
    },
    signer,
  );
}

function assertSame(actual: SignedMessage, expected: SignedMessage): void {
  assert.deepEqual(Buffer.from(actual.bytes), Buffer.from(expected.bytes));
  assert.deepEqual(Buffer.from(actual.payload), Buffer.from(expected.payload));
  assert.deepEqual(Buffer.from(actual.signature), Buffer.from(expected.signature));
  // Its message is what the payload decodes to.
  const payload = actual.message.dataMsg!.payload!;
  const want = expected.message.dataMsg!.payload!;
  assert.equal(Long.fromValue(payload.seqNum ?? 0).toString(), Long.fromValue(want.seqNum ?? 0).toString());
  assert.deepEqual(Buffer.from(payload.data ?? []), Buffer.from(want.data ?? []));
}

const bytes = (maxLength: number) => fc.uint8Array({ maxLength });
const init = fc.record({
  channel: fc.oneof(bytes(0), bytes(40)),
  tag: fc.constantFrom(Tag.UNDEFINED, Tag.EMPTY, Tag.CHAN_AND_ORG, Tag.CHAN_OR_ORG),
  seqNum: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((n) => Long.fromString(n.toString(), true)),
  // Up to 20,000 bytes: lengths of one, two and three varint bytes.
  data: fc.oneof(bytes(200), bytes(20_000)),
  originPkiId: fc.oneof(bytes(0), bytes(70)),
});

describe('encodeDataEnvelope', () => {
  it('writes what protobufjs writes, unsigned', () => {
    fc.assert(
      fc.property(init, (i) => assertSame(encodeDataEnvelope(i), reference(i))),
      { numRuns: 300 },
    );
  });

  it('writes what protobufjs writes, with signatures of any length (room kept or grown)', () => {
    fc.assert(
      fc.property(init, bytes(300), (i, signature) => {
        const signer: MessageSigner = { sign: () => signature };
        assertSame(encodeDataEnvelope(i, signer), reference(i, signer));
      }),
      { numRuns: 300 },
    );
  });

  it('signs the payload it encodes, as SignedMessage.create does (a real ECDSA key)', async () => {
    const peer = await fixturePeer('peer0');
    const fields: DataEnvelopeInit = {
      channel: Buffer.from('ch'),
      tag: Tag.CHAN_AND_ORG,
      seqNum: Long.fromNumber(300, true),
      data: Buffer.alloc(1_024, 7),
      originPkiId: peer.pkiId,
    };
    const signed = encodeDataEnvelope(fields, peer.signer);
    assert.ok(verify('sha256', signed.payload, { key: peer.signer.publicKey, dsaEncoding: 'der' }, signed.signature));
    // Same bytes around the signature as protobufjs (ECDSA signatures differ from one signing to the next).
    assertSame(signed, reference(fields, { sign: () => signed.signature }));
  });
});
