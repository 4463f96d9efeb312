// The decoders and checkers that bytes from the network reach, each fed directly: Envelope and
// GossipMessage decoding (what every connection does with each message), the ConnEstablish check
// (first message of every stream), identity parsing and validation, signature checks, and alive
// message verification. Each may throw only GossipError subclasses.
import fc from 'fast-check';
import { checkConnEstablish, gossip, msp, SignedMessage, verifyAliveMessage } from '../../lib/index.js';
import { mutation, mutate, handshakeMessage, randomGossipMessage } from './arbitraries.js';
import { mutatedFrom, type FuzzMaterial } from './fuzz-material.js';
import type { InProcessTarget } from './in-process-target.js';

export function decoderTargets(m: FuzzMaterial): InProcessTarget[] {
  return [envelope(m), gossipMessage(m), connEstablish(m), identity(m), signature(m), alive(m)] as InProcessTarget[];
}

/** Envelope bytes as a connection receives them: SignedMessage.fromBytes(...).decode(). */
function envelope(m: FuzzMaterial): InProcessTarget<Buffer> {
  return {
    name: 'envelope',
    kind: 'decoder',
    weight: 30,
    input: mutatedFrom([...m.envelopes, ...m.handshakes, ...m.alives]),
    run(bytes) {
      const signed = SignedMessage.fromBytes(bytes).decode();
      void signed.message.content;
      void signed.signature;
    },
  };
}

/** A GossipMessage payload: random fields of every content type, mutated, and fresh random ones. */
function gossipMessage(m: FuzzMaterial): InProcessTarget<Buffer> {
  return {
    name: 'gossip-message',
    kind: 'decoder',
    weight: 30,
    input: fc.oneof(
      { arbitrary: mutatedFrom(m.payloads), weight: 9 },
      { arbitrary: randomGossipMessage(2).map((msg) => Buffer.from(gossip.GossipMessage.encode(msg).finish())), weight: 1 },
    ),
    run(payload) {
      const signed = SignedMessage.fromEnvelope({ payload, signature: new Uint8Array(0) }).decode();
      // What the pipelines read of a received message.
      const msg = signed.message;
      void msg.content;
      void msg.aliveMsg?.membership?.endpoint;
      void msg.memRes?.alive?.length;
      void msg.dataMsg?.payload?.seqNum;
    },
  };
}

/** checkConnEstablish as a TLS server runs it on a stream's first message. */
function connEstablish(m: FuzzMaterial): InProcessTarget<Buffer> {
  return {
    name: 'conn-establish',
    kind: 'decoder',
    weight: 12,
    input: fc.oneof({ arbitrary: mutatedFrom(m.handshakes), weight: 4 }, { arbitrary: handshakeMessage(m), weight: 1 }),
    run(bytes) {
      checkConnEstablish(bytes, m.handshake);
    },
  };
}

/** A serialized identity: PKI-ID derivation and MSP validation (what put() does). */
function identity(m: FuzzMaterial): InProcessTarget<Buffer> {
  const pem = Buffer.from(m.as.certPem);
  const serialized = (mspid: string, idBytes: Uint8Array): Buffer => Buffer.from(msp.SerializedIdentity.encode({ mspid, idBytes }).finish());
  const input = fc.oneof(
    { arbitrary: mutatedFrom([m.as.identity, m.other.identity, m.rogue.identity].map((i) => Buffer.from(i))), weight: 3 },
    {
      arbitrary: fc
        .tuple(fc.oneof(fc.constant(m.as.mspid), fc.string({ maxLength: 10 })), fc.array(mutation, { minLength: 1, maxLength: 3 }))
        .map(([mspid, ms]) => serialized(mspid, mutate(pem, ms))),
      weight: 3,
    },
    { arbitrary: fc.constantFrom(m.as.identity, m.rogue.identity).map((i) => Buffer.from(i)), weight: 1 },
  );
  return {
    name: 'identity',
    kind: 'decoder',
    weight: 6,
    input,
    run(bytes) {
      const pkiId = m.mapper.pkiIdOf(bytes);
      m.mapper.put(pkiId, bytes);
    },
  };
}

interface SignatureCase {
  who: 0 | 1 | 2;
  data: Buffer;
  signature: Buffer;
}

/** A signature by a trusted, another or an untrusted identity, over data, valid or not. */
function signature(m: FuzzMaterial): InProcessTarget<SignatureCase> {
  const pair = fc.nat({ max: m.signatures.length - 1 }).map((i) => m.signatures[i]!);
  const input = fc.record({
    who: fc.constantFrom(0 as const, 1 as const, 2 as const),
    pair,
    sigMutations: fc.array(mutation, { maxLength: 3 }),
    dataMutations: fc.array(mutation, { maxLength: 1 }),
  }).map(({ who, pair: [data, sig], sigMutations, dataMutations }) => ({
    who,
    data: mutate(data, dataMutations),
    signature: mutate(sig, sigMutations),
  }));
  const identities = [m.as.identity, m.other.identity, m.rogue.identity];
  return {
    name: 'signature',
    kind: 'decoder',
    weight: 4,
    input,
    run(c) {
      m.mapper.verifyByIdentity(identities[c.who]!, c.signature, c.data);
    },
  };
}

/** An alive message as membership receives it: decode, then verifyAliveMessage. */
function alive(m: FuzzMaterial): InProcessTarget<Buffer> {
  return {
    name: 'alive',
    kind: 'decoder',
    weight: 8,
    input: mutatedFrom(m.alives),
    run(bytes) {
      verifyAliveMessage(SignedMessage.fromBytes(bytes), m.mapper);
    },
  };
}
