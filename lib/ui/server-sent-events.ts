import type { ServerResponse } from 'node:http';
import { asyncScheduler, interval, map, merge, type Observable, type SchedulerLike, Subscription } from 'rxjs';

/** One Server-Sent Event: its name and a JSON-able payload. */
export interface ServerSentEvent {
  readonly event: string;
  readonly data: unknown;
}

/** How an event stream behaves towards a slow or idle client. */
export interface EventStreamOptions {
  /** A comment line this often keeps idle proxies from closing the stream. Default 15 s. */
  readonly heartbeatMs?: number;
  /**
   * A client that lets this many bytes pile up unread is cut off (EventSource reconnects and
   * gets a fresh snapshot) instead of growing our memory. Default 1 MiB.
   */
  readonly maxBufferedBytes?: number;
  /** Told when the stream ended because the client was too slow. */
  readonly onSlowClient?: () => void;
  readonly scheduler?: SchedulerLike;
}

/** The wire form of one event (`event:` line, one `data:` line of JSON, blank line). */
export function formatServerSentEvent({ event, data }: ServerSentEvent): string {
  // JSON.stringify escapes newlines, so the payload is always one data line.
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Pipes `events$` to an HTTP response as a text/event-stream. The returned subscription is the
 * stream's life: unsubscribing (server stop) ends the response; the client going away or
 * `events$` completing unsubscribes. Errors of `events$` end the stream like completion does
 * (the page reconnects); they never reach the process.
 */
export function pipeServerSentEvents(events$: Observable<ServerSentEvent>, res: ServerResponse, options: EventStreamOptions = {}): Subscription {
  const maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-content-type-options': 'nosniff',
  });
  res.flushHeaders();
  const heartbeat$ = interval(options.heartbeatMs ?? 15_000, options.scheduler ?? asyncScheduler).pipe(map(() => ': heartbeat\n\n'));
  // The parent exists before the first (possibly synchronous) event, so next() can end it.
  const life = new Subscription();
  const onClose = (): void => life.unsubscribe();
  res.once('close', onClose);
  life.add(() => {
    res.removeListener('close', onClose);
    if (!res.writableEnded) res.end();
  });
  life.add(
    merge(events$.pipe(map(formatServerSentEvent)), heartbeat$).subscribe({
      next: (chunk) => {
        if (res.writableLength > maxBuffered) {
          options.onSlowClient?.();
          life.unsubscribe();
          return;
        }
        res.write(chunk);
      },
      error: () => life.unsubscribe(),
      complete: () => life.unsubscribe(),
    }),
  );
  return life;
}
