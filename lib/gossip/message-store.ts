import { asyncScheduler, type SchedulerLike } from 'rxjs';
import type { SignedMessage } from '../wire/signed-message.js';

/** Options of a MessageStore. */
export interface MessageStoreOptions {
  /** Most messages held; adding one more evicts the oldest. Default 1,000. */
  readonly capacity?: number;
  /**
   * How long a message is held (and its digest counts as seen) after it was added, in ms.
   * Default 400 s: Fabric's block expiration, 100 × the 4 s pull interval.
   */
  readonly ttlMs?: number;
  /** The clock (`now()`) expiry is measured on. Default: asyncScheduler. */
  readonly scheduler?: SchedulerLike;
}

/**
 * The data messages a peer holds, keyed by digest (Fabric's message store): the seen-cache that
 * push uses to drop duplicates, and the inventory that pull advertises and serves. Shared by the
 * push and pull pipelines of one peer.
 *
 * Bounded two ways: at most `capacity` messages (the oldest is evicted first), each held for
 * `ttlMs` after it was added. Expiry is lazy (checked on every call against the scheduler's
 * clock), so the store owns no timer and needs no stopping. Once a message has expired or been
 * evicted, its digest is no longer "seen": a late duplicate would be taken as new.
 */
export class MessageStore {
  readonly capacity: number;
  readonly ttlMs: number;
  private readonly scheduler: SchedulerLike;
  private readonly entries = new Map<string, SignedMessage>();
  /**
   * The digests held, oldest first, from `head` on, and when each was added (`addedAt[i]` for
   * `order[i]`): insertion order is expiry and eviction order. Every digest in `entries` is here
   * exactly once. Kept apart from the Map because taking the oldest entry of a Map that keeps
   * losing its first entries walks over the holes they leave; the times are kept apart too, so
   * that checking for expiry (on every call) reads one number instead of looking up the Map.
   */
  private order: string[] = [];
  private addedAt: number[] = [];
  private head = 0;

  constructor(options: MessageStoreOptions = {}) {
    this.capacity = options.capacity ?? 1_000;
    this.ttlMs = options.ttlMs ?? 400_000;
    this.scheduler = options.scheduler ?? asyncScheduler;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw new RangeError('MessageStore: capacity must be a positive integer');
    if (!(this.ttlMs > 0)) throw new RangeError('MessageStore: ttlMs must be positive');
  }

  /**
   * Adds `message` under `digest` unless a message with that digest is held already.
   * Returns true when it was new (and is now held), false for a duplicate.
   */
  add(digest: string, message: SignedMessage): boolean {
    const now = this.scheduler.now();
    this.purge(now);
    if (this.entries.has(digest)) return false;
    this.entries.set(digest, message);
    this.order.push(digest);
    this.addedAt.push(now);
    while (this.entries.size > this.capacity) this.removeOldest();
    return true;
  }

  /** Whether a message with this digest is held (has been seen and not yet expired). */
  has(digest: string): boolean {
    this.purge(this.scheduler.now());
    return this.entries.has(digest);
  }

  /** The message held under `digest`, if any. */
  get(digest: string): SignedMessage | undefined {
    this.purge(this.scheduler.now());
    return this.entries.get(digest);
  }

  /** The digests held, oldest first. */
  digests(): string[] {
    this.purge(this.scheduler.now());
    return this.order.slice(this.head);
  }

  /** How many messages are held. */
  get size(): number {
    this.purge(this.scheduler.now());
    return this.entries.size;
  }

  /** Forgets everything. */
  clear(): void {
    this.entries.clear();
    this.order = [];
    this.addedAt = [];
    this.head = 0;
  }

  private purge(now: number): void {
    const deadline = now - this.ttlMs;
    while (this.head < this.order.length && this.addedAt[this.head]! <= deadline) this.removeOldest();
  }

  private removeOldest(): void {
    this.entries.delete(this.order[this.head]!);
    this.head++;
    if (this.head === this.order.length) {
      this.order = [];
      this.addedAt = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.order.length) {
      this.order = this.order.slice(this.head);
      this.addedAt = this.addedAt.slice(this.head);
      this.head = 0;
    }
  }
}
