// The rxgossip executable: runs the CLI on process.argv and exits with its status.
// bin/rxgossip.js runs the compiled copy (dist/cli/main.js); `node --import tsx lib/cli/main.ts` runs this source.
import { processIo } from './cli-io.js';
import { runCli } from './program.js';

/** How long the process may linger after the command is done before it is made to exit. */
const EXIT_GRACE_MS = 3_000;

quietOnClosedOutput();
const status = await runCli(process.argv.slice(2), processIo(), { quietGrpc: true });
process.exitCode = status;
// Everything is closed by now and the process exits on its own. If some handle is still open, do
// not hang: say what it is and exit anyway. unref'd, so it never delays a clean exit.
setTimeout(() => {
  process.stderr.write(`rxgossip: forcing exit; still open: ${process.getActiveResourcesInfo().join(', ')}\n`);
  process.exit(status);
}, EXIT_GRACE_MS).unref();

/**
 * A reader that stops reading (`rxgossip watch | head -3`) closes the pipe: the next write fails
 * with EPIPE. That is the reader's choice, not an error: exit at once, quietly, as Unix tools do.
 * Any other error on the output streams is reported.
 */
function quietOnClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}

