// Cleanup that runs however the lab ends: normally (the caller's finally), on Ctrl-C, SIGTERM or
// SIGHUP (then the process exits with 128 + the signal number), and on any other exit of the
// process (an 'exit' handler, where only synchronous work is possible, hence a sync cleanup).
import { constants } from 'node:os';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Installs `cleanup` (synchronous, idempotent) for signals and exit; returns the uninstaller. */
export function trapCleanup(cleanup: () => void, onSignal: (signal: string) => void = () => undefined): () => void {
  const handlers = SIGNALS.map((signal) => {
    const handler = (): void => {
      onSignal(signal);
      cleanup();
      process.exit(128 + constants.signals[signal]);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  process.on('exit', cleanup);
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
    process.off('exit', cleanup);
  };
}
