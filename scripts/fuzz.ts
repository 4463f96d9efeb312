// Fuzzing campaigns outside the test suite, at three depths. Exit code 0 when no case failed.
//
// --in-process: every decoder, checker and pipeline that network bytes reach, fed directly by
//   fast-check (spec/fuzz/in-process-campaign.ts): a million cases in minutes.
//     npm run fuzz -- --in-process [--cases 1000000] [--seed N] [--chunk 20000] [--target name,...] [--shrink]
// --wire: many cases per authenticated stream against a live server (spec/fuzz/wire-campaign.ts).
//     npm run fuzz -- --wire [--cases 100000] [--seed N] [--batch 50]
// default: the properties of spec/fuzz/server.fuzz.spec.ts (random and mutated handshakes and
//   envelopes, valid protobuf with wrong fields, broken gRPC framing, from a raw-client process),
//   each case on a stream of its own, run in chunks with a progress line per chunk, then a summary.
//     npm run fuzz -- [--runs 1000] [--seed N] [--chunk 100] [--batch 4] [--wait-ms 250] [--shrink]
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { runInProcessCampaign, tallyTable } from '../spec/fuzz/in-process-campaign.js';
import { runWireCampaign } from '../spec/fuzz/wire-campaign.js';
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
    'in-process': { type: 'boolean', default: false },
    wire: { type: 'boolean', default: false },
    cases: { type: 'string' },
    target: { type: 'string' },
  },
});
const RUNS = Number(args.runs);
const CHUNK = Math.max(1, Number(args.chunk));
const BATCH = Math.max(1, Number(args.batch));
const SEED = args.seed !== undefined ? Number(args.seed) : Date.now() ^ (Math.random() * 2 ** 31);

if (args['in-process']) {
  const cases = Number(args.cases ?? 1_000_000);
  console.log(`fuzz in-process: ${cases} cases, seed ${SEED}`);
  const result = await runInProcessCampaign({
    cases,
    seed: SEED,
    ...(args.chunk !== '100' ? { chunk: Number(args.chunk) } : {}),
    ...(args.target ? { targets: args.target.split(',') } : {}),
    shrink: args.shrink,
    log: (line) => console.log(line),
  });
  console.log(`\n${tallyTable(result)}\n`);
  for (const f of result.failures) console.log(`FAILURE ${f}`);
  console.log(
    `${result.failures.length === 0 ? 'PASS' : 'FAIL'} fuzz in-process: ${result.cases} cases in ${(result.ms / 1000).toFixed(1)} s ` +
      `(${Math.round(result.cases / (result.ms / 1000))} cases/s), seed ${SEED}, ${result.failures.length} failures`,
  );
  process.exit(result.failures.length === 0 ? 0 : 1);
}
if (args.wire) {
  const result = await runWireCampaign({
    cases: Number(args.cases ?? 100_000),
    seed: SEED,
    ...(args.batch !== '4' ? { batch: Number(args.batch) } : {}),
    log: (line) => console.log(line),
  });
  console.log(result.summary);
  process.exit(result.failures.length === 0 ? 0 : 1);
}

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
