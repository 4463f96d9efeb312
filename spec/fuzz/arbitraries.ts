// fast-check arbitraries for fuzzing the gossip server: byte mutations of valid envelopes, random
// bytes of random lengths, and valid protobuf with wrong fields (random GossipMessages generated
// from schema/ by reflection, encoded with the generated gossip.GossipMessage.encode).
import { join } from 'node:path';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { gossip, Long, msp, SignedMessage, type LocalPeer } from '../../lib/index.js';
import { craftConnEstablish } from '../helpers/craft.js';

const SCHEMA = join(import.meta.dirname, '..', '..', 'schema');

let reflected: protobuf.Root | undefined;
function schema(): protobuf.Root {
  if (!reflected) {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => join(SCHEMA, target);
    root.loadSync(['gossip/message.proto']);
    root.resolveAll();
    reflected = root;
  }
  return reflected;
}

// ---------------------------------------------------------------------------------------------
// Random messages of any type of the schema, by reflection.

const INT64 = new Set(['int64', 'sint64', 'sfixed64']);
const UINT64 = new Set(['uint64', 'fixed64']);

function scalar(type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'double':
    case 'float':
      return fc.double();
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return fc.integer();
    case 'uint32':
    case 'fixed32':
      return fc.nat({ max: 0xffff_ffff });
    case 'bool':
      return fc.boolean();
    case 'string':
      return fc.string({ unit: 'binary', maxLength: 40 });
    case 'bytes':
      return fc.uint8Array({ maxLength: 80 });
    default:
      if (INT64.has(type)) return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((v) => Long.fromString(v.toString(), false));
      if (UINT64.has(type)) return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => Long.fromString(v.toString(), true));
      throw new Error(`no arbitrary for scalar type ${type}`);
  }
}

const cache = new Map<string, fc.Arbitrary<Record<string, unknown>>>();

function single(field: protobuf.Field, depth: number): fc.Arbitrary<unknown> {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) {
    // Known values mostly, and any int32 (an enum value the receiver does not know).
    return fc.oneof({ arbitrary: fc.constantFrom(...Object.values(resolved.values)), weight: 4 }, { arbitrary: fc.integer(), weight: 1 });
  }
  if (resolved instanceof protobuf.Type) return depth > 0 ? messageOf(resolved, depth - 1) : fc.constant({});
  return scalar(field.type);
}

function fieldArb(field: protobuf.Field, depth: number): fc.Arbitrary<unknown> {
  const one = single(field, depth);
  return field.repeated ? fc.array(one, { maxLength: depth > 0 ? 3 : 1 }) : one;
}

/** Random plain objects of a reflected message type, nested up to `depth` levels. */
export function messageOf(type: protobuf.Type, depth = 3): fc.Arbitrary<Record<string, unknown>> {
  const key = `${type.fullName}@${depth}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const plain: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of type.fieldsArray) if (!field.partOf) plain[field.name] = fieldArb(field, depth);
  const oneofs = type.oneofsArray.map((oneof) =>
    fc.option(fc.oneof(...oneof.fieldsArray.map((f) => fieldArb(f, depth).map((v) => ({ [f.name]: v })))), { nil: {} }),
  );
  const arb = fc
    .tuple(fc.record(plain, { requiredKeys: [] }), ...oneofs)
    .map(([base, ...chosen]) => Object.assign({}, base, ...chosen) as Record<string, unknown>);
  cache.set(key, arb);
  return arb;
}

/** A random GossipMessage (any content, wrong fields and all), as plain object. */
export function randomGossipMessage(depth = 3): fc.Arbitrary<gossip.IGossipMessage> {
  return messageOf(schema().lookupType('gossip.GossipMessage'), depth) as fc.Arbitrary<gossip.IGossipMessage>;
}

// ---------------------------------------------------------------------------------------------
// Byte mutations.

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number }
  | { op: 'overwrite'; at: number; bytes: Uint8Array }
  | { op: 'duplicate'; at: number; length: number };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xff), fc.nat({ max: 255 })) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant('overwrite' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
);

/** `base` with the mutations applied in order (positions taken modulo the current length). */
export function mutate(base: Uint8Array, mutations: readonly Mutation[]): Buffer {
  let b = Buffer.from(base);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + (m.op === 'insert' ? 1 : 0));
    switch (m.op) {
      case 'flip':
        if (b.length > 0) b[at] = b[at]! ^ (1 << m.bit);
        break;
      case 'set':
        if (b.length > 0) b[at] = m.value;
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.length)]);
        break;
      case 'overwrite':
        b = Buffer.from(b);
        Buffer.from(m.bytes).copy(b, at);
        break;
      case 'duplicate':
        b = Buffer.concat([b.subarray(0, at + m.length), b.subarray(at)]);
        break;
    }
  }
  return Buffer.from(b);
}

// ---------------------------------------------------------------------------------------------
// Messages thrown at the server.

/** The peers whose material the arbitraries use: `as` is the TLS identity of the fuzzing client. */
export interface FuzzPeers {
  as: LocalPeer;
  other: LocalPeer;
  rogue: LocalPeer;
}

/** Random bytes, mostly short, sometimes up to 256 KiB ("random lengths"). */
export const randomBytes: fc.Arbitrary<Buffer> = fc
  .oneof(
    { arbitrary: fc.uint8Array({ maxLength: 64 }), weight: 6 },
    { arbitrary: fc.uint8Array({ maxLength: 4_096 }), weight: 3 },
    { arbitrary: fc.integer({ min: 4_096, max: 256 * 1024 }).map((n) => new Uint8Array(n).map((_, i) => (i * 131 + n) & 0xff)), weight: 1 },
  )
  .map((u) => Buffer.from(u));

/** A random GossipMessage in an Envelope, signed by `signer` or with a random signature. */
function envelopeOf(peers: FuzzPeers, message: fc.Arbitrary<gossip.IGossipMessage>): fc.Arbitrary<Buffer> {
  return fc.tuple(message, fc.oneof(fc.constant('signed' as const), fc.constant('none' as const), fc.uint8Array({ maxLength: 72 }))).map(([m, sig]) => {
    const payload = gossip.GossipMessage.encode(m).finish();
    const signature = sig === 'signed' ? peers.as.signer.sign(payload) : sig === 'none' ? new Uint8Array(0) : sig;
    return Buffer.from(gossip.Envelope.encode({ payload, signature }).finish());
  });
}

/** A ConnEstablish built from valid and invalid pieces, signed with `as`'s key. */
function mixedConn(peers: FuzzPeers): fc.Arbitrary<Buffer> {
  const { as, other, rogue } = peers;
  const pem = Buffer.from(as.certPem);
  const idBytes = fc.oneof(
    fc.constant(pem),
    fc.constant(Buffer.from(rogue.certPem)),
    fc.array(mutation, { minLength: 1, maxLength: 3 }).map((ms) => mutate(pem, ms)),
    fc.uint8Array({ maxLength: 600 }).map((u) => Buffer.from(u)),
    fc.constant(Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')),
  );
  const identity = fc.oneof(
    fc.constant(Buffer.from(as.identity)),
    fc.constant(Buffer.from(other.identity)),
    fc
      .tuple(fc.oneof(fc.constant(as.mspid), fc.string({ unit: 'binary', maxLength: 12 })), idBytes)
      .map(([mspid, id]) => Buffer.from(msp.SerializedIdentity.encode({ mspid, idBytes: id }).finish())),
    fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)),
  );
  const bytes32 = (valid: Uint8Array) =>
    fc.oneof(fc.constant(Buffer.from(valid)), fc.constant(Buffer.alloc(0)), fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)));
  return fc
    .record({
      pkiId: fc.oneof(bytes32(as.pkiId), fc.constant(Buffer.from(other.pkiId))),
      identity,
      tlsCertHash: fc.oneof(bytes32(as.tls.certHash), fc.constant(Buffer.from(other.tls.certHash))),
      probe: fc.boolean(),
      nonce: fc.oneof(fc.constant(0), fc.nat()),
      tag: fc.oneof(fc.constant(gossip.GossipMessage.Tag.EMPTY), fc.integer({ min: -1, max: 9 })),
    })
    .map(({ nonce, tag, ...conn }) => {
      const payload = gossip.GossipMessage.encode({ nonce, tag, conn }).finish();
      return Buffer.from(gossip.Envelope.encode({ payload, signature: as.signer.sign(payload) }).finish());
    });
}

/** What a client may send as its first message: mostly broken handshakes of every kind. */
export function handshakeMessage(peers: FuzzPeers): fc.Arbitrary<Buffer> {
  const valid = craftConnEstablish(peers.as);
  const probe = craftConnEstablish(peers.as, { probe: true });
  const foreign = craftConnEstablish(peers.other);
  return fc.oneof(
    { arbitrary: fc.constantFrom(valid, probe, foreign), weight: 1 },
    {
      arbitrary: fc
        .tuple(fc.constantFrom(valid, probe, foreign), fc.array(mutation, { minLength: 1, maxLength: 5 }))
        .map(([base, ms]) => mutate(base, ms)),
      weight: 6,
    },
    { arbitrary: mixedConn(peers), weight: 4 },
    { arbitrary: envelopeOf(peers, randomGossipMessage(2)), weight: 2 },
    // A bare GossipMessage where an Envelope belongs, and random bytes.
    { arbitrary: randomGossipMessage(2).map((m) => Buffer.from(gossip.GossipMessage.encode(m).finish())), weight: 1 },
    { arbitrary: randomBytes, weight: 2 },
  );
}

const VALID_DATA = [
  { nonce: 1, dataMsg: { payload: { seqNum: 1, data: Buffer.from('hello') } } },
  { nonce: 2, empty: {} },
  { nonce: 3, ack: { error: '' } },
  { nonce: 4, hello: { nonce: 4, msgType: gossip.PullMsgType.BLOCK_MSG } },
  { nonce: 5, aliveMsg: { membership: { endpoint: '127.0.0.1:7051', pkiId: Buffer.alloc(32, 1) }, timestamp: { incNum: 1, seqNum: 1 } } },
] satisfies gossip.IGossipMessage[];

/** What a client may send after a valid handshake: mutated and random envelopes. */
export function dataMessage(peers: FuzzPeers): fc.Arbitrary<Buffer> {
  const bases = VALID_DATA.map((m) => SignedMessage.create(m).bytes);
  const valid = envelopeOf(peers, randomGossipMessage(3));
  return fc.oneof(
    { arbitrary: fc.constantFrom(...bases), weight: 2 },
    { arbitrary: valid, weight: 5 },
    {
      arbitrary: fc
        .tuple(fc.oneof(fc.constantFrom(...bases), valid), fc.array(mutation, { minLength: 1, maxLength: 5 }))
        .map(([base, ms]) => mutate(base, ms)),
      weight: 6,
    },
    { arbitrary: randomGossipMessage(2).map((m) => Buffer.from(gossip.GossipMessage.encode(m).finish())), weight: 1 },
    { arbitrary: fc.constant(craftConnEstablish(peers.as)), weight: 1 },
    { arbitrary: randomBytes, weight: 2 },
  );
}

/** How the client leaves: half-close, cancel at once, or wait for the server (then cancel). */
export type Ending = 'half-close' | 'cancel' | 'wait';
export const ending: fc.Arbitrary<Ending> = fc.constantFrom('half-close', 'cancel', 'wait');

/** One stream of a raw grpc-js client. */
export interface StreamCase {
  kind: 'stream';
  /** 'fuzz': messages[0] is the (broken) handshake; 'valid': a valid handshake comes first. */
  handshake: 'fuzz' | 'valid';
  messages: Buffer[];
  ending: Ending;
}

/** One request of a raw HTTP/2 client: gRPC framing itself broken (prefix, length, compression). */
export interface FrameCase {
  kind: 'frames';
  path: string;
  body: Buffer;
  ending: Ending;
}

export type FuzzCase = StreamCase | FrameCase;

/** A gRPC length-prefixed message with a possibly wrong flag and length. */
const frame = (payload: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> =>
  fc
    .record({
      payload,
      flag: fc.oneof({ arbitrary: fc.constant(0), weight: 4 }, { arbitrary: fc.nat({ max: 255 }), weight: 1 }),
      lengthDelta: fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: fc.integer({ min: -8, max: 8 }), weight: 1 }, {
        arbitrary: fc.constantFrom(0x7fff_ffff, 0xffff_ffff, 100 * 1024 * 1024 + 1),
        weight: 1,
      }),
    })
    .map(({ payload, flag, lengthDelta }) => {
      const header = Buffer.alloc(5);
      header[0] = flag;
      const len = lengthDelta > 1_000 ? lengthDelta : Math.max(0, payload.length + lengthDelta);
      header.writeUInt32BE(len >>> 0, 1);
      return Buffer.concat([header, payload]);
    });

export function fuzzCase(peers: FuzzPeers): fc.Arbitrary<FuzzCase> {
  const stream: fc.Arbitrary<StreamCase> = fc.oneof(
    fc.record({
      kind: fc.constant('stream' as const),
      handshake: fc.constant('fuzz' as const),
      messages: fc.tuple(handshakeMessage(peers), fc.array(dataMessage(peers), { maxLength: 3 })).map(([h, rest]) => [h, ...rest]),
      ending,
    }),
    fc.record({
      kind: fc.constant('stream' as const),
      handshake: fc.constant('fuzz' as const),
      messages: fc.constant([] as Buffer[]),
      ending,
    }),
    fc.record({
      kind: fc.constant('stream' as const),
      handshake: fc.constant('valid' as const),
      messages: fc.array(dataMessage(peers), { minLength: 1, maxLength: 6 }),
      ending,
    }),
  );
  const frames: fc.Arbitrary<FrameCase> = fc.record({
    kind: fc.constant('frames' as const),
    path: fc.oneof({ arbitrary: fc.constant('/gossip.Gossip/GossipStream'), weight: 4 }, { arbitrary: fc.constant('/gossip.Gossip/Ping'), weight: 1 }),
    body: fc
      .tuple(
        fc.boolean(),
        fc.array(frame(fc.oneof(handshakeMessage(peers), dataMessage(peers))), { maxLength: 3 }),
        fc.oneof(fc.constant(Buffer.alloc(0)), fc.uint8Array({ maxLength: 8 }).map((u) => Buffer.from(u))),
      )
      .map(([validFirst, framed, trailing]) => {
        const first = validFirst ? [Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), craftConnEstablish(peers.as)])] : [];
        if (validFirst) first[0]!.writeUInt32BE(first[0]!.length - 5, 1);
        return Buffer.concat([...first, ...framed, trailing]);
      }),
    ending,
  });
  return fc.oneof({ arbitrary: stream, weight: 4 }, { arbitrary: frames, weight: 1 });
}

/** A short description of a case, for reports. */
export function describeCase(c: FuzzCase): string {
  if (c.kind === 'frames') return `frames ${c.path} ${c.body.length}B ${c.ending} ${c.body.subarray(0, 24).toString('hex')}`;
  return `stream handshake=${c.handshake} ${c.ending} [${c.messages.map((m) => `${m.length}B:${m.subarray(0, 12).toString('hex')}`).join(', ')}]`;
}
