/**
 * Turns ever-growing counters into per-second rates between two readings. A counter seen for
 * the first time has no rate yet (undefined) rather than a made-up one; a counter that went
 * backwards (a restarted process) restarts from its new value.
 */
export class RateMeter {
  private readonly last = new Map<string, { value: number; at: number }>();

  /** The rate of `key` since its previous reading, per second; records this reading. */
  rate(key: string, value: number, at: number): number | undefined {
    const previous = this.last.get(key);
    this.last.set(key, { value, at });
    if (previous === undefined || at <= previous.at || value < previous.value) return undefined;
    return ((value - previous.value) * 1000) / (at - previous.at);
  }

  /** Forgets keys not in `keep`, so the meter does not grow with peers long gone. */
  retain(keep: ReadonlySet<string>): void {
    for (const key of this.last.keys()) if (!keep.has(key)) this.last.delete(key);
  }
}
