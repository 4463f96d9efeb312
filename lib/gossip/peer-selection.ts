import { isObservable, type Observable } from 'rxjs';
import type { RemotePeer } from '../comm/connection-info.js';

/**
 * Where a pipeline takes the peers it may gossip to: an Observable of the current list (its
 * latest value is used; until it emits, there is nobody to send to), or anything with an
 * `alive$` such Observable, e.g. a Membership. A static list is `of([...peers])`.
 */
export type PeerSource = Observable<readonly RemotePeer[]> | { readonly alive$: Observable<readonly RemotePeer[]> };

/** The Observable of peer lists behind a PeerSource. */
export function peersOf(source: PeerSource): Observable<readonly RemotePeer[]> {
  return isObservable(source) ? source : source.alive$;
}

/**
 * Picks up to `n` distinct peers at random (uniformly, partial Fisher-Yates), skipping those
 * `exclude` rejects. Returns all eligible peers, shuffled, when there are `n` or fewer.
 * `random` returns a number in [0, 1), like Math.random (the default).
 */
export function selectPeers<P extends RemotePeer>(
  peers: readonly P[],
  n: number,
  exclude: (peer: P) => boolean = () => false,
  random: () => number = Math.random,
): P[] {
  const pool = peers.filter((p) => !exclude(p));
  const count = Math.max(0, Math.min(n, pool.length));
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, count);
}

/** Whether two PKI-IDs are equal (false when either is missing). */
export function samePkiId(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && a.length > 0 && Buffer.compare(a, b) === 0;
}
