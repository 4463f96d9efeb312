// The gossip pipelines fed through their public API over an in-memory comm (spec/gossip/
// fake-comm.ts): membership (alive messages, MembershipRequest/Response), pull (Hello, DataDigest,
// DataRequest, DataUpdate, both as responder and during its own rounds), push (data messages), and
// membership with its identity pull on virtual time (alive messages without identity, relays,
// Fabric's identity pull with live nonces, identities forgotten and pulled again).
// Whatever arrives, a pipeline throws nothing (errors inside surface as RxJS unhandled errors,
// which the campaign records), and its state stays sound: only members that really signed an
// alive message with a trusted identity are ever in the view, and only trusted identities that
// came with their owner's signature are ever stored in the identity mapper.
import fc from 'fast-check';
import { of, VirtualTimeScheduler } from 'rxjs';
import {
  createAliveMessage,
  createMembership,
  createPull,
  createPush,
  gossip,
  Long,
  MessageStore,
  MspIdentityMapper,
  MspManager,
  msp,
  SignedMessage,
  type AliveVerifier,
  type GossipMessageInit,
  type IdentityStore,
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
  return [membership(m), pull(m), push(m), membershipPull(m)] as InProcessTarget[];
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

/**
 * A target's settle (forget what the fake comm recorded, then what `alsoSettle` forgets) and stop
 * (the pipeline, then the comm).
 */
function lifecycle(comm: FakeComm, pipeline: { stop(): void }, alsoSettle?: () => void): { settle(): void; stop(): void } {
  return {
    settle() {
      comm.sent.length = 0;
      comm.responded.length = 0;
      alsoSettle?.();
    },
    stop() {
      pipeline.stop();
      void comm.stop();
    },
  };
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
    ...lifecycle(comm, pipeline),
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
    ...lifecycle(comm, pipeline),
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
    ...lifecycle(comm, pipeline),
  };
}

type MembershipPullCase =
  | { step: 'alive'; from: number; bytes: Buffer }
  | { step: 'fresh'; who: number; variant: number; via: 'aliveMsg' | 'memReq' | 'memRes'; from: number }
  | { step: 'memReq' | 'memRes'; from: number; alive: gossip.IEnvelope[]; nonce: number }
  | { step: 'hello'; from: number; nonce: number; msgType: number }
  | { step: 'dataReq' | 'dataDig'; from: number; live: boolean; nonce: number; digests: Array<number | Uint8Array>; msgType: number }
  | { step: 'dataUpdate'; from: number; live: boolean; nonce: number; data: gossip.IEnvelope[]; msgType: number }
  | { step: 'tick'; ms: number }
  | { step: 'forget'; who: number }
  | { step: 'other'; from: number; bytes: Buffer };

/**
 * Membership with its identity pull, on a virtual clock advanced by the cases: alive messages
 * (pooled ones, mostly stale after a while, and fresh ones signed per case in each of Fabric's
 * forms: with or without identity, empty endpoint with a secret envelope), forged secrets, membership
 * requests and responses, and both sides of Fabric's identity pull with live nonces (their Hello
 * then DataRequest; our Hello answered by a DataDigest, our DataRequest by a DataUpdate of
 * PeerIdentity envelopes). Identities are forgotten now and then, so that alive messages without
 * identity start pulls and the pull stores them again.
 */
function membershipPull(m: FuzzMaterial): InProcessTarget<MembershipPullCase> {
  const scheduler = new VirtualTimeScheduler();
  const comm = new FakeComm(m.self.pkiId, '127.0.0.1:7051', () => scheduler.now());
  const mapper = new MspIdentityMapper(new MspManager([m.self.msp]), { pkiId: m.self.pkiId, identity: m.self.identity });
  comm.identity = m.self.identity;
  comm.signer = m.self.signer;
  comm.identityMapper = mapper;
  const trusted = new Set([m.self, m.as, m.other, m.third].map((p) => p.pkiId.toString('hex')));
  // Every PKI-ID an identity was stored under: put() is reached only after a signature check.
  const stored = new Set<string>();
  const verifier: AliveVerifier & IdentityStore = {
    pkiIdOf: (identity) => mapper.pkiIdOf(identity),
    verifyByIdentity: (identity, signature, data) => mapper.verifyByIdentity(identity, signature, data),
    verify: (pkiId, signature, data) => mapper.verify(pkiId, signature, data),
    get: (pkiId) => mapper.get(pkiId),
    has: (pkiId) => mapper.has(pkiId),
    put(pkiId, identity) {
      mapper.put(pkiId, identity);
      stored.add(Buffer.from(pkiId).toString('hex'));
    },
  };
  let nonce = 0;
  const pipeline: Membership = createMembership(comm, {
    self: m.self,
    verifier,
    aliveIntervalMs: HOUR,
    aliveExpirationMs: HOUR,
    reconnectIntervalMs: HOUR,
    publishCertPeriodMs: 0,
    scheduler,
    identityPull: { pullIntervalMs: 200, digestWaitMs: 5, requestWaitMs: 5, nonce: () => Long.fromNumber(++nonce, true) },
  });
  // A peer of another organization (as a multi-org MSP would have let it connect): identity pull
  // offers it only our organization's identities and its own (Fabric's egress filter).
  const foreign = Buffer.from(msp.SerializedIdentity.encode({ mspid: 'Org2MSP', idBytes: Buffer.from(m.rogue.certPem) }).finish());
  const from = [
    ...senders(m),
    connectionInfo(m.third.pkiId, '127.0.0.5:7051', new Uint8Array(m.third.identity)),
    connectionInfo(mapper.pkiIdOf(foreign), '127.0.0.6:7051', new Uint8Array(foreign)),
  ];
  // Fresh alive messages are of the trusted senders (as, other, third: indexes 0, 1, 3 of `from`).
  const fresh = [0, 1, 3] as const;
  const freshPeers = [m.as, m.other, m.third];
  let seqNum = 1_000_000;
  const pkiIds = [m.self.pkiId, m.as.pkiId, m.other.pkiId, m.rogue.pkiId, m.third.pkiId];
  // The valid PeerIdentity envelope of each fixture peer (the first ones of the pool), by hex PKI-ID.
  const identityOf = new Map<string, gossip.IEnvelope>();
  for (const bytes of m.peerIdentities) {
    const env = gossip.Envelope.decode(bytes);
    const key = Buffer.from(gossip.GossipMessage.decode(env.payload).peerIdentity?.pkiId ?? []).toString('hex');
    if (!identityOf.has(key)) identityOf.set(key, env);
  }
  const alive = innerEnvelope(m.alives);
  const sender = fc.nat({ max: from.length - 1 });
  const identityMsgType = fc.oneof(
    { arbitrary: fc.constant(gossip.PullMsgType.IDENTITY_MSG), weight: 9 },
    { arbitrary: fc.integer({ min: -1, max: 3 }), weight: 1 },
  );
  const digests = fc.array(fc.oneof({ arbitrary: fc.nat({ max: pkiIds.length - 1 }), weight: 4 }, { arbitrary: fc.uint8Array({ maxLength: 40 }), weight: 1 }), {
    maxLength: 4,
  });
  const input: fc.Arbitrary<MembershipPullCase> = fc.oneof(
    { arbitrary: fc.record({ step: fc.constant('alive' as const), from: sender, bytes: mutatedFrom(m.alives) }), weight: 4 },
    {
      arbitrary: fc.record({
        step: fc.constant('fresh' as const),
        who: fc.nat({ max: freshPeers.length - 1 }),
        variant: fc.nat({ max: 3 }),
        via: fc.constantFrom('aliveMsg' as const, 'memReq' as const, 'memRes' as const),
        from: sender,
      }),
      weight: 3,
    },
    {
      arbitrary: fc.record({ step: fc.constantFrom('memReq' as const, 'memRes' as const), from: sender, alive: fc.array(alive, { minLength: 1, maxLength: 3 }), nonce: fc.nat() }),
      weight: 3,
    },
    { arbitrary: fc.record({ step: fc.constant('hello' as const), from: sender, nonce: fc.nat(), msgType: identityMsgType }), weight: 3 },
    {
      arbitrary: fc.record({ step: fc.constantFrom('dataReq' as const, 'dataDig' as const), from: sender, live: fc.boolean(), nonce: fc.nat(), digests, msgType: identityMsgType }),
      weight: 5,
    },
    {
      arbitrary: fc.record({
        step: fc.constant('dataUpdate' as const),
        from: sender,
        live: fc.boolean(),
        nonce: fc.nat(),
        data: fc.array(innerEnvelope(m.peerIdentities), { maxLength: 3 }),
        msgType: identityMsgType,
      }),
      weight: 4,
    },
    { arbitrary: fc.record({ step: fc.constant('tick' as const), ms: fc.nat({ max: 30 }) }), weight: 4 },
    { arbitrary: fc.record({ step: fc.constant('forget' as const), who: fc.nat({ max: freshPeers.length - 1 }) }), weight: 1 },
    { arbitrary: fc.record({ step: fc.constant('other' as const), from: sender, bytes: mutatedFrom([...m.identityPulls, ...m.envelopes]) }), weight: 1 },
  );
  let lastHelloFromThem = { nonce: 0, from: 0 };
  /** Our latest identity-pull message of this kind still in comm.sent, with the sender index of its target. */
  const lastSent = (content: 'hello' | 'dataReq'): { nonce: Long | number; to: number; digests: Uint8Array[] } | undefined => {
    for (let i = comm.sent.length - 1; i >= 0; i--) {
      const sent = comm.sent[i]!;
      const msg = sent.message.message;
      if (msg.content !== content) continue;
      const target = sent.peers[0]?.pkiId;
      const to = target ? from.findIndex((c) => c.pkiId.equals(target)) : -1;
      const pull = content === 'hello' ? msg.hello : msg.dataReq;
      return { nonce: pull?.nonce ?? 0, to: Math.max(0, to), digests: msg.dataReq?.digests ?? [] };
    }
    return undefined;
  };
  const base = { nonce: 0, tag: gossip.GossipMessage.Tag.EMPTY };
  let cases = 0;
  let sentChecked = 0;
  let respondedChecked = 0;
  const identityByKey = new Map([m.self, m.as, m.other, m.third].map((p) => [p.pkiId.toString('hex'), p.identity]));
  const passedOn = (message: SignedMessage, how: string): void => {
    const key = Buffer.from(message.message.aliveMsg?.membership?.pkiId ?? []).toString('hex');
    const identity = identityByKey.get(key);
    if (!identity) throw new Error(`membership ${how} an alive message of ${key}, not a trusted peer`);
    try {
      mapper.verifyByIdentity(identity, message.signature, message.payload);
    } catch (err: unknown) {
      throw new Error(`membership ${how} an alive message of ${key} that its owner did not sign: ${String(err)}`);
    }
  };
  return {
    name: 'membership-pull',
    kind: 'pipeline',
    weight: 8,
    input,
    run(c) {
      if (++cases % 100 === 0) pipeline.identityPull?.pullNow();
      switch (c.step) {
        case 'alive':
        case 'other':
          comm.receive(SignedMessage.fromBytes(c.bytes).decode(), from[c.from]!);
          return;
        case 'fresh': {
          const peer = freshPeers[c.who]!;
          const alive = createAliveMessage(
            {
              pkiId: peer.pkiId,
              endpoint: c.variant < 2 ? `127.0.0.${fresh[c.who]! + 2}:7051` : '',
              ...(c.variant % 2 === 0 ? { identity: peer.identity } : {}),
              ...(c.variant > 0 ? { internalEndpoint: `127.0.0.${fresh[c.who]! + 2}:7051` } : {}),
              // Above every pooled and captured inc_num, so that a fresh message is never stale.
              incNum: Long.MAX_UNSIGNED_VALUE,
              seqNum: Long.fromNumber(++seqNum, true),
            },
            peer.signer,
          );
          if (c.via === 'aliveMsg') comm.receive(alive, from[c.from]!);
          // Fabric: a MembershipRequest's self information is its sender's own alive message.
          else if (c.via === 'memReq') comm.receive({ ...base, nonce: seqNum, memReq: { selfInformation: alive.envelope, known: [] } }, from[fresh[c.who]!]!);
          else comm.receive({ ...base, nonce: seqNum, memRes: { alive: [alive.envelope], dead: [] } }, from[c.from]!);
          return;
        }
        case 'memReq':
          comm.receive({ ...base, nonce: c.nonce, memReq: { selfInformation: c.alive[0]!, known: [] } }, from[c.from]!);
          return;
        case 'memRes':
          comm.receive({ ...base, nonce: c.nonce, memRes: { alive: c.alive, dead: [] } }, from[c.from]!);
          return;
        case 'hello':
          lastHelloFromThem = { nonce: c.nonce, from: c.from };
          comm.receive({ ...base, hello: { nonce: c.nonce, msgType: c.msgType } }, from[c.from]!);
          return;
        case 'dataReq': {
          const live = c.live ? lastHelloFromThem : { nonce: c.nonce, from: c.from };
          const raw = c.digests.map((d) => (typeof d === 'number' ? pkiIds[d]! : d));
          comm.receive({ ...base, dataReq: { nonce: live.nonce, digests: raw, msgType: c.msgType } }, from[live.from]!);
          return;
        }
        case 'dataDig': {
          const ours = c.live ? lastSent('hello') : undefined;
          const raw = c.digests.map((d) => (typeof d === 'number' ? pkiIds[d]! : d));
          comm.receive({ ...base, dataDig: { nonce: ours?.nonce ?? c.nonce, digests: raw, msgType: c.msgType } }, from[ours?.to ?? c.from]!);
          return;
        }
        case 'dataUpdate': {
          const ours = c.live ? lastSent('dataReq') : undefined;
          // A live update also carries the PeerIdentity messages that were asked for, as their owners signed them.
          const asked = (ours?.digests ?? []).flatMap((d) => identityOf.get(Buffer.from(d).toString('hex')) ?? []);
          comm.receive({ ...base, dataUpdate: { nonce: ours?.nonce ?? c.nonce, data: [...asked, ...c.data], msgType: c.msgType } }, from[ours?.to ?? c.from]!);
          return;
        }
        case 'tick':
          // A no-op action at now + ms makes the clock reach it even when nothing else is due.
          scheduler.schedule(() => undefined, c.ms);
          scheduler.maxFrames = scheduler.now() + c.ms;
          scheduler.flush();
          return;
        case 'forget':
          mapper.delete(freshPeers[c.who]!.pkiId);
          return;
      }
    },
    check() {
      const view = pipeline.view();
      for (const member of [...view.alive, ...view.dead]) {
        const key = member.pkiId.toString('hex');
        if (!trusted.has(key)) throw new Error(`membership admitted ${key}, which no trusted identity signed for`);
      }
      for (const key of stored) if (!trusted.has(key)) throw new Error(`the identity mapper stored ${key}, which is not a trusted identity`);
      // What membership passed on (relays, its MembershipRequests and Responses) carries only alive
      // messages their trusted subjects signed.
      for (; sentChecked < comm.sent.length; sentChecked++) {
        const msg = comm.sent[sentChecked]!.message;
        if (msg.message.content === 'aliveMsg') passedOn(msg, 'relayed');
        else if (msg.message.memReq?.selfInformation) passedOn(SignedMessage.fromEnvelope(msg.message.memReq.selfInformation), 'requested with');
      }
      for (; respondedChecked < comm.responded.length; respondedChecked++) {
        const res = comm.responded[respondedChecked]!.message.message.memRes;
        for (const env of [...(res?.alive ?? []), ...(res?.dead ?? [])]) passedOn(SignedMessage.fromEnvelope(env), 'answered with');
      }
      if (mapper.size > trusted.size) throw new Error(`the identity mapper holds ${mapper.size} identities, more than the ${trusted.size} trusted ones`);
    },
    counters() {
      const s = pipeline.stats();
      const p = pipeline.identityPull!.stats();
      return {
        'alive checked': s.received,
        'alive invalid': s.invalid,
        'unknown identity': s.unknownIdentity,
        relayed: s.relayed,
        'pull rounds': p.rounds,
        'identities pulled': p.learned,
        'hellos answered': p.hellos,
        'requests answered': p.requests,
        'PeerIdentity refused': p.invalid,
      };
    },
    ...lifecycle(comm, pipeline, () => {
      sentChecked = 0;
      respondedChecked = 0;
    }),
  };
}
