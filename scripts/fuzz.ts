// A long fuzzing campaign against a live rxgossip server, outside the test suite: the same
// properties as spec/fuzz/server.fuzz.spec.ts (random and mutated handshakes and envelopes,
// valid protobuf with wrong fields, broken gRPC framing, from a raw-client process), run in
// chunks with a progress line per chunk, then a summary. Exit code 0 when no run failed.
//
//   npm run fuzz -- [--runs 1000] [--seed N] [--chunk 100] [--batch 4] [--wait-ms 250] [--shrink]
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { describeCase, fuzzCase, type FuzzCase } from '../spec/fuzz/arbitraries.js';
import { FuzzTarget } from '../spec/fuzz/target.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '1000' },
    seed: { type: 'string' },
    chunk: { type: 'string', default: '100' },
    batch: { type: 'string', default: '4' },
    'wait-ms': { type: 'string', default: '250' },
    shrink: { type: 'boolean', default: false },
  },
});
const RUNS = Number(args.runs);
const CHUNK = Math.max(1, Number(args.chunk));
const BATCH = Math.max(1, Number(args.batch));
const SEED = args.seed !== undefined ? Number(args.seed) : Date.now() ^ (Math.random() * 2 ** 31);

const target = await FuzzTarget.start({ waitMs: Number(args['wait-ms']) });
const started = Date.now();
let runsDone = 0;
let cases = 0;
const failures: string[] = [];

const property = fc.asyncProperty(fc.array(fuzzCase(target.peers), { minLength: 1, maxLength: BATCH }), async (batch: FuzzCase[]) => {
  await Promise.all(batch.map((c) => target.run(c)));
  target.checkUnexpected();
  await target.goodExchange(3_000);
  target.checkUnexpected();
});

console.log(`fuzz: ${RUNS} runs (batches of 1..${BATCH} cases), seed ${SEED}, server ${target.server.endpoint}`);
let exitCode = 0;
try {
  for (let chunk = 0; runsDone < RUNS; chunk++) {
    const numRuns = Math.min(CHUNK, RUNS - runsDone);
    const seed = SEED + chunk;
    const before = target.outcomes.size === 0 ? 0 : [...target.outcomes.values()].reduce((a, b) => a + b, 0);
    const details = await fc.check(property, { numRuns, seed, endOnFailure: !args.shrink });
    runsDone += details.numRuns;
    cases += [...target.outcomes.values()].reduce((a, b) => a + b, 0) - before;
    if (details.failed) {
      const example = details.counterexample?.[0] as FuzzCase[] | undefined;
      const text =
        `seed ${seed} path ${details.counterexamplePath ?? '?'}: ${String(details.errorInstance)}\n    ` +
        (example ?? []).map(describeCase).join('\n    ');
      failures.push(text);
      console.log(`FAILURE ${text}`);
      // The campaign goes on only while the server still serves.
      try {
        target.unexpected.seen.length = 0;
        await target.goodExchange(5_000);
      } catch {
        console.log('the server no longer serves a good peer: campaign stopped');
        break;
      }
    }
    const s = target.server.stats();
    console.log(
      `runs ${runsDone}/${RUNS} cases ${cases} failures ${failures.length} ${Math.round((Date.now() - started) / 1000)}s ` +
        `rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)}MB | server: received ${s.received} sent ${s.sent} ` +
        `handshakeFailures ${s.handshakeFailures} connections ${s.connections} dropped ${JSON.stringify(s.dropped)} | ` +
        `outcomes ${JSON.stringify(Object.fromEntries(target.outcomes))}`,
    );
  }
} finally {
  await target.stop();
}
const stats = target.server.stats();
console.log(
  `${failures.length === 0 ? 'PASS' : 'FAIL'} fuzz: ${runsDone} runs, ${cases} cases, ${failures.length} failures, ` +
    `${Math.round((Date.now() - started) / 1000)} s; server stats ${JSON.stringify(stats)}`,
);
if (failures.length > 0) exitCode = 1;
process.exitCode = exitCode;
