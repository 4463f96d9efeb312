import { constants } from 'node:os';

/** A SIGINT or SIGTERM, once. */
export interface ShutdownSignal {
  /** Resolves with the first SIGINT or SIGTERM received. */
  readonly received: Promise<NodeJS.Signals>;
  /** Removes the handlers (the default behaviour, exiting, comes back). */
  dispose(): void;
}

/**
 * Catches SIGINT and SIGTERM so a command can stop cleanly instead of being killed. A second
 * signal before `dispose()` means the user will not wait: the process exits at once, with the
 * shell's status for that signal (130 for SIGINT, 143 for SIGTERM).
 */
export function shutdownSignal(): ShutdownSignal {
  let resolve!: (signal: NodeJS.Signals) => void;
  const received = new Promise<NodeJS.Signals>((r) => (resolve = r));
  let caught = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (caught) process.exit(128 + (constants.signals[signal] ?? 0));
    caught = true;
    resolve(signal);
  };
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
