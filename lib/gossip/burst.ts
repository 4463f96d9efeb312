import { Observable, asyncScheduler, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';

/**
 * Groups values into bursts, as Fabric's batching emitter does before propagating messages
 * (`MaxPropagationBurstSize` 10, `MaxPropagationBurstLatency` 10 ms): a burst is emitted as soon as
 * it holds `maxSize` values, or `maxDelayMs` after its first value, whichever comes first.
 *
 * Unlike `bufferTime`, nothing is scheduled while no value is pending, so an idle pipeline holds no
 * timer, and no empty burst is ever emitted. When the source completes, the pending burst (if
 * any) is emitted and then the result completes; when the source errors, the pending burst is
 * discarded and the error passed on. Unsubscribing cancels the pending timer.
 */
export function burst<T>(
  maxSize = 10,
  maxDelayMs = 10,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<T, T[]> {
  if (!Number.isInteger(maxSize) || maxSize < 1) throw new RangeError('burst: maxSize must be a positive integer');
  if (!(maxDelayMs >= 0)) throw new RangeError('burst: maxDelayMs must not be negative');
  return (source) =>
    new Observable<T[]>((subscriber) => {
      let pending: T[] = [];
      let timer: Subscription | undefined;
      const flush = (): void => {
        timer?.unsubscribe();
        timer = undefined;
        if (pending.length === 0) return;
        const out = pending;
        pending = [];
        subscriber.next(out);
      };
      const upstream = source.subscribe({
        next: (value) => {
          pending.push(value);
          if (pending.length >= maxSize) flush();
          else timer ??= scheduler.schedule(flush, maxDelayMs);
        },
        error: (err: unknown) => {
          timer?.unsubscribe();
          pending = [];
          subscriber.error(err);
        },
        complete: () => {
          flush();
          subscriber.complete();
        },
      });
      return () => {
        upstream.unsubscribe();
        timer?.unsubscribe();
        pending = [];
      };
    });
}
