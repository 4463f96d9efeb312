import type { Command } from 'commander';
import type { CliIo } from './cli-io.js';

/** Adds a command's arguments, options and action to `cmd`. */
export type CommandBuilder = (cmd: Command, io: CliIo) => Command;

interface CommandEntry {
  readonly description: string;
  /** What follows its name in `rxgossip --help` (commander's own term needs the loaded options). */
  readonly usage: string;
  /** Imports the command's module: only the command being run pays for grpc-js, rxjs and pino. */
  load(): Promise<CommandBuilder>;
  /** Whether it opens gRPC connections (grpc-js's own logging is then turned off). */
  readonly grpc: boolean;
}

/** The commands of `rxgossip`, loaded on demand. */
export const COMMANDS = {
  certs: {
    usage: '[options]',
    description: 'Generate Fabric crypto material for one org, as cryptogen does: CAs, peer directories, manifest.json',
    load: async () => (await import('./certs-command.js')).certsCommand,
    grpc: false,
  },
  peer: {
    usage: '[options]',
    description: 'Run a gossip peer: print what happens, publish each line typed on stdin; Ctrl-C (SIGINT) or SIGTERM stops it',
    load: async () => (await import('./peer-command.js')).peerCommand,
    grpc: true,
  },
  probe: {
    usage: '[options] <host:port>',
    description:
      "Ping a gossip endpoint (any Fabric peer's or rxgossip's) and print the round-trip time; with --handshake, also authenticate it and print who it is",
    load: async () => (await import('./probe-command.js')).probeCommand,
    grpc: true,
  },
  watch: {
    usage: '[options] <host:port>',
    description:
      'Connect to a gossip endpoint and print every message it sends us, decoded (JSON lines, or one readable line each on a TTY)',
    load: async () => (await import('./watch-command.js')).watchCommand,
    grpc: true,
  },
} as const satisfies Record<string, CommandEntry>;

export type CommandName = keyof typeof COMMANDS;

/** The command `args` run (`rxgossip help NAME` asks for NAME's), if any. */
export function commandOf(args: readonly string[]): CommandName | undefined {
  const positional = args.filter((a) => !a.startsWith('-'));
  const name = positional[0] === 'help' ? positional[1] : positional[0];
  return name !== undefined && Object.hasOwn(COMMANDS, name) ? (name as CommandName) : undefined;
}
