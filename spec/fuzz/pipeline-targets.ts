// The gossip pipelines fed through their public API over an in-memory comm (spec/gossip/
// fake-comm.ts): membership (alive messages, MembershipRequest/Response), pull (Hello, DataDigest,
// DataRequest, DataUpdate, both as responder and during its own rounds) and push (data messages).
// Whatever arrives, a pipeline throws nothing (errors inside surface as RxJS unhandled errors,
// which the campaign records), and its state stays sound: only members that really signed an
// alive message with a trusted identity are ever in the view.
import fc from 'fast-check';
import { of } from 'rxjs';
import {
  createMembership,
  createPull,
  createPush,
  gossip,
  Long,
  MessageStore,
  SignedMessage,
  type GossipMessageInit,
  type Membership,
  type Pull,
  type Push,
} from '../../lib/index.js';
import { connectionInfo, FakeComm } from '../gossip/fake-comm.js';
import { mutation, mutate } from './arbitraries.js';
import { mutatedFrom, type FuzzMaterial } from './fuzz-material.js';
import type { InProcessTarget } from './in-process-target.js';

const HOUR = 3_600_000;

export function pipelineTargets(m: FuzzMaterial): InProcessTarget[] {
  return [membership(m), pull(m), push(m)] as InProcessTarget[];
}

function fakeComm(m: FuzzMaterial): FakeComm {
  const comm = new FakeComm(m.self.pkiId, '127.0.0.1:7051', () => Date.now());
  comm.identity = m.self.identity;
  comm.signer = m.self.signer;
  comm.identityMapper = m.mapper;
  return comm;
}

/** The senders: two trusted peers and one of an untrusted MSP (the rogue). */
function senders(m: FuzzMaterial) {
  return [m.as, m.other, m.rogue].map((p, i) => connectionInfo(p.pkiId, `127.0.0.${i + 2}:7051`, new Uint8Array(p.identity)));
}

/** An envelope carried inside another message: a pooled one, its payload mutated or not. */
function innerEnvelope(pool: readonly Buffer[]): fc.Arbitrary<gossip.IEnvelope> {
  return fc
    .tuple(fc.nat({ max: pool.length - 1 }), fc.array(mutation, { maxLength: 2 }))
    .map(([i, ms]) => {
      const env = gossip.Envelope.decode(pool[i]!);
      return ms.length === 0 ? env : { payload: mutate(env.payload, ms), signature: env.signature };
    });
}

interface Arrival {
  from: number;
  message: GossipMessageInit | Buffer;
}

/** Decodes a raw arrival as comm does before anything reaches a pipeline (DecodeError if it cannot). */
function toSigned(message: GossipMessageInit | Buffer): SignedMessage {
  return Buffer.isBuffer(message) ? SignedMessage.fromBytes(message).decode() : SignedMessage.create(message);
}

function membership(m: FuzzMaterial): InProcessTarget<Arrival> {
  const comm = fakeComm(m);
  const pipeline: Membership = createMembership(comm, {
    self: m.self,
    aliveIntervalMs: HOUR,
    aliveExpirationMs: HOUR,
    reconnectIntervalMs: HOUR,
  });
  const from = senders(m);
  const trusted = new Set([m.as.pkiId.toString('hex'), m.other.pkiId.toString('hex')]);
  const alive = innerEnvelope(m.alives);
  const message: fc.Arbitrary<GossipMessageInit | Buffer> = fc.oneof(
    { arbitrary: mutatedFrom(m.alives), weight: 4 },
    {
      arbitrary: fc
        .record({ self: fc.option(alive, { nil: undefined }), known: fc.array(fc.uint8Array({ maxLength: 33 }), { maxLength: 3 }), nonce: fc.nat() })
        .map(({ self, known, nonce }) => ({ nonce, tag: gossip.GossipMessage.Tag.EMPTY, memReq: { ...(self ? { selfInformation: self } : {}), known } })),
      weight: 3,
    },
    {
      arbitrary: fc
        .record({ alive: fc.array(alive, { maxLength: 4 }), dead: fc.array(alive, { maxLength: 2 }), nonce: fc.nat() })
        .map(({ alive: a, dead, nonce }) => ({ nonce, tag: gossip.GossipMessage.Tag.EMPTY, memRes: { alive: a, dead } })),
      weight: 3,
    },
    { arbitrary: mutatedFrom(m.envelopes), weight: 2 },
  );
  return {
    name: 'membership',
    kind: 'pipeline',
    weight: 6,
    input: fc.record({ from: fc.nat({ max: from.length - 1 }), message }),
    run(a) {
      comm.receive(toSigned(a.message), from[a.from]!);
    },
    check() {
      const view = pipeline.view();
      for (const member of [...view.alive, ...view.dead]) {
        const key = member.pkiId.toString('hex');
        if (!trusted.has(key)) throw new Error(`membership admitted ${key}, which no trusted identity signed for`);
      }
    },
    settle() {
      comm.sent.length = 0;
      comm.responded.length = 0;
    },
    stop() {
      pipeline.stop();
      void comm.stop();
    },
  };
}

interface PullCase {
  from: number;
  kind: 'hello' | 'dataReq' | 'dataDig' | 'dataUpdate' | 'other';
  /** Use the nonce of a live exchange (our last Hello/DataRequest, or theirs) instead of `nonce`. */
  live: boolean;
  nonce: number;
  digests: Array<number | Uint8Array>;
  data: gossip.IEnvelope[];
  channel: Uint8Array;
  msgType: number;
  other: Buffer;
}

function pull(m: FuzzMaterial): InProcessTarget<PullCase> {
  const comm = fakeComm(m);
  const store = new MessageStore({ capacity: 300 });
  for (let i = 0; i < 20; i++) {
    const msg = SignedMessage.create({ nonce: 0, tag: gossip.GossipMessage.Tag.EMPTY, dataMsg: { payload: { seqNum: i, data: Buffer.from(`held ${i}`) } } });
    store.add(`held-${i}`, msg);
  }
  const from = senders(m);
  let nonce = 0;
  const pipeline: Pull = createPull(comm, of(from.map((c) => ({ endpoint: c.endpoint, pkiId: c.pkiId }))), {
    store,
    pullIntervalMs: HOUR,
    digestWaitMs: 1,
    requestWaitMs: 1,
    nonce: () => Long.fromNumber(++nonce, true),
  });
  let cases = 0;
  let lastHelloFromThem = 0;
  const lastSent = (content: 'hello' | 'dataReq'): Long | number => {
    for (let i = comm.sent.length - 1; i >= 0; i--) {
      const msg = comm.sent[i]!.message.message;
      if (msg.content === content) return (content === 'hello' ? msg.hello?.nonce : msg.dataReq?.nonce) ?? 0;
    }
    return 0;
  };
  const input = fc.record({
    from: fc.nat({ max: from.length - 1 }),
    kind: fc.constantFrom('hello' as const, 'dataReq' as const, 'dataDig' as const, 'dataUpdate' as const, 'other' as const),
    live: fc.boolean(),
    nonce: fc.nat(),
    digests: fc.array(fc.oneof(fc.nat({ max: 25 }), fc.uint8Array({ maxLength: 40 })), { maxLength: 5 }),
    data: fc.array(innerEnvelope(m.envelopes), { maxLength: 3 }),
    channel: fc.oneof({ arbitrary: fc.constant(new Uint8Array(0)), weight: 9 }, { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 8 }), weight: 1 }),
    msgType: fc.oneof(fc.constant(gossip.PullMsgType.BLOCK_MSG), fc.constant(gossip.PullMsgType.IDENTITY_MSG), fc.integer({ min: -2, max: 5 })),
    other: mutatedFrom(m.payloads),
  });
  return {
    name: 'pull',
    kind: 'pipeline',
    weight: 6,
    input,
    run(c) {
      if (++cases % 50 === 0) pipeline.pullNow();
      const digests = c.digests.map((d) => (typeof d === 'number' ? Buffer.from(d < 20 ? `held-${d}` : `other-${d}`) : d));
      const base = { nonce: 0, channel: c.channel, tag: gossip.GossipMessage.Tag.EMPTY };
      let message: GossipMessageInit;
      switch (c.kind) {
        case 'hello':
          lastHelloFromThem = c.nonce;
          message = { ...base, hello: { nonce: c.nonce, msgType: c.msgType } };
          break;
        case 'dataReq':
          message = { ...base, dataReq: { nonce: c.live ? lastHelloFromThem : c.nonce, digests, msgType: c.msgType } };
          break;
        case 'dataDig':
          message = { ...base, dataDig: { nonce: c.live ? lastSent('hello') : c.nonce, digests, msgType: c.msgType } };
          break;
        case 'dataUpdate':
          message = { ...base, dataUpdate: { nonce: c.live ? lastSent('dataReq') : c.nonce, data: c.data, msgType: c.msgType } };
          break;
        case 'other':
          comm.receive(SignedMessage.fromEnvelope({ payload: c.other }).decode(), from[c.from]!);
          return;
      }
      comm.receive(message, from[c.from]!);
    },
    check() {
      if (store.size > store.capacity) throw new Error(`the store holds ${store.size} > ${store.capacity}`);
    },
    settle() {
      comm.sent.length = 0;
      comm.responded.length = 0;
    },
    stop() {
      pipeline.stop();
      void comm.stop();
    },
  };
}

function push(m: FuzzMaterial): InProcessTarget<Arrival> {
  const comm = fakeComm(m);
  const from = senders(m);
  const pipeline: Push = createPush(comm, of(from.map((c) => ({ endpoint: c.endpoint, pkiId: c.pkiId }))), {
    store: new MessageStore({ capacity: 500 }),
  });
  const data = fc
    .record({ seqNum: fc.nat(), data: fc.uint8Array({ maxLength: 64 }), channel: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 4 })) })
    .map(({ seqNum, data: d, channel }): GossipMessageInit => ({ nonce: 0, channel, tag: gossip.GossipMessage.Tag.EMPTY, dataMsg: { payload: { seqNum, data: d } } }));
  return {
    name: 'push',
    kind: 'pipeline',
    weight: 4,
    input: fc.record({ from: fc.nat({ max: from.length - 1 }), message: fc.oneof(data, mutatedFrom(m.envelopes)) }),
    run(a) {
      comm.receive(toSigned(a.message), from[a.from]!);
    },
    check() {
      if (pipeline.store.size > pipeline.store.capacity) throw new Error('push store over capacity');
    },
    settle() {
      comm.sent.length = 0;
      comm.responded.length = 0;
    },
    stop() {
      pipeline.stop();
      void comm.stop();
    },
  };
}
