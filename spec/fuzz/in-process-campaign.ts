// The in-process fuzz campaign: fast-check feeds every decoder, checker and pipeline target
// (decoder-targets.ts, pipeline-targets.ts) its share of the cases, in chunks; between chunks
// the event loop turns (timers of the pipelines run, RxJS reports errors thrown inside them).
// A case fails when its target throws anything but a GossipError subclass, or a pipeline's
// invariant breaks; a chunk fails on any unhandled rejection, uncaught exception or RxJS
// unhandled error. Used by `npm run fuzz -- --in-process` and spec/fuzz/in-process.fuzz.spec.ts.
import fc from 'fast-check';
import { config as rxConfig } from 'rxjs';
import { GossipError } from '../../lib/index.js';
import { UnexpectedErrors } from '../failure/unexpected.js';
import { decoderTargets } from './decoder-targets.js';
import { fuzzMaterial } from './fuzz-material.js';
import type { InProcessTarget } from './in-process-target.js';
import { pipelineTargets } from './pipeline-targets.js';

export interface CampaignOptions {
  readonly cases: number;
  readonly seed: number;
  /** Cases per chunk (all targets together). Default 20,000. */
  readonly chunk?: number;
  /** Only these targets (by name). Default: all. */
  readonly targets?: readonly string[];
  /** Shrink a failing case to a minimal one (slower). Default false. */
  readonly shrink?: boolean;
  /** A progress line after every chunk. */
  readonly log?: (line: string) => void;
}

/** What one target saw. */
export interface TargetTally {
  cases: number;
  /** Inputs accepted without error. */
  accepted: number;
  /** Typed refusals, by error class. */
  refused: Record<string, number>;
  ms: number;
}

export interface CampaignResult {
  readonly cases: number;
  readonly ms: number;
  readonly tallies: Record<string, TargetTally>;
  readonly failures: string[];
  /** What each pipeline target reports of its own counters (InProcessTarget.counters). */
  readonly counters: Record<string, Record<string, number>>;
}

/** An empty tally. */
export function newTally(): TargetTally {
  return { cases: 0, accepted: 0, refused: {}, ms: 0 };
}

export async function runInProcessCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const material = await fuzzMaterial();
  const all = [...decoderTargets(material), ...pipelineTargets(material)];
  const targets = options.targets ? all.filter((t) => options.targets!.includes(t.name)) : all;
  for (const t of all) if (!targets.includes(t)) t.stop?.();
  if (targets.length === 0) throw new RangeError(`no such target: ${options.targets?.join(', ')} (have ${all.map((t) => t.name).join(', ')})`);
  const chunk = Math.max(targets.length, options.chunk ?? 20_000);
  const totalWeight = targets.reduce((w, t) => w + t.weight, 0);
  const tallies: Record<string, TargetTally> = Object.fromEntries(targets.map((t) => [t.name, newTally()]));
  const failures: string[] = [];
  const counters: Record<string, Record<string, number>> = {};

  const unexpected = new UnexpectedErrors();
  const rxErrors: unknown[] = [];
  const previousRxHandler = rxConfig.onUnhandledError;
  rxConfig.onUnhandledError = (err: unknown) => void rxErrors.push(err);
  unexpected.install();
  const started = performance.now();
  let done = 0;
  try {
    for (let index = 0; done < options.cases; index++) {
      const n = Math.min(chunk, options.cases - done);
      let given = 0;
      for (const [i, target] of targets.entries()) {
        const share = i === targets.length - 1 ? n - given : Math.round((n * target.weight) / totalWeight);
        given += share;
        if (share <= 0) continue;
        const seed = options.seed + index * 1_000 + i;
        const failure = runCases(target, share, seed, tallies[target.name]!, options.shrink === true);
        if (failure) failures.push(failure);
      }
      done += n;
      // Let timers and RxJS's deferred error reports run, then look at what they left.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 2));
      for (const target of targets) {
        // Invariants again once the event loop has turned (what asynchronous work left behind).
        try {
          target.check?.();
        } catch (err: unknown) {
          failures.push(`${target.name} after chunk ${index} (seeds ${options.seed + index * 1_000}+): ${describe(err)}`);
        }
        target.settle?.();
      }
      const seen = [...unexpected.describe(), ...rxErrors.map((e) => `RxJS unhandled error: ${describe(e)}`)];
      if (seen.length > 0) failures.push(`chunk ${index} (seeds ${options.seed + index * 1_000}+): ${seen.join('\n')}`);
      unexpected.seen.length = 0;
      rxErrors.length = 0;
      const s = (performance.now() - started) / 1000;
      options.log?.(
        `cases ${done}/${options.cases} ${s.toFixed(1)}s ${Math.round(done / s)}/s failures ${failures.length} rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)}MB`,
      );
      if (failures.length >= 20) break;
    }
  } finally {
    unexpected.uninstall();
    rxConfig.onUnhandledError = previousRxHandler;
    for (const target of targets) {
      if (target.counters) counters[target.name] = target.counters();
      target.stop?.();
    }
  }
  return { cases: done, ms: performance.now() - started, tallies, failures, counters };
}

/** Runs `runs` cases of one target; returns a failure description, if a case failed. */
export function runCases(target: InProcessTarget, runs: number, seed: number, tally: TargetTally, shrink: boolean): string | undefined {
  const t0 = performance.now();
  const property = fc.property(target.input, (input) => {
    tally.cases++;
    try {
      target.run(input);
      tally.accepted++;
    } catch (err: unknown) {
      if (!(err instanceof GossipError)) throw new Error(`${target.name} threw an untyped error: ${describe(err)}`, { cause: err });
      tally.refused[err.name] = (tally.refused[err.name] ?? 0) + 1;
    }
    target.check?.();
  });
  const details = fc.check(property, { numRuns: runs, seed, endOnFailure: !shrink });
  tally.ms += performance.now() - t0;
  if (!details.failed) return undefined;
  const example = fc.stringify(details.counterexample?.[0]).slice(0, 400);
  return `${target.name} seed ${seed} path ${details.counterexamplePath ?? '?'}: ${describe(details.errorInstance)}\n    input: ${example}`;
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/** A summary table of the tallies. */
export function tallyTable(result: CampaignResult): string {
  const rows = Object.entries(result.tallies).map(([name, t]) => [
    name,
    String(t.cases),
    String(Math.round(t.cases / (t.ms / 1000 || 1))),
    String(t.accepted),
    Object.entries(t.refused)
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
  ]);
  const head = ['target', 'cases', 'cases/s', 'accepted', 'refused (typed)'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const notes = Object.entries(result.counters).map(
    ([name, c]) => `${name}: ${Object.entries(c)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line), ...notes].join('\n');
}
