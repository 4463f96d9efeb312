import { Option, type Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import type { Subscription } from 'rxjs';
import { addConnectOptions, createDialOnlyComm, type ConnectFlags } from './cli-comm.js';
import { CliError } from './cli-error.js';
import type { CliIo } from './cli-io.js';
import { writeLine } from './cli-io.js';
import { createCliLogger, logLevelOption } from './cli-logger.js';
import { describeIdentity } from './describe-identity.js';
import { explainFailure } from './explain-failure.js';
import { formatMessageJson, formatMessageText, type BytesEncoding } from './message-format.js';
import { openConnection, type OpenedConnection } from './open-connection.js';
import { formatHostPort, parseHostPort, parseInteger, parseSeconds, type HostPort } from './parse.js';
import { shutdownSignal } from './shutdown-signal.js';
import { COMMANDS } from './command-table.js';

interface WatchFlags extends ConnectFlags {
  readonly json?: boolean;
  readonly text?: boolean;
  readonly bytes: BytesEncoding;
  readonly count?: number;
  readonly duration?: number;
  readonly strict?: boolean;
  readonly logLevel: LevelWithSilent;
}

type End = { readonly why: 'count' | 'duration' | 'signal' } | { readonly why: 'closed' };

/** `rxgossip watch HOST:PORT`: connect and print every message the remote sends. */
export function watchCommand(cmd: Command, io: CliIo): Command {
  cmd
    .description(COMMANDS.watch.description)
    .argument('<host:port>', "the peer's gossip endpoint", (v: string) => parseHostPort(v))
    .option('--json', 'JSON lines (the default when stdout is not a terminal)')
    .option('--text', 'one readable line per message (the default on a terminal)')
    .addOption(new Option('--bytes <encoding>', 'how bytes fields are printed in JSON').choices(['hex', 'base64']).default('hex'))
    .option('--count <n>', 'stop after n messages', parseInteger(1))
    .option('--duration <seconds>', 'stop after watching this long', parseSeconds)
    .option('--strict', "refuse a remote whose identity does not validate against the peer directory's MSP");
  addConnectOptions(cmd, 3_000)
    .addOption(logLevelOption('error'))
    .addHelpText(
      'after',
      `
It authenticates the remote, then keeps a gossip connection open and prints what arrives on it.
A Fabric peer sends little to a connection that is not in its membership view; run
\`rxgossip peer\` to take part in gossip.
Exit status: 0 stopped by Ctrl-C, --count or --duration; 1 unreachable, refused, or closed by the remote; 2 bad input.
Example:
  rxgossip watch 127.0.0.1:7051 --peer-dir crypto/peer1 --count 10`,
    )
    .action(async (target: HostPort, flags: WatchFlags) => runWatch(target, flags, io));
  return cmd;
}

async function runWatch(target: HostPort, flags: WatchFlags, io: CliIo): Promise<void> {
  const logger = createCliLogger({ level: flags.logLevel });
  const endpoint = formatHostPort(target);
  const asJson = flags.json === true || (flags.text !== true && io.stdout.isTTY !== true);
  const dialer = await createDialOnlyComm(flags, logger, { strict: flags.strict === true });
  const { comm } = dialer;
  const signal = shutdownSignal();
  const subscriptions: Subscription[] = [];
  let timer: NodeJS.Timeout | undefined;
  let finish!: (end: End) => void;
  const ended = new Promise<End>((resolve) => (finish = resolve));
  let received = 0;
  try {
    subscriptions.push(
      comm.accept().subscribe((message) => {
        if (flags.count !== undefined && received >= flags.count) return;
        received++;
        writeLine(io.stdout, asJson ? formatMessageJson(message, flags.bytes) : formatMessageText(message));
        if (flags.count !== undefined && received >= flags.count) finish({ why: 'count' });
      }),
    );
    void signal.received.then(() => finish({ why: 'signal' }));

    const opening = openConnection(comm, endpoint);
    opening.catch(() => undefined);
    const first = await Promise.race([opening, ended]);
    if ('why' in first) return;
    const opened: OpenedConnection = first;
    writeLine(io.stderr, watchingLine(endpoint, opened, dialer.mapper.verdictOf(opened.info.pkiId)?.trusted !== false));
    // Counted from here: the time spent connecting is bounded by --timeout, not by --duration.
    if (flags.duration !== undefined) timer = setTimeout(() => finish({ why: 'duration' }), flags.duration * 1_000);
    subscriptions.push(
      comm.queueDepth$({ endpoint, pkiId: opened.info.pkiId }).subscribe({ complete: () => finish({ why: 'closed' }) }),
    );
    const end = await ended;
    if (end.why === 'closed') {
      throw new CliError(`connection to ${endpoint} closed by the remote after ${received} message(s)`);
    }
  } catch (err: unknown) {
    throw await explainFailure(err, target, flags.plaintext !== true, flags.timeout);
  } finally {
    clearTimeout(timer);
    for (const s of subscriptions) s.unsubscribe();
    signal.dispose();
    await dialer.stop();
  }
}

function watchingLine(endpoint: string, opened: OpenedConnection, trusted: boolean): string {
  const id = describeIdentity(opened.info.identity);
  const cn = /CN=([^,]+)/.exec(id.subject)?.[1] ?? id.subject;
  return `watching ${endpoint}: ${cn} (${id.mspid}), pki-id ${id.pkiId}${trusted ? '' : ', NOT trusted by our MSP'}; Ctrl-C to stop`;
}
