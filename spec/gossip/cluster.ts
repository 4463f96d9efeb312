// Real peers over loopback TLS for the multi-peer specs: the fixture peer directories (one MSP,
// mutually trusted), each with its own comm on 127.0.0.1.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createComm, type Comm } from '../../lib/comm/comm.js';
import type { CommOptions } from '../../lib/comm/options.js';
import { loadPeerDir, type LocalPeer } from '../../lib/identity/peer-dir.js';

const FIXTURES = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures', 'fabric-vectors');

/** Fast failure detection for tests: a dead peer's dial fails within 300 ms. */
export const FAST: Partial<CommOptions> = { dialTimeoutMs: 300, pingTimeoutMs: 300, closeTimeoutMs: 500 };

export function fixturePeer(i: number): Promise<LocalPeer> {
  return loadPeerDir(join(FIXTURES, `peer${i}`));
}

/** A peer of the same MSP ID whose certificates chain to another CA: not trusted. */
export function roguePeer(): Promise<LocalPeer> {
  return loadPeerDir(join(FIXTURES, 'rogue', 'peer0'));
}

/**
 * Dials that survive a loaded machine (a full `npm test` on 2 cores): FAST's 300 ms dial and ping
 * fail first dials there, while a peer that is down still fails at once (connection refused).
 */
export const PATIENT_DIALS: Partial<CommOptions> = { dialTimeoutMs: 5_000, pingTimeoutMs: 5_000 };

export async function startComm(self: LocalPeer, listen = '127.0.0.1:0', options: Partial<CommOptions> = {}): Promise<Comm> {
  return createComm({ self, listen, ...FAST, ...options });
}

/** Resolves when `condition` holds (polled every 20 ms); rejects after `timeoutMs` with `what`. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Active handles and requests by type (the test runner's own pipes excluded). */
export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

/**
 * Waits (up to 2 s, for sockets to finish closing) until no resource type is above its count
 * in `baseline`; then asserts it, naming what is left over.
 */
export async function expectNoLeaks(baseline: Map<string, number>): Promise<void> {
  const excess = (): string[] => {
    const out: string[] = [];
    for (const [type, n] of activeResources()) {
      // The Timeout of the sleep() we are polling with is ours.
      const allowed = (baseline.get(type) ?? 0) + (type === 'Timeout' ? 1 : 0);
      if (n > allowed) out.push(`${type} ×${n - allowed}`);
    }
    return out;
  };
  const deadline = Date.now() + 2_000;
  while (excess().length > 0 && Date.now() < deadline) await sleep(25);
  const left = excess();
  if (left.length > 0) throw new Error(`resources left after stop(): ${left.join(', ')}`);
}
