// What the example apps share: where their peer directories come from, waiting for a condition,
// and turning main()'s verdict into an exit code after cleaning up.

const FIXTURES = new URL('../spec/fixtures/fabric-vectors/', import.meta.url);

/** The peer directories to use: a comma-separated `--dirs` list, or the four test fixtures. */
export function peerDirs(dirsArg: string | undefined): string[] {
  return dirsArg?.split(',') ?? [0, 1, 2, 3].map((i) => new URL(`peer${i}`, FIXTURES).pathname);
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 20 ms: true once it holds, false if it does not within `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** Runs `main`, always runs `cleanup`, and exits 0 only if main resolved true. */
export function run(main: () => Promise<boolean>, cleanup: () => Promise<unknown>): void {
  main()
    .then(
      (ok) => (process.exitCode = ok ? 0 : 1),
      (err: unknown) => {
        console.error(err);
        process.exitCode = 1;
      },
    )
    .finally(cleanup);
}
