import { Subject, filter, type Observable } from 'rxjs';
import type { ReceivedMessage } from './received-message.js';

/**
 * The demultiplexer: one hot, shared Observable of every message received on any connection,
 * filtered per acceptor. Each matching subscriber gets each message; unsubscribing releases the
 * subscriber; `complete()` (on comm stop) completes every accept() Observable, including those
 * subscribed later.
 */
export class Demux {
  private readonly subject = new Subject<ReceivedMessage>();
  /** Every message received; hot (only messages received while subscribed), never errors. */
  readonly messages$: Observable<ReceivedMessage> = this.subject.asObservable();

  publish(message: ReceivedMessage): void {
    this.subject.next(message);
  }

  accept(predicate: (message: ReceivedMessage) => boolean): Observable<ReceivedMessage> {
    return this.messages$.pipe(filter(predicate));
  }

  complete(): void {
    this.subject.complete();
  }
}
