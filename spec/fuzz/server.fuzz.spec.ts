// Fuzzing a live rxgossip server with fast-check: mutated and random envelopes and handshake
// messages, valid protobuf with wrong fields, and broken gRPC framing, from raw clients, as the
// first message and after a valid handshake. The server must never crash or leave an unhandled
// rejection / uncaught exception, and must keep serving a good peer after every batch.
// A long campaign: npm run fuzz -- --runs N (scripts/fuzz.ts).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { eventually } from '../helpers/peers.js';
import { describeCase, fuzzCase, mutate, type Mutation } from './arbitraries.js';
import { FuzzTarget } from './target.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 100);

describe('fuzzing a live server', () => {
  let target: FuzzTarget;
  before(async () => {
    target = await FuzzTarget.start();
  });
  after(async () => {
    await target?.stop();
  });

  it(`survives ${RUNS} batches of random and mutated streams, and keeps serving a good peer`, async () => {
    await target.goodExchange();
    const started = Date.now();
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fuzzCase(target.peers), { minLength: 1, maxLength: 4 }), async (batch) => {
        cases += batch.length;
        await Promise.all(batch.map((c) => target.run(c)));
        target.checkUnexpected();
        await target.goodExchange(3_000);
        target.checkUnexpected();
      }),
      { numRuns: RUNS },
    );
    const stats = target.server.stats();
    console.log(
      `# fuzz: ${RUNS} batches, ${cases} cases in ${Date.now() - started} ms; outcomes ${JSON.stringify(Object.fromEntries(target.outcomes))}; ` +
        `server stats ${JSON.stringify(stats)}`,
    );
    // The campaign reached both phases: handshakes refused, and streams opened then torn down.
    assert.ok(stats.handshakeFailures > 0, 'some handshakes were refused');
    assert.ok(stats.received > 0, 'some fuzzed messages were delivered after a valid handshake');
    // Nothing the fuzzing client opened stays registered once its streams are gone. (Each closes
    // within the FAST timeouts, 2 s at most; the margin is for a CI machine busy with other specs.)
    const describeLeft = (): string =>
      JSON.stringify(
        target.server
          .connections()
          .filter((c) => c.pkiId.equals(target.peers.as.pkiId))
          .map(({ direction, state, queued, active }) => ({ direction, state, queued, active })),
      ) + `, their HTTP/2 streams open: ${JSON.stringify(target.fuzzStreamsOpen())}`;
    const closed = await eventually(() => target.fuzzConnections() === 0, 15_000, 'the fuzzing connections to close').then(
      () => true,
      () => false,
    );
    if (!closed) {
      // A connection whose HTTP/2 stream ended is ours to release: still registered, it is a leak.
      // One whose stream node:http2 still holds open was never ended by the client (seen, rarely,
      // under a full test run's load: no END_STREAM and no RST_STREAM reached the server for it).
      // Then the client goes, as a remote process dying, and everything must be released.
      const open = target.fuzzStreamsOpen();
      assert.ok(open.every((o) => o === true), `connections left whose streams ended: ${describeLeft()}`);
      console.log(`# fuzz: the client never ended ${open.length} stream(s); ending the client process`);
      await target.killAttacker();
      await eventually(() => target.fuzzConnections() === 0, 15_000, 'the fuzzing connections to close once the client is gone').catch(
        (err: Error) => {
          throw new Error(`${err.message}; still registered: ${describeLeft()}`);
        },
      );
    }
    target.checkUnexpected();
  });

  it('the guard can fail: its listeners are installed and a recorded error fails the check', () => {
    // (node:test also fails a test on an unhandled rejection; ours covers the whole campaign.)
    assert.ok(target.unexpected.installed);
    target.unexpected.record('unhandledRejection', new Error('deliberate'));
    assert.throws(() => target.checkUnexpected(), /deliberate/);
    target.unexpected.seen.length = 0;
  });
});

describe('mutate', () => {
  it('applies every kind of mutation within bounds', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.array(
          fc.record({ op: fc.constantFrom('flip', 'truncate', 'delete'), at: fc.nat(), bit: fc.nat({ max: 7 }), length: fc.integer({ min: 1, max: 4 }) }),
          { maxLength: 4 },
        ),
        (base, ms) => {
          const out = mutate(base, ms as Mutation[]);
          assert.ok(out.length <= base.length);
        },
      ),
    );
    assert.deepEqual([...mutate(Buffer.from([1, 2, 3]), [{ op: 'insert', at: 3, bytes: Uint8Array.of(9) }])], [1, 2, 3, 9]);
    assert.deepEqual([...mutate(Buffer.from([1, 2, 3]), [{ op: 'duplicate', at: 1, length: 1 }])], [1, 2, 2, 3]);
    assert.deepEqual([...mutate(Buffer.from([1, 2, 3]), [{ op: 'flip', at: 4, bit: 0 }])], [1, 3, 3]);
  });

  it('describes cases', () => {
    assert.match(describeCase({ kind: 'stream', handshake: 'valid', messages: [Buffer.from([1])], ending: 'wait' }), /handshake=valid/);
  });
});
