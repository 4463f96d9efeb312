import type Long from 'long';
import {
  EMPTY,
  Subject,
  Subscription,
  asyncScheduler,
  concat,
  defer,
  exhaustMap,
  ignoreElements,
  map,
  merge,
  tap,
  timer,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import type { Comm } from '../comm/comm.js';
import { DecodeError, IdentityError } from '../errors.js';
import type { RemotePeer } from '../comm/connection-info.js';
import { silentLogger, type Logger } from '../comm/logger.js';
import type { ReceivedMessage } from '../comm/received-message.js';
import type { IdentityMapper } from '../identity/identity-mapper.js';
import { mspIdOf } from '../identity/serialized-identity.js';
import { gossip } from '../proto/messages.js';
import { SignedMessage, type GossipMessageInit, type MessageSigner } from '../wire/signed-message.js';
import { peersOf, samePkiId, selectPeers, type PeerSource } from './peer-selection.js';
import { pullTag } from './pull.js';
import { nonceKey, pullRound, type PulledItem, type PullReply } from './pull-round.js';

/** Options of createIdentityPull. Defaults are Fabric's (core.yaml peer.gossip.*, its pull mediator). */
export interface IdentityPullOptions {
  /** Time between rounds (pullInterval). Default 4 s. */
  readonly pullIntervalMs?: number;
  /** Peers asked per round (pullPeerNum). Default 3. */
  readonly pullPeers?: number;
  /** How long digests are awaited after the Hellos (digestWaitTime). Default 1 s. */
  readonly digestWaitMs?: number;
  /**
   * How long updates are awaited after the requests, and how long a Hello we answered may be
   * followed by its DataRequest (requestWaitTime). Default 1.5 s.
   */
  readonly requestWaitMs?: number;
  /** Our identity (marshalled msp.SerializedIdentity). Default: comm.identity. */
  readonly identity?: Uint8Array;
  /** Signs our PeerIdentity message. Default: comm.signer. */
  readonly signer?: MessageSigner;
  /** Where pulled identities go and are validated. Default: comm.identityMapper. */
  readonly mapper?: IdentityStore;
  readonly scheduler?: SchedulerLike;
  /** Random numbers in [0, 1) for choosing peers. Default: Math.random. */
  readonly random?: () => number;
  /** Nonce generator (a random uint64 per peer per round). Default: 8 random bytes. */
  readonly nonce?: () => Long;
  readonly logger?: Logger;
}

/** What the identity pull needs of an identity mapper. */
export type IdentityStore = Pick<IdentityMapper, 'pkiIdOf' | 'verifyByIdentity' | 'put' | 'get' | 'has'>;

/** Counters of an IdentityPull since it started. */
export interface IdentityPullStats {
  readonly rounds: number;
  /** Identities learned by pull (validated and stored). */
  readonly learned: number;
  /** Hellos answered with a digest. */
  readonly hellos: number;
  /** DataRequests answered with an update. */
  readonly requests: number;
  /** PeerIdentity messages refused (bad signature, untrusted identity, PKI-ID mismatch). */
  readonly invalid: number;
}

/**
 * Fabric's identity pull (its cert store): peers exchange the signed `PeerIdentity` messages of
 * the identities they know, so that an alive message without an embedded identity (Fabric embeds
 * it only during publishCertPeriod) can be verified by peers that never connected to its sender.
 *
 * Both sides of Fabric's pull protocol with msg_type IDENTITY_MSG, tag EMPTY, no channel and the
 * outer nonce 0: this peer answers `Hello{IDENTITY_MSG}` with a DataDigest of the raw 32-byte
 * PKI-IDs whose PeerIdentity it holds (its own, signed at start, and those it pulled), a
 * DataRequest of that Hello's sender with the PeerIdentity envelopes asked for; and every
 * pullInterval it pulls from `pullPeers` peers of the PeerSource. Each pulled PeerIdentity is
 * checked (its PKI-ID is its certificate's, its signature is that identity's, the MSP trusts it)
 * and put in the identity mapper. An identity the mapper has forgotten (expired, unused) is no
 * longer offered.
 */
export interface IdentityPull {
  /** PKI-IDs of identities learned by pull, each time one is stored. Hot; completes on stop. */
  readonly learned$: Observable<Buffer>;
  /**
   * Starts a round now, unless one is running: with `peers` when given (e.g. the peer that relayed
   * an alive message of an unknown PKI-ID), else with random peers of the PeerSource.
   */
  pullNow(peers?: readonly RemotePeer[]): void;
  /** The PKI-IDs (hex) whose PeerIdentity this peer holds and offers. */
  held(): string[];
  stats(): IdentityPullStats;
  /** Abandons the running round, cancels timers, unsubscribes. Idempotent. */
  stop(): void;
}

/** Starts the identity pull over `comm`, pulling from the peers of `peers` (e.g. a Membership). */
export function createIdentityPull(comm: Comm, peers: PeerSource, options: IdentityPullOptions = {}): IdentityPull {
  return new IdentityPullPipeline(comm, peers, options);
}

/** Fabric's `GossipMessage{tag: EMPTY, peer_identity: {pki_id, cert}}`, signed by the identity's owner. */
export function createIdentityMessage(pkiId: Uint8Array, identity: Uint8Array, signer: MessageSigner): SignedMessage {
  return SignedMessage.create({ nonce: 0, tag: gossip.GossipMessage.Tag.EMPTY, peerIdentity: { pkiId, cert: identity } }, signer);
}

/**
 * Checks a PeerIdentity message as Fabric's cert store does: its PKI-ID is its certificate's, its
 * signature is by that identity, and the MSP validates the identity. Returns the PKI-ID and the
 * identity. Throws DecodeError, IdentityError or SignatureError.
 */
export function verifyIdentityMessage(
  message: SignedMessage,
  mapper: Pick<IdentityMapper, 'pkiIdOf' | 'verifyByIdentity'>,
): { pkiId: Buffer; identity: Uint8Array } {
  const msg = message.message;
  const peerIdentity = msg.content === 'peerIdentity' ? msg.peerIdentity : undefined;
  const pkiId = peerIdentity?.pkiId;
  const identity = peerIdentity?.cert;
  if (!pkiId || pkiId.length === 0 || !identity || identity.length === 0) {
    throw new DecodeError('not a PeerIdentity message with a PKI-ID and a certificate');
  }
  if (!mapper.pkiIdOf(identity).equals(pkiId)) {
    throw new IdentityError('PeerIdentity: the PKI-ID is not the one of its certificate');
  }
  mapper.verifyByIdentity(identity, message.signature, message.payload);
  return { pkiId: Buffer.from(pkiId), identity };
}

class IdentityPullPipeline implements IdentityPull {
  private readonly learned = new Subject<Buffer>();
  readonly learned$: Observable<Buffer> = this.learned.asObservable();
  private readonly trigger = new Subject<readonly RemotePeer[] | undefined>();
  private readonly subscription = new Subscription();
  private readonly scheduler: SchedulerLike;
  private readonly mapper: IdentityStore;
  private readonly logger: Logger;
  private readonly selfPkiId: Buffer;
  private readonly selfMspId: string;
  /** Signed PeerIdentity messages by hex PKI-ID (ours first). */
  private readonly items = new Map<string, SignedMessage>();
  /** Nonces of Hellos answered: who sent them and until when their DataRequest is served. */
  private readonly incoming = new Map<string, { from: Buffer; until: number }>();
  private current: readonly RemotePeer[] = [];
  private stopped = false;
  private counters = { rounds: 0, learned: 0, hellos: 0, requests: 0, invalid: 0 };

  constructor(
    private readonly comm: Comm,
    peers: PeerSource,
    private readonly options: IdentityPullOptions,
  ) {
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.mapper = options.mapper ?? comm.identityMapper;
    this.logger = options.logger ?? silentLogger;
    this.selfPkiId = comm.getPKIid();
    const identity = options.identity ?? comm.identity;
    this.selfMspId = mspIdOf(identity) ?? '';
    this.items.set(this.selfPkiId.toString('hex'), createIdentityMessage(this.selfPkiId, identity, options.signer ?? comm.signer));
    const interval = options.pullIntervalMs ?? 4_000;

    this.subscription.add(peersOf(peers).subscribe((list) => (this.current = list)));
    this.subscription.add(
      comm.accept((m) => isIdentityPull(m, 'hello', 'dataReq')).subscribe({
        next: (m) => this.answer(m),
        complete: () => this.stop(),
      }),
    );
    this.subscription.add(
      merge(timer(interval, interval, this.scheduler).pipe(map(() => undefined)), this.trigger)
        .pipe(exhaustMap((chosen) => this.round(chosen)))
        .subscribe(),
    );
  }

  pullNow(peers?: readonly RemotePeer[]): void {
    if (!this.stopped) this.trigger.next(peers);
  }

  held(): string[] {
    return [...this.items.keys()].filter((key) => this.offered(key));
  }

  stats(): IdentityPullStats {
    return { ...this.counters };
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.subscription.unsubscribe();
    this.trigger.complete();
    this.incoming.clear();
    this.learned.complete();
  }

  /** Whether the identity of `key` is still offered: ours always, others while the mapper holds them. */
  private offered(key: string): boolean {
    if (key === this.selfPkiId.toString('hex')) return true;
    const pkiId = Buffer.from(key, 'hex');
    const held = this.mapper.has ? this.mapper.has(pkiId) : this.mapper.get(pkiId) !== undefined;
    if (!held) this.items.delete(key);
    return held;
  }

  private round(chosen: readonly RemotePeer[] | undefined): Observable<never> {
    return defer(() => {
      const notSelf = (p: RemotePeer): boolean => p.endpoint === this.comm.endpoint || samePkiId(p.pkiId, this.selfPkiId);
      const peers = chosen
        ? chosen.filter((p) => !notSelf(p))
        : selectPeers(this.current, this.options.pullPeers ?? 3, notSelf, this.options.random);
      const replies$: Observable<PullReply> = this.comm
        .accept((m) => isIdentityPull(m, 'dataDig', 'dataUpdate'))
        .pipe(map((m) => ({ from: m.connectionInfo, message: m.message })));
      const items$ = pullRound({
        peers,
        replies$,
        send: (peer, message) => this.send(peer, message),
        lacks: (digest) => !this.items.has(digest) || !this.offered(digest),
        digestOf: (message) => {
          const pkiId = message.message.content === 'peerIdentity' ? message.message.peerIdentity?.pkiId : undefined;
          return pkiId && pkiId.length > 0 ? Buffer.from(pkiId).toString('hex') : undefined;
        },
        digestEncoding: 'hex',
        digestWaitMs: this.options.digestWaitMs ?? 1_000,
        requestWaitMs: this.options.requestWaitMs ?? 1_500,
        msgType: gossip.PullMsgType.IDENTITY_MSG,
        scheduler: this.scheduler,
        ...(this.options.random ? { random: this.options.random } : {}),
        ...(this.options.nonce ? { nonce: this.options.nonce } : {}),
      });
      const counted$ = defer(() => {
        if (peers.length > 0) this.counters.rounds++;
        return EMPTY;
      });
      return concat(items$.pipe(tap((item) => this.onPulled(item)), ignoreElements()), counted$);
    });
  }

  /** Validates a pulled PeerIdentity and stores it (in the mapper, and to offer it on). */
  private onPulled(item: PulledItem): void {
    try {
      const { pkiId, identity } = verifyIdentityMessage(item.message, this.mapper);
      this.mapper.put(pkiId, identity);
      // Keep the envelope as its owner signed it: that is what we serve to others.
      this.items.set(item.digest, SignedMessage.fromEnvelope({ payload: item.message.payload, signature: item.message.signature }));
      this.counters.learned++;
      this.learned.next(pkiId);
    } catch (err: unknown) {
      this.counters.invalid++;
      this.logger.debug({ err: err instanceof Error ? err.message : String(err) }, 'identity pull: PeerIdentity refused');
    }
  }

  /** Responder side: a Hello gets our PKI-IDs, a DataRequest of a Hello we answered gets the identities. */
  private answer(m: ReceivedMessage): void {
    const msg = m.message;
    const now = this.scheduler.now();
    for (const [key, entry] of this.incoming) {
      if (entry.until > now) break;
      this.incoming.delete(key);
    }
    const mayHave = this.egressFilter(m);
    if (msg.content === 'hello') {
      const key = nonceKey(msg.hello?.nonce);
      if (this.incoming.size >= MAX_INCOMING) this.incoming.delete(this.incoming.keys().next().value!);
      this.incoming.set(key, { from: m.connectionInfo.pkiId, until: now + (this.options.requestWaitMs ?? 1_500) });
      const digests = this.held()
        .filter(mayHave)
        .map((k) => Buffer.from(k, 'hex'));
      // Fabric sends no digest when it has nothing to offer.
      if (digests.length === 0) return;
      this.counters.hellos++;
      this.reply(m, { dataDig: { nonce: msg.hello?.nonce ?? 0, digests, msgType: gossip.PullMsgType.IDENTITY_MSG } });
      return;
    }
    const request = msg.dataReq;
    const hello = this.incoming.get(nonceKey(request?.nonce));
    if (!request || !hello || !hello.from.equals(m.connectionInfo.pkiId)) return;
    const data: gossip.IEnvelope[] = [];
    for (const raw of request.digests ?? []) {
      const key = Buffer.from(raw).toString('hex');
      const held = this.items.get(key);
      if (held && this.offered(key) && mayHave(key)) data.push(held.envelope);
    }
    if (data.length === 0) return;
    this.counters.requests++;
    this.reply(m, { dataUpdate: { nonce: request.nonce ?? 0, data, msgType: gossip.PullMsgType.IDENTITY_MSG } });
  }

  /**
   * Which identities a peer may be told of (Fabric's sameOrgOrOurOrgPullFilter): all of them for a
   * peer of our organization; for another organization's peer, ours and its own organization's.
   */
  private egressFilter(m: ReceivedMessage): (key: string) => boolean {
    const theirs = mspIdOf(m.connectionInfo.identity);
    if (theirs === undefined) return () => false;
    if (theirs === this.selfMspId) return () => true;
    return (key) => {
      const identity = this.items.get(key)?.message.peerIdentity?.cert;
      const org = identity ? mspIdOf(identity) : undefined;
      return org === this.selfMspId || org === theirs;
    };
  }

  private reply(m: ReceivedMessage, content: GossipMessageInit): void {
    void m.respond(wrap(content)).catch(() => undefined);
  }

  private send(peer: RemotePeer, content: GossipMessageInit): void {
    try {
      this.comm.send(wrap(content), peer);
    } catch (err: unknown) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'identity pull: send failed');
    }
  }
}

/** An identity-pull message as Fabric sends it: tag EMPTY, no channel, outer nonce 0. */
function wrap(content: GossipMessageInit): SignedMessage {
  return SignedMessage.create({ nonce: 0, tag: pullTag(gossip.PullMsgType.IDENTITY_MSG), ...content });
}

/** A pull message of the identity pull (msg_type IDENTITY_MSG, no channel). */
function isIdentityPull(m: ReceivedMessage, ...contents: string[]): boolean {
  try {
    const msg = m.message;
    if (msg.content === undefined || !contents.includes(msg.content)) return false;
    const pull = msg.hello ?? msg.dataDig ?? msg.dataReq ?? msg.dataUpdate;
    return pull?.msgType === gossip.PullMsgType.IDENTITY_MSG && (msg.channel?.length ?? 0) === 0;
  } catch {
    return false;
  }
}

/** Most Hello nonces remembered at once (the oldest is forgotten first). */
const MAX_INCOMING = 10_000;
