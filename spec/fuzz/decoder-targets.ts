// The decoders and checkers that bytes from the network reach, each fed directly: Envelope and
// GossipMessage decoding (what every connection does with each message), the ConnEstablish check
// (first message of every stream), identity parsing and validation, signature checks, and alive
// message verification (with the secret envelope's internal endpoint), PeerIdentity verification
// (what identity pull stores), the disclosure rules applied to received alive messages, and data
// messages' originator signatures. Each may throw only GossipError subclasses.
import fc from 'fast-check';
import {
  checkConnEstablish,
  concealFor,
  GossipError,
  gossip,
  internalEndpointOf,
  mayDisclose,
  msp,
  MspIdentityMapper,
  MspManager,
  mspIdOf,
  originOf,
  SignedMessage,
  verifyDataMessage,
  verifyDataMessageAsync,
  verifyAliveMessage,
  verifyIdentityMessage,
  withoutSecret,
} from '../../lib/index.js';
import { mutation, mutate, handshakeMessage, randomGossipMessage } from './arbitraries.js';
import { mutatedFrom, type FuzzMaterial } from './fuzz-material.js';
import type { InProcessTarget } from './in-process-target.js';

export function decoderTargets(m: FuzzMaterial): InProcessTarget[] {
  return [envelope(m), gossipMessage(m), connEstablish(m), identity(m), signature(m), alive(m), peerIdentity(m), secret(m), disclosure(m), dataOrigin(m)] as InProcessTarget[];
}

/** Envelope bytes as a connection receives them: SignedMessage.fromBytes(...).decode(). */
function envelope(m: FuzzMaterial): InProcessTarget<Buffer> {
  return {
    name: 'envelope',
    kind: 'decoder',
    weight: 30,
    input: mutatedFrom([...m.envelopes, ...m.handshakes, ...m.alives, ...m.peerIdentities, ...m.identityPulls]),
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

/** A PeerIdentity message as identity pull receives it in a DataUpdate: decode, then verifyIdentityMessage. */
function peerIdentity(m: FuzzMaterial): InProcessTarget<Buffer> {
  return {
    name: 'peer-identity',
    kind: 'decoder',
    weight: 6,
    input: mutatedFrom(m.peerIdentities),
    run(bytes) {
      const { pkiId, identity } = verifyIdentityMessage(SignedMessage.fromBytes(bytes), m.mapper);
      // What verifyIdentityMessage returns is what identity pull stores: it must be the identity of its PKI-ID.
      if (!m.mapper.pkiIdOf(identity).equals(pkiId)) throw new Error('verifyIdentityMessage returned a PKI-ID that is not its identity\'s');
    },
  };
}

/**
 * A secret envelope as membership reads it: the internal endpoint (internalEndpointOf never
 * throws, '' when undecodable) and its signature checked against the sender's identity.
 */
function secret(m: FuzzMaterial): InProcessTarget<{ who: 0 | 1; payload: Buffer; signature: Buffer }> {
  const identities = [m.as.identity, m.other.identity];
  const secrets = m.alives.flatMap((bytes) => {
    const env = gossip.Envelope.decode(bytes);
    const pkiId = gossip.GossipMessage.decode(env.payload).aliveMsg?.membership?.pkiId;
    const who = pkiId && Buffer.from(pkiId).equals(m.other.pkiId) ? 1 : 0;
    const s = env.secretEnvelope;
    return s?.payload?.length ? [{ who: who as 0 | 1, payload: Buffer.from(s.payload), signature: Buffer.from(s.signature ?? []) }] : [];
  });
  const input = fc
    .record({
      i: fc.nat({ max: secrets.length - 1 }),
      payloadMutations: fc.array(mutation, { maxLength: 2 }),
      signatureMutations: fc.array(mutation, { maxLength: 1 }),
    })
    .map(({ i, payloadMutations, signatureMutations }) => {
      const base = secrets[i]!;
      return { who: base.who, payload: mutate(base.payload, payloadMutations), signature: mutate(base.signature, signatureMutations) };
    });
  return {
    name: 'secret',
    kind: 'decoder',
    weight: 3,
    input,
    run(c) {
      const endpoint = internalEndpointOf({ payload: c.payload, signature: c.signature });
      if (typeof endpoint !== 'string') throw new Error(`internalEndpointOf returned ${typeof endpoint}`);
      m.mapper.verifyByIdentity(identities[c.who]!, c.signature, c.payload);
    },
  };
}

interface DisclosureCase {
  bytes: Buffer;
  selfOrg: string;
  target: string | undefined;
}

/**
 * A received alive message passed on (relayed, in a MembershipResponse): the disclosure rules
 * with the organizations its identity names, and concealFor/withoutSecret on it. The secret
 * envelope never reaches another organization; the signed payload is never altered.
 */
function disclosure(m: FuzzMaterial): InProcessTarget<DisclosureCase> {
  const orgs = [m.as.mspid, 'Org2MSP', ''];
  return {
    name: 'disclosure',
    kind: 'decoder',
    weight: 3,
    input: fc.record({
      bytes: mutatedFrom(m.alives),
      selfOrg: fc.constantFrom(...orgs),
      target: fc.option(fc.constantFrom(...orgs), { nil: undefined }),
    }),
    run(c) {
      const message = SignedMessage.fromBytes(c.bytes).decode();
      const identity = message.message.aliveMsg?.identity;
      const memberOrg = identity && identity.length > 0 ? mspIdOf(identity) : undefined;
      const external = (message.message.aliveMsg?.membership?.endpoint ?? '') !== '';
      mayDisclose({ selfOrg: c.selfOrg, memberOrg, memberHasExternalEndpoint: external, targetOrg: c.target });
      const concealed = concealFor(message, c.selfOrg, c.target);
      if (c.target !== c.selfOrg && concealed.envelope.secretEnvelope) throw new Error('the secret envelope went to another organization');
      const bare = withoutSecret(message);
      if (bare.envelope.secretEnvelope) throw new Error('withoutSecret kept the secret envelope');
      for (const out of [concealed, bare]) {
        if (!Buffer.from(out.payload).equals(message.payload) || !Buffer.from(out.signature).equals(message.signature)) {
          throw new Error('the signed alive message was altered on its way on');
        }
      }
    },
  };
}

/**
 * A data message's originator signature, as push (verifyOrigin) and verifyOrigin() check it: the
 * synchronous check on every case, the threadpool one on every 16th (its rejection must be typed
 * too, and both must agree).
 */
function dataOrigin(m: FuzzMaterial): InProcessTarget<Buffer> {
  const mapper = new MspIdentityMapper(new MspManager([m.self.msp]), { pkiId: m.self.pkiId, identity: m.self.identity });
  for (const p of [m.as, m.other]) mapper.put(p.pkiId, p.identity);
  const broken: string[] = [];
  let cases = 0;
  return {
    name: 'data-origin',
    kind: 'decoder',
    weight: 4,
    input: mutatedFrom(m.dataMessages),
    run(bytes) {
      const message = SignedMessage.fromBytes(bytes);
      let syncOrigin: Buffer | undefined;
      let syncError: unknown;
      try {
        originOf(message);
        syncOrigin = verifyDataMessage(message, mapper);
      } catch (err: unknown) {
        syncError = err;
      }
      if (++cases % 16 === 0) {
        verifyDataMessageAsync(message, mapper).then(
          (origin) => {
            if (!syncOrigin?.equals(origin)) broken.push(`async accepted ${origin.toString('hex')}, sync ${syncOrigin ? 'named another' : 'refused it'}`);
          },
          (err: unknown) => {
            if (!(err instanceof GossipError)) broken.push(`async rejected with an untyped error: ${String(err)}`);
            else if (syncOrigin) broken.push(`async refused (${err.name}) what sync accepted`);
          },
        );
      }
      if (syncError !== undefined) throw syncError;
    },
    check() {
      if (broken.length > 0) throw new Error(broken.splice(0).join('; '));
    },
  };
}
