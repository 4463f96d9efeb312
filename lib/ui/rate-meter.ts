/**
 * Turns ever-growing counters into per-second rates between two readings. A counter seen for
 * the first time has no rate yet (undefined) rather than a made-up one; a counter that went
 * backwards (a restarted process) restarts from its new value; a reading too soon after the
 * previous one (another watcher asked) repeats the last rate instead of measuring a sliver.
 */
export class RateMeter {
  private readonly last = new Map<string, { value: number; at: number; rate: number | undefined }>();

  constructor(private readonly minWindowMs = 250) {}

  /** The rate of `key` since its previous reading, per second; records this reading. */
  rate(key: string, value: number, at: number): number | undefined {
    const previous = this.last.get(key);
    if (previous !== undefined && at - previous.at < this.minWindowMs && value >= previous.value) return previous.rate;
    const rate =
      previous === undefined || at <= previous.at || value < previous.value ? undefined : ((value - previous.value) * 1000) / (at - previous.at);
    this.last.set(key, { value, at, rate });
    return rate;
  }

  /** Forgets keys not in `keep`, so the meter does not grow with peers long gone. */
  retain(keep: ReadonlySet<string>): void {
    for (const key of this.last.keys()) if (!keep.has(key)) this.last.delete(key);
  }
}
