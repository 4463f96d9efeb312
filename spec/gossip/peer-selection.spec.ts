import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { of } from 'rxjs';
import { peersOf, samePkiId, selectPeers } from '../../lib/gossip/peer-selection.js';

const peer = (i: number) => ({ endpoint: `127.0.0.1:${7000 + i}`, pkiId: Buffer.from([i]) });

describe('selectPeers', () => {
  it('picks min(n, eligible) distinct eligible peers', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 12 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (size, n, excluded, r) => {
        const peers = Array.from({ length: size }, (_, i) => peer(i));
        const picked = selectPeers(peers, n, (p) => p.pkiId[0]! < excluded, () => r);
        const eligible = peers.filter((p) => p.pkiId[0]! >= excluded);
        assert.equal(picked.length, Math.min(n, eligible.length));
        assert.equal(new Set(picked).size, picked.length);
        for (const p of picked) assert.ok(eligible.includes(p));
      }),
    );
  });

  it('is random: every peer gets picked', () => {
    const peers = Array.from({ length: 6 }, (_, i) => peer(i));
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) for (const p of selectPeers(peers, 2)) seen.add(p.pkiId[0]!);
    assert.equal(seen.size, 6);
  });

  it('is uniform among the eligible peers, however many are excluded', () => {
    const peers = Array.from({ length: 10 }, (_, i) => peer(i));
    const counts = new Map<number, number>();
    for (let i = 0; i < 5_000; i++) {
      for (const p of selectPeers(peers, 2, (q) => q.pkiId[0]! % 2 === 0)) counts.set(p.pkiId[0]!, (counts.get(p.pkiId[0]!) ?? 0) + 1);
    }
    assert.deepEqual([...counts.keys()].sort((a, b) => a - b), [1, 3, 5, 7, 9]);
    // 10,000 picks over 5 peers: 2,000 each; ±15 % is more than 10 standard deviations.
    for (const [id, count] of counts) assert.ok(count > 1_700 && count < 2_300, `peer ${id} picked ${count} times`);
  });

  it('tests only the peers it draws', () => {
    const peers = Array.from({ length: 1_000 }, (_, i) => peer(i % 250));
    let tested = 0;
    const picked = selectPeers(peers, 3, () => {
      tested++;
      return false;
    });
    assert.equal(picked.length, 3);
    assert.equal(tested, 3);
  });

  it('does not modify its input', () => {
    const peers = Array.from({ length: 5 }, (_, i) => peer(i));
    const copy = [...peers];
    selectPeers(peers, 3);
    assert.deepEqual(peers, copy);
  });
});

describe('peersOf / samePkiId', () => {
  it('accepts an Observable or something with alive$', () => {
    const list$ = of([peer(1)]);
    assert.equal(peersOf(list$), list$);
    assert.equal(peersOf({ alive$: list$ }), list$);
  });

  it('compares PKI-IDs, a missing or empty one equal to none', () => {
    assert.equal(samePkiId(Buffer.from([1]), new Uint8Array([1])), true);
    assert.equal(samePkiId(Buffer.from([1]), Buffer.from([2])), false);
    assert.equal(samePkiId(undefined, Buffer.from([2])), false);
    assert.equal(samePkiId(Buffer.alloc(0), Buffer.alloc(0)), false);
  });
});
