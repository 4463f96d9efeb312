import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { certsCommand } from './certs-command.js';
import { CliError, ExitCode } from './cli-error.js';
import { processIo, writeLine, type CliIo } from './cli-io.js';
import { peerCommand } from './peer-command.js';
import { probeCommand } from './probe-command.js';
import { watchCommand } from './watch-command.js';

/** The `rxgossip` command line: certs, peer, probe, watch. */
export function buildProgram(io: CliIo): Command {
  const program = new Command('rxgossip')
    .description("Hyperledger Fabric gossip from Node.js: generate crypto material, run a peer, probe or watch any Fabric peer's gossip endpoint")
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Exit status: 0 success, 1 the operation failed (unreachable, refused, timed out), 2 bad input.
Output goes to stdout; errors, status lines and logs go to stderr.`,
    );
  certsCommand(program.command('certs'), io);
  peerCommand(program.command('peer'), io);
  probeCommand(program.command('probe'), io);
  watchCommand(program.command('watch'), io);
  return program;
}

/**
 * Runs the CLI on `args` (without node and the script) and returns the exit status. Errors are
 * printed as one line on stderr: `rxgossip <command>: <message>`.
 */
export async function runCli(args: readonly string[], io: CliIo = processIo()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...args], { from: 'user' });
    return ExitCode.Ok;
  } catch (err: unknown) {
    if (err instanceof CommanderError) {
      // Help and version end with exit code 0; every parse error is bad input.
      return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    const command = args.find((a) => !a.startsWith('-'));
    const prefix = command ? `rxgossip ${command}` : 'rxgossip';
    if (err instanceof CliError) {
      writeLine(io.stderr, `${prefix}: ${err.message}`);
      return err.exitCode;
    }
    writeLine(io.stderr, `${prefix}: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return ExitCode.Failure;
  }
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
