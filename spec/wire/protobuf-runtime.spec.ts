// The generated code runs on lib/wire/protobuf-runtime.ts: protobufjs with cheaper oneof setters
// and a registry of its own. Decoded messages must be what protobufjs's own runtime gives, and the
// application's protobufjs must be left as it was.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs/minimal.js';
import { gossip } from '../../lib/proto/messages.js';
import runtime from '../../lib/wire/protobuf-runtime.js';

describe('protobuf runtime of the generated code', () => {
  it('decodes a oneof into the field the bytes carry, and nothing else', () => {
    const bytes = gossip.GossipMessage.encode({ nonce: 3, tag: gossip.GossipMessage.Tag.EMPTY, dataMsg: { payload: { seqNum: 7, data: Buffer.from('x') } } }).finish();
    const m = gossip.GossipMessage.decode(bytes);
    assert.equal(m.content, 'dataMsg');
    assert.ok(Object.hasOwn(m, 'dataMsg'));
    assert.ok(!Object.hasOwn(m, 'aliveMsg'));
    assert.equal(m.aliveMsg, null, 'the other members read as protobufjs defaults');
  });

  it('a later member of the same oneof on the wire replaces the earlier one (last one wins)', () => {
    const data = gossip.GossipMessage.encode({ dataMsg: { payload: { seqNum: 1 } } }).finish();
    const empty = gossip.GossipMessage.encode({ empty: {} }).finish();
    const m = gossip.GossipMessage.decode(Buffer.concat([data, empty]));
    assert.equal(m.content, 'empty');
    assert.ok(!Object.hasOwn(m, 'dataMsg'), 'the earlier member was deleted');
  });

  it('setting the oneof keeps only the named member, as protobufjs does', () => {
    const m = new gossip.GossipMessage({ dataMsg: {}, aliveMsg: {}, memReq: {} });
    m.content = 'aliveMsg';
    assert.ok(Object.hasOwn(m, 'aliveMsg'));
    assert.ok(!Object.hasOwn(m, 'dataMsg'));
    assert.ok(!Object.hasOwn(m, 'memReq'));
    assert.equal(m.content, 'aliveMsg');
  });

  it("leaves the application's protobufjs alone", () => {
    assert.notEqual(runtime.util.oneOfSetter, protobuf.util.oneOfSetter);
    assert.equal(Object.hasOwn(protobuf.util, 'oneOfSetter'), true);
    // protobufjs's own setter still deletes every other member, present or not.
    const o: Record<string, unknown> = { a: 1, b: 2 };
    protobuf.util.oneOfSetter(['a', 'b', 'c']).call(o, 'b');
    assert.deepEqual(o, { b: 2 });
    const shared = (protobuf.roots as Record<string, { gossip?: unknown } | undefined>)['default'];
    assert.equal(shared?.gossip, undefined, 'our namespaces are not in protobufjs.roots.default');
    assert.equal((runtime.roots['default'] as { gossip?: unknown }).gossip, gossip);
  });
});
