// One thing the in-process fuzz campaign feeds: an input arbitrary and what to do with one input.
import type fc from 'fast-check';

/**
 * `run` feeds one input to the code under test. A decoder or checker may throw only GossipError
 * subclasses (the campaign fails a case on anything else); a pipeline may throw nothing, and
 * `check`, when present, states what must hold after each case (it throws when it does not).
 */
export interface InProcessTarget<T = unknown> {
  readonly name: string;
  readonly input: fc.Arbitrary<T>;
  /** Share of the campaign's cases, relative to the other targets'. */
  readonly weight: number;
  /** Typed errors are outcomes (counted by class), not failures. */
  readonly kind: 'decoder' | 'pipeline';
  run(input: T): void;
  check?(): void;
  /** Called between chunks of cases (the event loop has turned): drop what was recorded. */
  settle?(): void;
  /** What a pipeline did over the campaign (its own counters), for the report. */
  counters?(): Record<string, number>;
  stop?(): void;
}
