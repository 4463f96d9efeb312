// The wire campaign's client process (forked by spec/fuzz/wire-campaign.ts): a raw grpc-js client
// with fixture peer1's TLS pair and identity. It handshakes once per stream, then writes many
// cases on it: batches of fuzzed envelopes, each batch followed by a valid probe the server must
// answer on the same stream. A case that does not decode as a GossipMessage makes the server
// tear the stream down (as Fabric does), so every other batch ends with one such case (the
// others generated are counted as skipped, not sent); the probe then goes on a fresh stream. Reports progress and a final tally to the parent over IPC.
//   argv: endpoint seed cases batch
import fc from 'fast-check';
import * as grpc from '@grpc/grpc-js';
import { SignedMessage } from '../../lib/index.js';
import type { ClientGossipStream, GossipClient } from '../../lib/wire/service.js';
import { craftConnEstablish } from '../helpers/craft.js';
import { rawClient } from '../helpers/peers.js';
import { randomBytes, randomGossipMessage } from './arbitraries.js';
import { fuzzMaterial, mutatedFrom, type FuzzMaterial } from './fuzz-material.js';

/** What the attacker tells the parent. */
export interface WireTally {
  /** Cases written on an authenticated stream. */
  sent: number;
  /** Of which did not decode locally (each ends its stream). */
  breaking: number;
  /** Cases generated but not sent (a second undecodable case in a batch). */
  skipped: number;
  batches: number;
  streams: number;
  /** Streams the server ended (after a breaking case, or otherwise). */
  streamsEnded: number;
  probesAnswered: number;
  maxProbeMs: number;
  elapsedMs: number;
}

export type WireReport = { type: 'progress'; tally: WireTally } | { type: 'done'; tally: WireTally } | { type: 'error'; error: string; tally: WireTally };

const PROBE_TIMEOUT_MS = 10_000;
/** One batch in this many ends with an undecodable case (which ends its stream). */
const BREAK_EVERY = 2;

function caseArbitrary(m: FuzzMaterial): fc.Arbitrary<Buffer> {
  const payload = fc.nat({ max: m.payloads.length - 1 }).map((i) => m.payloads[i]!);
  const signature = fc.oneof(
    fc.constant(new Uint8Array(0)),
    fc.nat({ max: m.signatures.length - 1 }).map((i) => m.signatures[i]![1]),
    fc.uint8Array({ maxLength: 72 }),
  );
  return fc.oneof(
    // Valid protobuf, wrong fields, every content type: the stream stays up.
    { arbitrary: fc.tuple(payload, signature).map(([p, s]) => SignedMessage.fromEnvelope({ payload: p, signature: s }).bytes), weight: 5 },
    { arbitrary: randomGossipMessage(2).map((msg) => SignedMessage.create(msg).bytes), weight: 1 },
    // Byte mutations of valid envelopes, handshakes and alive messages; random bytes.
    { arbitrary: mutatedFrom([...m.envelopes, ...m.handshakes, ...m.alives]), weight: 3 },
    { arbitrary: randomBytes, weight: 1 },
  );
}

function decodes(bytes: Buffer): boolean {
  try {
    SignedMessage.fromBytes(bytes).decode();
    return true;
  } catch {
    return false;
  }
}

class Session {
  private call: ClientGossipStream | undefined;
  private ended = true;
  private waiting: { nonce: number; resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(
    private readonly client: GossipClient,
    private readonly m: FuzzMaterial,
    private readonly tally: WireTally,
  ) {}

  /** A stream on which our handshake was answered by the server's. */
  async stream(): Promise<ClientGossipStream> {
    if (this.call && !this.ended) return this.call;
    const call = this.client.GossipStream();
    this.call = call;
    this.ended = false;
    this.tally.streams++;
    let handshaken: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (handshaken = resolve));
    let first = true;
    const end = (why: string): void => {
      if (this.call !== call || this.ended) return;
      this.ended = true;
      this.tally.streamsEnded++;
      this.waiting?.reject(new Error(`stream ended: ${why}`));
    };
    call.on('data', (bytes: Buffer) => {
      if (first) {
        first = false;
        handshaken();
        return;
      }
      if (!this.waiting) return;
      try {
        const msg = SignedMessage.fromBytes(bytes).message;
        if (msg.content === 'empty' && Number(msg.nonce) === this.waiting.nonce) this.waiting.resolve();
      } catch {
        // Not ours to judge: the server may send what it likes.
      }
    });
    call.on('error', (err: grpc.ServiceError) => end(err.message));
    call.on('end', () => end('end'));
    call.write(craftConnEstablish(this.m.as));
    await Promise.race([
      ready,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no handshake from the server within 5 s')), 5_000).unref()),
    ]);
    if (this.ended) throw new Error('the server ended the stream during the handshake');
    return call;
  }

  /** Writes the cases, then a probe; resolves when the server answered the probe. */
  async batch(cases: Buffer[], nonce: number): Promise<void> {
    const call = await this.stream();
    for (const c of cases) call.write(c);
    this.tally.sent += cases.length;
    const started = performance.now();
    try {
      await this.probe(call, nonce);
    } catch {
      // The stream went down (a breaking case): the probe goes on a fresh one.
      await this.probe(await this.stream(), nonce);
    }
    this.tally.probesAnswered++;
    this.tally.maxProbeMs = Math.max(this.tally.maxProbeMs, performance.now() - started);
  }

  private probe(call: ClientGossipStream, nonce: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`probe ${nonce} not answered within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
      this.waiting = {
        nonce,
        resolve: () => {
          clearTimeout(timer);
          this.waiting = undefined;
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          this.waiting = undefined;
          reject(err);
        },
      };
      if (this.ended) return this.waiting.reject(new Error('stream already ended'));
      call.write(SignedMessage.create({ nonce, dataMsg: { payload: { seqNum: nonce, data: Buffer.from('probe') } } }).bytes);
    });
  }

  close(): void {
    this.call?.cancel();
  }
}

async function main(): Promise<void> {
  const [endpoint, seedText, casesText, batchText] = process.argv.slice(2);
  const seed = Number(seedText);
  const total = Number(casesText);
  const batchSize = Math.max(1, Number(batchText));
  const m = await fuzzMaterial();
  const client = await rawClient(endpoint!, 'peer1');
  const tally: WireTally = { sent: 0, breaking: 0, skipped: 0, batches: 0, streams: 0, streamsEnded: 0, probesAnswered: 0, maxProbeMs: 0, elapsedMs: 0 };
  const session = new Session(client, m, tally);
  const arbitrary = caseArbitrary(m);
  const started = performance.now();
  let lastReport = started;
  const send = (r: WireReport): void => {
    tally.elapsedMs = performance.now() - started;
    process.send?.(r);
  };
  try {
    for (let b = 0; tally.sent < total; b++) {
      const generated = fc.sample(arbitrary, { numRuns: Math.min(batchSize, total - tally.sent), seed: seed + b });
      const safe = generated.filter(decodes);
      const breaking = generated.filter((g) => !decodes(g));
      // Each undecodable case costs a new stream (and handshake): one every BREAK_EVERY batches.
      const breakHere = b % BREAK_EVERY === 0 && breaking.length > 0;
      const cases = breakHere ? [...safe, breaking[0]!] : safe;
      tally.breaking += breakHere ? 1 : 0;
      tally.skipped += breaking.length - (breakHere ? 1 : 0);
      await session.batch(cases, b + 1);
      tally.batches++;
      if (performance.now() - lastReport > 2_000) {
        lastReport = performance.now();
        send({ type: 'progress', tally });
      }
    }
    send({ type: 'done', tally });
  } catch (err: unknown) {
    send({ type: 'error', error: err instanceof Error ? err.message : String(err), tally });
  } finally {
    session.close();
    client.close();
  }
}

process.on('disconnect', () => process.exit(0));
await main();
process.disconnect?.();
