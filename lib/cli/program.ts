import { readFileSync } from 'node:fs';
import { Command, CommanderError, Help } from 'commander';
import { CliError, ExitCode } from './cli-error.js';
import { processIo, writeLine, type CliIo } from './cli-io.js';
import { COMMANDS, commandOf, type CommandName } from './command-table.js';

/** How runCli sets up the process around the command. */
export interface CliOptions {
  /** Turn grpc-js's own logging off before a command that uses it (unless GRPC_VERBOSITY/GRPC_TRACE is set). */
  readonly quietGrpc?: boolean;
}

/**
 * The `rxgossip` command line: certs, peer, probe, watch. Only the command `args` run is loaded
 * in full; the others are listed by name and description (`--version` and `--help` load none).
 */
export async function buildProgram(io: CliIo, args: readonly string[] = [], options: CliOptions = {}): Promise<Command> {
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
  // Commands not loaded have no options yet: their help line comes from the table.
  const help = new Help();
  program.configureHelp({
    subcommandTerm: (cmd) =>
      Object.hasOwn(COMMANDS, cmd.name()) ? `${cmd.name()} ${COMMANDS[cmd.name() as CommandName].usage}` : help.subcommandTerm(cmd),
  });
  const wanted = commandOf(args);
  for (const name of Object.keys(COMMANDS) as CommandName[]) {
    const entry = COMMANDS[name];
    const cmd = program.command(name);
    if (name !== wanted) {
      cmd.description(entry.description);
      continue;
    }
    if (entry.grpc && options.quietGrpc) await quietGrpc();
    (await entry.load())(cmd, io);
  }
  return program;
}

// grpc-js prints its own errors to stderr; ours already say what went wrong, in one line.
// GRPC_VERBOSITY / GRPC_TRACE still turn its logging on for debugging.
async function quietGrpc(): Promise<void> {
  if (process.env.GRPC_VERBOSITY !== undefined || process.env.GRPC_TRACE !== undefined) return;
  const grpc = await import('@grpc/grpc-js');
  grpc.setLogVerbosity(grpc.logVerbosity.NONE);
}

/**
 * Runs the CLI on `args` (without node and the script) and returns the exit status. Errors are
 * printed as one line on stderr: `rxgossip <command>: <message>`.
 */
export async function runCli(args: readonly string[], io: CliIo = processIo(), options: CliOptions = {}): Promise<number> {
  try {
    const program = await buildProgram(io, args, options);
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
