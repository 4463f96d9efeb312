/** A SIGINT or SIGTERM, once. */
export interface ShutdownSignal {
  /** Resolves with the first SIGINT or SIGTERM received. */
  readonly received: Promise<NodeJS.Signals>;
  /** Removes the handlers (the default behaviour, exiting, comes back). */
  dispose(): void;
}

/**
 * Catches SIGINT and SIGTERM so a command can stop cleanly instead of being killed. A second
 * signal while stopping is ignored here; `dispose()` once stopped.
 */
export function shutdownSignal(): ShutdownSignal {
  let resolve!: (signal: NodeJS.Signals) => void;
  const received = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const handler = (signal: NodeJS.Signals): void => resolve(signal);
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    received,
    dispose: () => {
      process.removeListener('SIGINT', handler);
      process.removeListener('SIGTERM', handler);
    },
  };
}
