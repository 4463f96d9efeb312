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
 * Picks up to `n` distinct peers at random (uniformly among those `exclude` accepts), skipping
 * those `exclude` rejects. Returns all eligible peers, shuffled, when there are `n` or fewer.
 * `random` returns a number in [0, 1), like Math.random (the default).
 *
 * A sparse Fisher-Yates over the indices: peers are examined in a uniformly random order until
 * `n` eligible ones are found, so picking 3 of 100 members tests a handful with `exclude`, not
 * 100 (membership relays every new alive message this way, push every message). Each peer is
 * tested at most once; `random` always 0 examines them in order.
 */
export function selectPeers<P extends RemotePeer>(
  peers: readonly P[],
  n: number,
  exclude: (peer: P) => boolean = () => false,
  random: () => number = Math.random,
): P[] {
  const picked: P[] = [];
  if (!(n > 0)) return picked;
  // moved.get(k) is the index now at position k of the permutation (k itself if absent). Made on
  // the first swap: with one peer (push to a single neighbour) there is none.
  let moved: Map<number, number> | undefined;
  for (let next = 0; next < peers.length && picked.length < n; next++) {
    const k = next + Math.floor(random() * (peers.length - next));
    const index = moved?.get(k) ?? k;
    // Position `next` is never drawn again: only a swap with a later position needs recording.
    if (k !== next) (moved ??= new Map()).set(k, moved.get(next) ?? next);
    const peer = peers[index]!;
    if (!exclude(peer)) picked.push(peer);
  }
  return picked;
}

/** Whether two PKI-IDs are equal (false when either is missing). */
export function samePkiId(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && a.length > 0 && Buffer.compare(a, b) === 0;
}
