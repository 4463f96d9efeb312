import { randomBytes } from 'node:crypto';
import Long from 'long';
import {
  EMPTY,
  Observable,
  asyncScheduler,
  defer,
  filter,
  from,
  merge,
  mergeMap,
  takeUntil,
  takeWhile,
  tap,
  timer,
  toArray,
  type SchedulerLike,
} from 'rxjs';
import type { ConnectionInfo, RemotePeer } from '../comm/connection-info.js';
import { gossip } from '../proto/messages.js';
import { SignedMessage, type GossipMessageInit } from '../wire/signed-message.js';
import type { DigestFn } from './data-digest.js';
import { samePkiId } from './peer-selection.js';

/** A pull message received: who sent it and what (a DataDigest or a DataUpdate, for a round). */
export interface PullReply {
  /** The sender (ReceivedMessage.connectionInfo). */
  readonly from: ConnectionInfo;
  readonly message: gossip.GossipMessage;
}

/** An item a round obtained: a data message some peer sent in a DataUpdate, as requested. */
export interface PulledItem {
  readonly digest: string;
  readonly message: SignedMessage;
  /** The peer that sent it. */
  readonly from: ConnectionInfo;
}

/** What one initiator round needs. */
export interface PullRoundContext {
  /** The peers to pull from (already chosen). */
  readonly peers: readonly RemotePeer[];
  /** Pull replies as they arrive (hot). Subscribed for the round's duration only. */
  readonly replies$: Observable<PullReply>;
  /** Sends a Hello or a DataRequest; must not throw. */
  send(peer: RemotePeer, message: GossipMessageInit): void;
  /** Whether this peer lacks the item of `digest` (and so should request it). */
  lacks(digest: string): boolean;
  /** The digest of a received item (it must be one of those requested from its sender). */
  readonly digestOf: DigestFn;
  /** Wait for digests after the hellos (Fabric's digestWaitTime). */
  readonly digestWaitMs: number;
  /** Wait for updates after the requests (Fabric's requestWaitTime). */
  readonly requestWaitMs: number;
  readonly msgType?: gossip.PullMsgType;
  /**
   * How digests travel as bytes: 'utf8' for the textual digests of data messages (default),
   * 'hex' when a digest string is the hex of raw bytes (identity pull: 32-byte PKI-IDs).
   */
  readonly digestEncoding?: BufferEncoding;
  /** A fresh random uint64 per peer per round. Default: 8 random bytes. */
  readonly nonce?: () => Long;
  /** Random numbers in [0, 1) to choose which peer each missing item is requested from. */
  readonly random?: () => number;
  readonly scheduler?: SchedulerLike;
}

/**
 * One round of Fabric's pull protocol, initiator side:
 * 1. a Hello with a fresh nonce to each peer;
 * 2. DataDigests are collected for `digestWaitMs` (or until every peer answered); only those that
 *    carry the nonce sent to their sender count;
 * 3. each missing digest is requested from one peer, chosen at random among those offering it,
 *    with a DataRequest carrying that peer's nonce;
 * 4. DataUpdates with that nonce are accepted for `requestWaitMs` (or until every asked peer
 *    answered); each item whose digest was requested from that peer is emitted, at most once.
 *
 * Cold: each subscription runs one round (sending happens on subscribe). Completes when the round
 * ends; unsubscribing abandons it. Errors only if `replies$` or a callback does.
 */
export function pullRound(ctx: PullRoundContext): Observable<PulledItem> {
  const scheduler = ctx.scheduler ?? asyncScheduler;
  const random = ctx.random ?? Math.random;
  const msgType = ctx.msgType ?? gossip.PullMsgType.BLOCK_MSG;
  const encoding = ctx.digestEncoding ?? 'utf8';
  return defer(() => {
    if (ctx.peers.length === 0) return EMPTY;
    const newNonce = ctx.nonce ?? randomNonce;
    const byNonce = new Map<string, { peer: RemotePeer; nonce: Long }>();
    for (const peer of ctx.peers) {
      const nonce = newNonce().toUnsigned();
      byNonce.set(nonce.toString(), { peer, nonce });
    }
    const awaiting = new Set(byNonce.keys());
    const digests$ = ctx.replies$.pipe(
      filter((r) => r.message.content === 'dataDig' && isAwaited(r, r.message.dataDig?.nonce, awaiting, byNonce)),
      tap((r) => awaiting.delete(nonceKey(r.message.dataDig!.nonce))),
      takeUntil(timer(ctx.digestWaitMs, scheduler)),
      takeWhile(() => awaiting.size > 0, true),
      toArray(),
    );
    const hellos$ = defer(() => {
      for (const { peer, nonce } of byNonce.values()) ctx.send(peer, { nonce: 0, hello: { nonce, msgType } });
      return EMPTY;
    });
    return merge(digests$, hellos$).pipe(mergeMap((digests) => requestPhase(digests)));

    function requestPhase(digests: readonly PullReply[]): Observable<PulledItem> {
      // Which peers offer each missing digest, in arrival order.
      const offers = new Map<string, string[]>();
      for (const reply of digests) {
        const key = nonceKey(reply.message.dataDig!.nonce);
        for (const raw of reply.message.dataDig!.digests ?? []) {
          const digest = Buffer.from(raw).toString(encoding);
          if (!ctx.lacks(digest)) continue;
          const list = offers.get(digest) ?? [];
          if (!list.includes(key)) list.push(key);
          offers.set(digest, list);
        }
      }
      const wanted = new Map<string, Set<string>>();
      for (const [digest, keys] of offers) {
        const key = keys[Math.floor(random() * keys.length)]!;
        const set = wanted.get(key) ?? new Set<string>();
        set.add(digest);
        wanted.set(key, set);
      }
      if (wanted.size === 0) return EMPTY;
      const awaiting = new Set(wanted.keys());
      const got = new Set<string>();
      const updates$ = ctx.replies$.pipe(
        filter((r) => r.message.content === 'dataUpdate' && isAwaited(r, r.message.dataUpdate?.nonce, awaiting, byNonce)),
        tap((r) => awaiting.delete(nonceKey(r.message.dataUpdate!.nonce))),
        takeUntil(timer(ctx.requestWaitMs, scheduler)),
        takeWhile(() => awaiting.size > 0, true),
        mergeMap((r) => {
          const key = nonceKey(r.message.dataUpdate!.nonce);
          const asked = wanted.get(key)!;
          const items: PulledItem[] = [];
          for (const envelope of r.message.dataUpdate!.data ?? []) {
            const message = SignedMessage.fromEnvelope(envelope);
            let digest: string | undefined;
            try {
              digest = ctx.digestOf(message);
            } catch {
              continue;
            }
            if (digest === undefined || !asked.has(digest) || got.has(digest)) continue;
            got.add(digest);
            items.push({ digest, message, from: r.from });
          }
          return from(items);
        }),
      );
      const requests$ = defer(() => {
        for (const [key, set] of wanted) {
          const { peer, nonce } = byNonce.get(key)!;
          const digests = [...set].map((d) => Buffer.from(d, encoding));
          ctx.send(peer, { nonce: 0, dataReq: { nonce, digests, msgType } });
        }
        return EMPTY;
      });
      return merge(updates$, requests$);
    }
  });
}

/** Whether a reply carries a nonce still awaited, and comes from the peer it was sent to. */
function isAwaited(
  reply: PullReply,
  nonce: number | Long | null | undefined,
  awaiting: ReadonlySet<string>,
  byNonce: ReadonlyMap<string, { peer: RemotePeer }>,
): boolean {
  if (nonce === null || nonce === undefined) return false;
  const key = nonceKey(nonce);
  if (!awaiting.has(key)) return false;
  const peer = byNonce.get(key)!.peer;
  return !peer.pkiId || peer.pkiId.length === 0 || samePkiId(peer.pkiId, reply.from.pkiId);
}

/** The map key of a uint64 nonce. */
export function nonceKey(nonce: number | Long | null | undefined): string {
  return Long.fromValue(nonce ?? 0).toUnsigned().toString();
}

/** A random uint64. */
export function randomNonce(): Long {
  const b = randomBytes(8);
  return new Long(b.readInt32LE(0), b.readInt32LE(4), true);
}
