// The child side of a bench Worker (support.ts): requests over IPC, each answered with its result
// or its error, and an exit as soon as the parent goes away.

/** One command from the parent. */
export interface WorkerRequestIn {
  id: number;
  cmd: string;
  args: Record<string, unknown>;
}

/** Answers every request from the parent with `handle`; exits when the IPC channel closes. */
export function serveRequests(handle: (req: WorkerRequestIn) => Promise<unknown>): void {
  process.on('message', (raw: unknown) => {
    const req = raw as WorkerRequestIn;
    handle(req).then(
      (result) => process.send?.({ id: req.id, ok: true, result }),
      (err: unknown) =>
        process.send?.({ id: req.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
  // The parent went away (crashed, killed): nobody will ever stop us, so stop now.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGINT', () => undefined); // Ctrl-C reaches the whole group; the parent decides.
}
