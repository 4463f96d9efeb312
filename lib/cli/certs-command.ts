import type { Command } from 'commander';
import type { GeneratedOrg } from '../certs/generate-org.js';
import { orgCaFiles, peerFiles } from '../certs/layout.js';
import { UsageError } from './cli-error.js';
import type { CliIo } from './cli-io.js';
import { writeLine } from './cli-io.js';
import { parseInteger, parseList } from './parse.js';
import { COMMANDS } from './command-table.js';

interface CertsFlags {
  readonly out: string;
  readonly peers: number;
  readonly mspid: string;
  readonly org: string;
  readonly hosts?: string[];
  readonly validityDays: number;
  readonly json?: boolean;
}

/** `rxgossip certs`: cryptogen-style material for one org (generateOrg). */
export function certsCommand(cmd: Command, io: CliIo): Command {
  return cmd
    .description(COMMANDS.certs.description)
    .requiredOption('--out <dir>', 'where to write (created if missing; files of the same names are overwritten)')
    .requiredOption('--peers <n>', 'number of peers (peer0 .. peer<n-1>)', parseInteger(1, 1_000))
    .option('--mspid <id>', 'MSP id of every identity', 'Org1MSP')
    .option('--org <domain>', "the org's domain; peers are <name>.<domain>", 'org1.example.com')
    .option('--hosts <a,b>', 'extra SANs for every TLS certificate (127.0.0.1, localhost, the peer names are always in)', parseList)
    .option('--validity-days <days>', 'lifetime of every certificate', parseInteger(1, 36_500), 3_650)
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Example:
  rxgossip certs --out crypto --peers 2 --hosts gossip.internal,10.0.0.5
  rxgossip peer --peer-dir crypto/peer0 --listen 127.0.0.1:7051`,
    )
    .action(async (flags: CertsFlags) => {
      // Loaded here: the X.509 toolkit it needs is slow to load, and only this command uses it.
      const { generateOrg } = await import('../certs/generate-org.js');
      let org: GeneratedOrg;
      try {
        org = await generateOrg({
          outDir: flags.out,
          peers: flags.peers,
          mspid: flags.mspid,
          org: flags.org,
          validityDays: flags.validityDays,
          ...(flags.hosts ? { hosts: flags.hosts } : {}),
        });
      } catch (err: unknown) {
        if (err instanceof TypeError || err instanceof RangeError) throw new UsageError(err.message, { cause: err });
        throw err;
      }
      if (flags.json) {
        const { caCertPem: _ca, tlsCaCertPem: _tlsCa, ...rest } = org;
        writeLine(io.stdout, JSON.stringify(rest));
        return;
      }
      for (const line of formatCertsReport(org)) writeLine(io.stdout, line);
    });
}

/** What `certs` prints: every file written, relative to the output folder. */
export function formatCertsReport(org: GeneratedOrg): string[] {
  const ca = orgCaFiles(org.org);
  const rows: [string, string][] = [
    [ca.caCert, 'signing CA certificate (the MSP root of trust)'],
    [ca.caKey, 'signing CA key'],
    [ca.tlsCaCert, 'TLS CA certificate'],
    [ca.tlsCaKey, 'TLS CA key'],
    ['manifest.json', 'every peer with its PKI-ID and TLS certificate hash'],
    ...org.peers.map((p): [string, string] => [`${p.name}/`, `${p.name}.${org.org}, pki-id ${p.pkiIdHex}`]),
  ];
  const width = Math.max(...rows.map(([file]) => file.length)) + 2;
  const lines = [`wrote ${org.mspid} (${org.org}) to ${org.outDir}`, ...rows.map(([file, what]) => `  ${file.padEnd(width)}${what}`)];
  const first = org.peers[0];
  if (first) {
    const f = peerFiles(`${first.name}.${org.org}`, org.org);
    const generic = (path: string): string => path.replace(`${first.name}.${org.org}`, '<name>');
    lines.push(
      'each peer folder holds:',
      `  ${[f.signCert, f.signKey, f.caCert, f.tlsCaCertInMsp, f.mspConfig].map(generic).join(', ')}`,
      `  ${[f.tlsCert, f.tlsKey, f.tlsCaCert].join(', ')}`,
      `  ${[f.identity, f.mspid, f.pkiId, f.tlsCertHash].join(', ')}`,
    );
  }
  return lines;
}
