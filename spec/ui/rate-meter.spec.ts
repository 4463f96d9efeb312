// Rates from counters between readings (pure).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RateMeter } from '../../lib/index.js';

describe('RateMeter', () => {
  it('has no rate on the first reading, then counts per second between readings', () => {
    const m = new RateMeter();
    assert.equal(m.rate('k', 10, 1_000), undefined);
    assert.equal(m.rate('k', 30, 2_000), 20);
    assert.equal(m.rate('k', 35, 2_500), 10);
  });

  it('repeats the last rate for a reading too soon after the previous one', () => {
    const m = new RateMeter(250);
    m.rate('k', 0, 0);
    assert.equal(m.rate('k', 100, 1_000), 100);
    assert.equal(m.rate('k', 100, 1_010), 100, 'a second watcher 10 ms later sees the same rate, not 0');
    assert.equal(m.rate('k', 150, 1_500), 100, 'measured from the reading that counted');
  });

  it('starts over when a counter goes backwards (a restarted process)', () => {
    const m = new RateMeter();
    m.rate('k', 500, 0);
    assert.equal(m.rate('k', 3, 1_000), undefined);
    assert.equal(m.rate('k', 13, 2_000), 10);
  });

  it('forgets keys it is told to drop', () => {
    const m = new RateMeter();
    m.rate('a', 1, 0);
    m.rate('b', 1, 0);
    m.retain(new Set(['a']));
    assert.equal(m.rate('a', 2, 1_000), 1);
    assert.equal(m.rate('b', 2, 1_000), undefined);
  });
});
