import { BehaviorSubject, defer, type Observable } from 'rxjs';
import { BufferOverflowError, ConnectionClosedError } from '../errors.js';
import type { OverflowPolicy } from './options.js';

/** One message waiting to be written, with the callback of a caller who waits for it. */
export interface OutboundItem {
  readonly bytes: Buffer;
  /**
   * Called once: without an error when the stream took the message, with one when it never will.
   * Handed to the stream's write() as its callback, hence the `null` of a write that succeeded.
   */
  readonly settle?: (err?: Error | null) => void;
}

/** What nextQueued returns when the message went into the buffer at once. */
export const QUEUED: Promise<void> = Promise.resolve();

/** Why an outbound message was dropped. */
export type DropReason = 'overflow' | 'connection-closed' | 'dial-failed' | 'stopped';

/** The write side of a stream, as the buffer drains into it. */
export interface OutboundSink {
  write(bytes: Buffer, callback?: (err?: Error | null) => void): boolean;
  once(event: 'drain', listener: () => void): unknown;
  removeListener(event: 'drain', listener: () => void): unknown;
  /** Optional: hold writes until uncork(), so that a run of queued messages goes out as one write. */
  cork?(): void;
  uncork?(): void;
}

/**
 * The outbound side of a connection (Fabric's `outBuff` plus `writeToStream`): a bounded queue
 * that `next()` feeds and that drains into the stream only while the stream's `write()` says it
 * has room, resuming on `'drain'`. Messages queue before a stream is attached (while dialing) and
 * while the buffer is held (see `hold()`), so the order of `next()` calls is the order on the wire.
 *
 * When full, `next()` applies the overflow policy: `drop-newest` refuses the new message,
 * `drop-oldest` evicts the oldest queued one, `error` throws BufferOverflowError. Every dropped
 * message goes to `onDrop`: nothing is lost silently. `nextBlocking()` is for callers who must not
 * drop (responses, acknowledged sends): it waits for room instead.
 */
export class OutboundBuffer {
  private queue: OutboundItem[] = [];
  private head = 0;
  /** Callers of nextBlocking waiting for room, in order. */
  private waiters: OutboundItem[] = [];
  private sink: OutboundSink | undefined;
  private waitingForDrain = false;
  private held = 0;
  private closed = false;
  private flushWaiters: Array<() => void> = [];
  // Created on first use: most connections never have their depth observed.
  private depthSubject: BehaviorSubject<number> | undefined;

  constructor(
    readonly capacity: number,
    readonly policy: OverflowPolicy,
    private readonly onDrop: (item: OutboundItem, reason: DropReason) => void,
    private readonly onWritten: () => void = () => undefined,
    /** Told how the depth moved, so an owner can keep a total across buffers in O(1). */
    private readonly onDepthDelta?: (delta: number) => void,
  ) {}

  private reportedDepth = 0;

  /** Messages waiting (not yet handed to the stream). */
  get depth(): number {
    return this.queue.length - this.head;
  }

  /** The queue depth over time; hot, replays the current value, completes when the buffer closes. */
  get depth$(): Observable<number> {
    return defer(() => {
      if (!this.depthSubject) {
        this.depthSubject = new BehaviorSubject(this.depth);
        if (this.closed) this.depthSubject.complete();
      } else if (!this.closed && this.depthSubject.value !== this.depth) {
        // The subject is only fed while observed (the hot path stays cheap): bring it up to
        // date before a new subscriber reads it, or a late subscriber starts from a stale depth.
        this.depthSubject.next(this.depth);
      }
      return this.depthSubject;
    });
  }

  /**
   * Queues a message. Returns false if it (or, with drop-oldest, an older one) was dropped.
   * Throws BufferOverflowError when full under the `error` policy, ConnectionClosedError after close.
   */
  next(item: OutboundItem): boolean {
    if (this.closed) {
      this.drop(item, 'connection-closed');
      return false;
    }
    let accepted = true;
    if (this.depth >= this.capacity) {
      switch (this.policy) {
        case 'drop-newest':
          this.drop(item, 'overflow');
          return false;
        case 'drop-oldest': {
          const oldest = this.queue[this.head]!;
          this.queue[this.head++] = undefined as unknown as OutboundItem;
          this.drop(oldest, 'overflow');
          accepted = false;
          break;
        }
        case 'error':
          this.drop(item, 'overflow');
          throw new BufferOverflowError(`outbound buffer full (${this.capacity} messages)`);
      }
    }
    this.push(item);
    return accepted;
  }

  /** Queues a message, waiting for room instead of dropping; resolves once the stream took it. */
  nextBlocking(bytes: Buffer): Promise<void> {
    return new Promise<void>((resolve, reject) => this.nextTracked(bytes, (err) => (err ? reject(err) : resolve())));
  }

  /**
   * nextBlocking with a callback instead of a promise: `settle` is called once, with no error
   * (or null) when the stream took the message, with one when it never will (possibly at once,
   * when the buffer is closed). For senders of many messages, which pay no promise per message.
   */
  nextTracked(bytes: Buffer, settle: (err?: Error | null) => void): void {
    if (this.closed) {
      settle(new ConnectionClosedError('connection closed before the message was queued'));
      return;
    }
    const item: OutboundItem = { bytes, settle };
    if (this.depth < this.capacity && this.waiters.length === 0) {
      this.push(item);
    } else {
      this.waiters.push(item);
    }
  }

  /**
   * Queues a message without dropping it: at once when there is room (resolving immediately), or
   * once room frees up (resolving when the stream took it). Rejects if the buffer closes first.
   * Cheaper than nextBlocking when the buffer is not full: no per-message promise or callback.
   */
  nextQueued(bytes: Buffer): Promise<void> {
    if (!this.closed && this.depth < this.capacity && this.waiters.length === 0) {
      this.push({ bytes });
      return QUEUED;
    }
    return this.nextBlocking(bytes);
  }

  /** Starts draining into a stream. */
  attach(sink: OutboundSink): void {
    this.sink = sink;
    this.drain();
  }

  /** Stops draining until the returned release function is called (ordering across connections). */
  hold(): () => void {
    this.held++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held--;
      this.drain();
    };
  }

  /** Resolves when everything queued so far has been handed to the stream (or dropped by close). */
  flush(): Promise<void> {
    if (this.depth === 0 && this.waiters.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.push(resolve));
  }

  /**
   * Queues messages moved here from another connection to the same peer. They were admitted
   * there already, so the capacity does not apply: moving must not turn into dropping.
   */
  adopt(items: readonly OutboundItem[]): void {
    if (this.closed) {
      for (const item of items) this.drop(item, 'connection-closed');
      return;
    }
    for (const item of items) this.queue.push(item);
    this.changed();
    this.drain();
  }

  /** Takes every queued message out without writing it (to move it to another connection). */
  takeAll(): OutboundItem[] {
    const items = this.queue.slice(this.head);
    items.push(...this.waiters);
    this.queue = [];
    this.head = 0;
    this.waiters = [];
    this.changed();
    return items;
  }

  /** Drops whatever is still queued (reported with `reason`) and refuses anything new. */
  close(reason: DropReason = 'connection-closed'): void {
    if (this.closed) return;
    this.closed = true;
    if (this.sink && this.waitingForDrain) this.sink.removeListener('drain', this.onDrain);
    const items = this.takeAll();
    for (const item of items) this.drop(item, reason);
    this.depthSubject?.complete();
  }

  private push(item: OutboundItem): void {
    this.queue.push(item);
    this.changed();
    this.drain();
  }

  private readonly onDrain = (): void => {
    this.waitingForDrain = false;
    this.drain();
  };

  private drain(): void {
    const sink = this.sink;
    if (!sink || this.waitingForDrain || this.held > 0 || this.closed) return;
    const corked = this.queue.length - this.head > 1 && sink.cork !== undefined;
    if (corked) sink.cork!();
    while (this.head < this.queue.length) {
      const item = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as OutboundItem;
      const more = sink.write(item.bytes, item.settle);
      this.onWritten();
      this.admitWaiter();
      if (!more) {
        this.waitingForDrain = true;
        sink.once('drain', this.onDrain);
        break;
      }
    }
    if (corked) sink.uncork!();
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.changed();
    if (this.depth === 0 && this.waiters.length === 0 && this.flushWaiters.length > 0) {
      const waiting = this.flushWaiters;
      this.flushWaiters = [];
      for (const resolve of waiting) resolve();
    }
  }

  private admitWaiter(): void {
    const waiter = this.waiters.shift();
    if (waiter) this.queue.push(waiter);
  }

  private drop(item: OutboundItem, reason: DropReason): void {
    item.settle?.(new ConnectionClosedError(`message dropped: ${reason}`));
    this.onDrop(item, reason);
  }

  private changed(): void {
    const depth = this.depth;
    if (this.onDepthDelta && depth !== this.reportedDepth) {
      this.onDepthDelta(depth - this.reportedDepth);
      this.reportedDepth = depth;
    }
    if (this.depthSubject?.observed) this.depthSubject.next(depth);
  }
}
