import type { Command } from 'commander';
import type { ConnectionInfo } from '../comm/connection-info.js';
import { addConnectOptions, createDialOnlyComm, type ConnectFlags } from './cli-comm.js';
import type { CliIo } from './cli-io.js';
import { writeLine } from './cli-io.js';
import { createCliLogger, logLevelOption } from './cli-logger.js';
import { describeCertificate, describeIdentity, type CertificateDescription, type IdentityDescription } from './describe-identity.js';
import { explainFailure } from './explain-failure.js';
import { formatHostPort, parseHostPort, type HostPort } from './parse.js';
import type { TrustVerdict } from './reporting-identity-mapper.js';
import type { LevelWithSilent } from 'pino';
import { COMMANDS } from './command-table.js';

interface ProbeFlags extends ConnectFlags {
  readonly handshake?: boolean;
  readonly strict?: boolean;
  readonly json?: boolean;
  readonly logLevel: LevelWithSilent;
}

/** What `probe` found out. */
export interface ProbeReport {
  readonly endpoint: string;
  /** Round-trip time of the Ping, in ms. */
  readonly pingMs: number;
  readonly handshake?: {
    /** Time of the whole probe handshake (dial, Ping, ConnEstablish both ways), in ms. */
    readonly ms: number;
    readonly identity: IdentityDescription;
    readonly tlsCertificate?: CertificateDescription;
    readonly trusted: TrustVerdict;
  };
}

/** `rxgossip probe HOST:PORT`: Ping a gossip endpoint, optionally authenticate it. */
export function probeCommand(cmd: Command, io: CliIo): Command {
  cmd
    .description(COMMANDS.probe.description)
    .argument('<host:port>', "the peer's gossip endpoint", (v: string) => parseHostPort(v))
    .option('--handshake', 'also run a probe handshake and print the remote identity')
    .option('--strict', "fail unless the remote's identity validates against the peer directory's MSP")
    .option('--json', 'print one JSON object instead of text');
  addConnectOptions(cmd, 3_000)
    .addOption(logLevelOption('error'))
    .addHelpText(
      'after',
      `
Exit status: 0 reachable (and authenticated with --handshake), 1 unreachable or refused, 2 bad input.
Example:
  rxgossip probe 127.0.0.1:7051 --handshake --peer-dir crypto/peer1`,
    )
    .action(async (target: HostPort, flags: ProbeFlags) => {
      // Text: the ping line as soon as it is known, even if the handshake then fails.
      const onPing = (endpoint: string, pingMs: number): void => {
        if (!flags.json) writeLine(io.stdout, formatProbeReport({ endpoint, pingMs })[0]!);
      };
      const report = await runProbe(target, flags, onPing);
      if (flags.json) writeLine(io.stdout, JSON.stringify(report));
      else for (const line of formatProbeReport(report).slice(1)) writeLine(io.stdout, line);
    });
  return cmd;
}

async function runProbe(
  target: HostPort,
  flags: ProbeFlags,
  onPing: (endpoint: string, pingMs: number) => void,
): Promise<ProbeReport> {
  const logger = createCliLogger({ level: flags.logLevel });
  const dialer = await createDialOnlyComm(flags, logger, { strict: flags.strict === true });
  const endpoint = formatHostPort(target);
  try {
    const pingMs = await dialer.comm.probe({ endpoint });
    onPing(endpoint, pingMs);
    if (!flags.handshake) return { endpoint, pingMs };
    const start = process.hrtime.bigint();
    const info = await dialer.comm.handshake({ endpoint });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    return { endpoint, pingMs, handshake: describeRemote(info, ms, dialer.mapper.verdictOf(info.pkiId)) };
  } catch (err: unknown) {
    throw await explainFailure(err, target, flags.plaintext !== true, flags.timeout);
  } finally {
    await dialer.stop();
  }
}

function describeRemote(info: ConnectionInfo, ms: number, verdict: TrustVerdict | undefined): NonNullable<ProbeReport['handshake']> {
  return {
    ms,
    identity: describeIdentity(info.identity),
    ...(info.auth.tlsCertificate ? { tlsCertificate: describeCertificate(info.auth.tlsCertificate) } : {}),
    trusted: verdict ?? { trusted: true },
  };
}

/** The text form of a probe report. */
export function formatProbeReport(report: ProbeReport, now = new Date()): string[] {
  const lines = [`ping ${report.endpoint}: ok, ${report.pingMs.toFixed(2)} ms`];
  const hs = report.handshake;
  if (!hs) return lines;
  const id = hs.identity;
  const days = Math.floor((id.notAfter.getTime() - now.getTime()) / 86_400_000);
  lines.push(
    `handshake ${report.endpoint}: ok, ${hs.ms.toFixed(2)} ms`,
    `  pki-id   ${id.pkiId}`,
    `  msp-id   ${id.mspid}`,
    `  subject  ${id.subject}`,
    `  issuer   ${id.issuer}`,
    `  expires  ${id.notAfter.toISOString()} (${days >= 0 ? `in ${days} days` : `EXPIRED ${-days} days ago`})`,
    `  trusted  ${hs.trusted.trusted ? `yes, by MSP ${id.mspid}` : `NO: ${hs.trusted.reason ?? 'not validated'}`}`,
  );
  if (hs.tlsCertificate) {
    lines.push(`  tls      ${hs.tlsCertificate.subject} (sha256 ${hs.tlsCertificate.sha256})`);
  }
  return lines;
}
