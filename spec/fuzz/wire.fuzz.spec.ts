// Fuzzing on the wire, short (npm run fuzz -- --wire --cases N is the long one): many cases per
// authenticated stream against a live server running membership, push and pull; the server must
// answer a probe after every batch, keep serving a good peer, and raise no unhandled error.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runWireCampaign } from './wire-campaign.js';

const CASES = Number(process.env.FUZZ_WIRE_CASES ?? 3_000);

describe('wire fuzzing', () => {
  it(`${CASES} cases over reused authenticated streams`, async () => {
    const result = await runWireCampaign({ cases: CASES, seed: Number(process.env.FUZZ_SEED ?? 42) });
    console.log(`# ${result.summary}`);
    assert.deepEqual(result.failures, []);
    const t = result.tally!;
    assert.ok(t.sent >= CASES);
    assert.equal(t.probesAnswered, t.batches, 'every batch was followed by an answered probe');
    // Streams are reused: far fewer streams than cases, and each undecodable case ended one.
    assert.ok(t.streams < t.sent / 5, `${t.streams} streams for ${t.sent} cases`);
    assert.ok(t.streamsEnded >= t.breaking);
    // What decoded reached the server (the probes and good-peer messages too).
    assert.ok(result.serverStats.received >= t.sent - t.breaking);
    assert.ok(result.goodExchanges >= 1);
  });
});
