// Merging the views of a cluster's peers into one picture (pure).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mergeSnapshots, type NodeState, type PeerReport, type TopologySnapshot } from '../../lib/index.js';

/** A's view: itself with its rates, the others in the given states, edges to `connected`. */
function view(self: string, others: Record<string, NodeState | [NodeState, number]>, connected: string[] = []): TopologySnapshot {
  return {
    at: 100,
    title: `peer ${self}`,
    nodes: [
      { id: self, label: `${self}:7051`, endpoint: `${self}:7051`, state: 'alive', self: true, sentPerSec: 10, receivedPerSec: 9, queued: 1 },
      ...Object.entries(others).map(([id, s]) => ({
        id,
        label: `${id}:7051`,
        endpoint: `${id}:7051`,
        state: Array.isArray(s) ? s[0] : s,
        ...(Array.isArray(s) ? { lastSeen: s[1] } : {}),
      })),
    ],
    edges: connected.map((to) => ({ from: self, to, queued: 0 })),
  };
}

const merge = (reports: PeerReport[]) => mergeSnapshots(reports, { title: 'cluster', at: 200, aliveExpirationMs: 2_500 });
const state = (s: TopologySnapshot, id: string) => s.nodes.find((n) => n.id === id);

describe('mergeSnapshots', () => {
  it('all agree: every peer alive, named, with its own rates and the latest last-seen of the others', () => {
    const s = merge([
      { name: 'peer0', running: true, snapshot: view('a', { b: ['alive', 50], c: ['alive', 60] }, ['b', 'c']) },
      { name: 'peer1', running: true, snapshot: view('b', { a: ['alive', 70], c: ['alive', 40] }, ['a']) },
      { name: 'peer2', running: true, snapshot: view('c', { a: ['alive', 20], b: ['alive', 90] }) },
    ]);
    assert.equal(s.title, 'cluster');
    assert.equal(s.aliveExpirationMs, 2_500);
    assert.deepEqual(
      s.nodes.map((n) => [n.id, n.label, n.state, n.running, n.lastSeen, n.sentPerSec, n.queued]),
      [
        ['a', 'peer0', 'alive', true, 70, 10, 1],
        ['b', 'peer1', 'alive', true, 90, 10, 1],
        ['c', 'peer2', 'alive', true, 60, 10, 1],
      ],
    );
    assert.equal(state(s, 'a')!.detail, 'seen alive by 2, dead by 0, of 2 other running peer(s)');
    assert.deepEqual(
      s.edges.map((e) => `${e.from}>${e.to}`),
      ['a>b', 'a>c', 'b>a'],
    );
  });

  it('a killed peer: partial while the news spreads, dead once every running peer has it dead', () => {
    const killed = { name: 'peer2', running: false, snapshot: view('c', { a: 'alive', b: 'alive' }, ['a', 'b']) };
    const spreading = merge([
      { name: 'peer0', running: true, snapshot: view('a', { b: 'alive', c: 'dead' }) },
      { name: 'peer1', running: true, snapshot: view('b', { a: 'alive', c: 'alive' }) },
      killed,
    ]);
    assert.equal(state(spreading, 'c')!.state, 'partial');
    assert.equal(state(spreading, 'c')!.running, false);
    assert.equal(state(spreading, 'c')!.sentPerSec, undefined, 'no rates from a stopped process');
    assert.ok(!spreading.edges.some((e) => e.from === 'c'), 'a stopped peer draws no edges');
    const known = merge([
      { name: 'peer0', running: true, snapshot: view('a', { b: 'alive', c: 'dead' }) },
      { name: 'peer1', running: true, snapshot: view('b', { a: 'alive', c: 'dead' }) },
      killed,
    ]);
    assert.equal(state(known, 'c')!.state, 'dead');
    // Its own out-of-date view counts for nothing: a and b stay alive.
    assert.equal(state(known, 'a')!.state, 'alive');
  });

  it('a peer that no running peer knows yet is unknown; a member known only from others is drawn by its endpoint', () => {
    const s = merge([
      { name: 'peer0', running: true, snapshot: view('a', { x: 'alive' }) },
      { name: 'peer1', running: true, snapshot: view('b', {}) },
    ]);
    assert.equal(state(s, 'b')!.state, 'unknown');
    assert.deepEqual([state(s, 'x')!.label, state(s, 'x')!.state, state(s, 'x')!.running], ['x:7051', 'alive', undefined]);
  });

  it('a peer not started yet (no snapshot) is left out until it reports', () => {
    const s = merge([{ name: 'peer0', running: true, snapshot: view('a', {}) }, { name: 'peer1', running: false }]);
    assert.deepEqual(s.nodes.map((n) => n.id), ['a']);
  });
});
