// How watch and peer print messages: JSON records and one-line text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatMessageJson, formatMessageText, messageRecord, toPlain } from '../../lib/cli/message-format.js';
import { Long, ReceivedMessage, SignedMessage, gossip, type GossipMessageInit } from '../../lib/index.js';

const from = { pkiId: Buffer.alloc(32, 0xab), identity: new Uint8Array(0), endpoint: '10.0.0.1:7051', auth: { signedData: new Uint8Array(0), signature: new Uint8Array(0) } };
const noResponder = { respond: () => Promise.resolve() };
const at = new Date(2026, 0, 2, 3, 4, 5, 6);

function received(message: GossipMessageInit, signature?: Buffer): ReceivedMessage {
  const signed = SignedMessage.create(message, signature ? { sign: () => signature } : undefined);
  return new ReceivedMessage(SignedMessage.fromBytes(signed.bytes), from, 1, noResponder);
}

describe('messageRecord / formatMessageJson', () => {
  it('a data message: uint64 as strings, bytes as hex, tag by name', () => {
    const m = received(
      { nonce: Long.MAX_UNSIGNED_VALUE, channel: Buffer.from('ch'), tag: gossip.GossipMessage.Tag.CHAN_AND_ORG, dataMsg: { payload: { seqNum: 9, data: Buffer.from([0, 1, 255]) } } },
      Buffer.from([0xde, 0xad]),
    );
    const record = messageRecord(m, 'hex', at);
    assert.deepEqual(record, {
      time: at.toISOString(),
      from: { pkiId: 'ab'.repeat(32), endpoint: '10.0.0.1:7051' },
      content: 'dataMsg',
      nonce: '18446744073709551615',
      tag: 'CHAN_AND_ORG',
      channel: Buffer.from('ch').toString('hex'),
      body: { payload: { seqNum: '9', data: '0001ff' } },
      signature: 'dead',
      size: m.signedMessage.bytes.length,
    });
    assert.deepEqual(JSON.parse(formatMessageJson(m, 'base64', at)).body, { payload: { seqNum: '9', data: 'AAH/' } });
  });

  it('nested messages, repeated fields and enums (pull, membership)', () => {
    const hello = received({ tag: gossip.GossipMessage.Tag.CHAN_ONLY, hello: { nonce: 5, msgType: gossip.PullMsgType.BLOCK_MSG } });
    assert.deepEqual(messageRecord(hello).body, { nonce: '5', msgType: 'BLOCK_MSG' });
    const digest = received({ dataDig: { nonce: 1, digests: [Buffer.from('a'), Buffer.from('b')], msgType: gossip.PullMsgType.IDENTITY_MSG } });
    assert.deepEqual(messageRecord(digest).body, { nonce: '1', digests: ['61', '62'], msgType: 'IDENTITY_MSG' });
    const empty = received({ empty: {} });
    assert.deepEqual({ content: messageRecord(empty).content, body: messageRecord(empty).body, tag: messageRecord(empty).tag }, { content: 'empty', body: {}, tag: 'UNDEFINED' });
  });

  it('toPlain leaves out protobufjs internals and empty repeated fields', () => {
    const decoded = gossip.MembershipResponse.decode(gossip.MembershipResponse.encode({ alive: [{ payload: Buffer.from([1]) }] }).finish());
    assert.deepEqual(toPlain(decoded, 'hex'), { alive: [{ payload: '01' }] });
  });
});

describe('formatMessageText', () => {
  const line = (m: GossipMessageInit): string => formatMessageText(received(m), at);
  it('starts with the time, the sender, the content type, tag and nonce', () => {
    assert.equal(line({ nonce: 3, tag: gossip.GossipMessage.Tag.EMPTY, empty: {} }), `03:04:05.006 abababab 10.0.0.1:7051 empty EMPTY nonce=3`);
  });
  it('data: seq and data, as text when printable, else hex', () => {
    assert.match(line({ dataMsg: { payload: { seqNum: 2, data: Buffer.from('hi') } } }), / dataMsg UNDEFINED nonce=0 seq=2 data="hi"$/);
    assert.match(line({ dataMsg: { payload: { seqNum: 2, data: Buffer.from([0, 0xff]) } } }), / seq=2 data=0x00ff$/);
  });
  it('alive, membership response, pull, ack, and others', () => {
    assert.match(
      line({ aliveMsg: { membership: { endpoint: 'p:1', pkiId: Buffer.alloc(4, 0x11) }, timestamp: { incNum: 7, seqNum: 8 } } }),
      / aliveMsg .* endpoint=p:1 pki-id=11111111 inc=7 seq=8$/,
    );
    assert.match(line({ memRes: { alive: [{}, {}], dead: [{}] } }), / memRes .* alive=2 dead=1$/);
    assert.match(line({ dataReq: { nonce: 4, digests: [Buffer.from('x')], msgType: 1 } }), / dataReq .* pull-nonce=4 type=BLOCK_MSG items=1$/);
    assert.match(line({ ack: { error: '' } }), / ack .* ok$/);
    assert.match(line({ ack: { error: 'bad' } }), / ack .* error="bad"$/);
    assert.match(line({ channel: Buffer.from('mychannel'), stateInfoPullReq: { channel_MAC: Buffer.from([1, 2]) } }), / stateInfoPullReq UNDEFINED nonce=0 channel="mychannel" \{"channel_MAC":"0102"\}$/);
  });
});
