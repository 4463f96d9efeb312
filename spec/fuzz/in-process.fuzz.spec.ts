// The in-process fuzz campaign, short (npm run fuzz -- --in-process --cases 1000000 is the long
// one): every decoder, checker and pipeline that network bytes reach, fed by fast-check.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError } from '../../lib/index.js';
import { newTally, runCases, runInProcessCampaign, tallyTable } from './in-process-campaign.js';
import type { InProcessTarget } from './in-process-target.js';

const CASES = Number(process.env.FUZZ_CASES ?? 20_000);

describe('in-process fuzzing', () => {
  it(`${CASES} cases: no crash, no unhandled error, every refusal typed`, async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 42);
    const result = await runInProcessCampaign({ cases: CASES, seed, chunk: 5_000 });
    console.log(`# in-process fuzz, seed ${seed}: ${result.cases} cases in ${(result.ms / 1000).toFixed(1)} s\n${tallyTable(result)}`);
    assert.deepEqual(result.failures, [], `seed ${seed}`);
    assert.equal(result.cases, CASES);
    for (const [name, t] of Object.entries(result.tallies)) {
      assert.ok(t.cases > 0, `${name} got cases`);
      // Each target saw inputs good enough to pass and bad enough to be refused.
      assert.ok(t.accepted > 0, `${name} accepted some inputs`);
      assert.ok(Object.values(t.refused).reduce((a, b) => a + b, 0) > 0, `${name} refused some inputs`);
    }
  });

  it('membership-pull reaches every step: relays, unknown identities, both sides of identity pull', async () => {
    const result = await runInProcessCampaign({ cases: 4_000, seed: 7, chunk: 1_000, targets: ['membership-pull'] });
    assert.deepEqual(result.failures, []);
    const c = result.counters['membership-pull']!;
    for (const key of ['alive checked', 'alive invalid', 'unknown identity', 'relayed', 'pull rounds', 'identities pulled', 'hellos answered', 'requests answered']) {
      assert.ok((c[key] ?? 0) > 0, `${key}: ${JSON.stringify(c)}`);
    }
  });

  it('fails a case on an untyped error, and counts typed ones', () => {
    const target: InProcessTarget<number> = {
      name: 'sample',
      kind: 'decoder',
      weight: 1,
      input: fc.nat({ max: 9 }),
      run(n) {
        if (n === 7) throw new TypeError('not typed');
        if (n % 2 === 1) throw new DecodeError('typed');
      },
    };
    const tally = newTally();
    const failure = runCases(target, 200, 1, tally, false);
    assert.match(failure ?? '', /sample seed 1 .*untyped error: TypeError: not typed/);
    assert.ok((tally.refused.DecodeError ?? 0) > 0);
  });

  it('fails a case when a pipeline invariant breaks', () => {
    const target: InProcessTarget<number> = {
      name: 'invariant',
      kind: 'pipeline',
      weight: 1,
      input: fc.nat(),
      run: () => undefined,
      check: () => {
        throw new Error('broken invariant');
      },
    };
    assert.match(runCases(target, 10, 1, newTally(), false) ?? '', /broken invariant/);
  });
});
