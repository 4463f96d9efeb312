import { readFile, stat } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import type { Command } from 'commander';
import { createComm, type Comm } from '../comm/comm.js';
import type { Logger } from '../comm/logger.js';
import type { CommOptions } from '../comm/options.js';
import { PeerDirError } from '../errors.js';
import { MspManager } from '../identity/msp.js';
import { loadPeerDir, type LocalPeer } from '../identity/peer-dir.js';
import { decodeCertificateBundle } from '../identity/pem.js';
import { UsageError } from './cli-error.js';
import { collect, parseInteger } from './parse.js';
import { ReportingIdentityMapper } from './reporting-identity-mapper.js';

/** Options shared by every command that connects to a peer. */
export interface ConnectFlags {
  readonly peerDir: string;
  /** Extra TLS CA certificate files (PEM) to trust, besides the peer directory's. */
  readonly tlsCa?: string[];
  /** Name to check the remote's TLS certificate against instead of the dialed host. */
  readonly serverName?: string;
  /** Budget of each step (dial, Ping, handshake), in ms. */
  readonly timeout?: number;
  /** Plaintext gRPC instead of mutual TLS. */
  readonly plaintext?: boolean;
}

/** Adds --peer-dir, --tls-ca, --server-name, --timeout and --plaintext to a command. */
export function addConnectOptions(cmd: Command, defaultTimeoutMs?: number): Command {
  cmd
    .requiredOption('--peer-dir <dir>', 'Fabric-style peer directory (msp/, tls/, mspid.txt) to connect as')
    .option('--tls-ca <file>', 'also trust this TLS CA certificate (PEM); repeatable', collect)
    .option('--server-name <name>', "check the remote's TLS certificate against this name instead of the host");
  if (defaultTimeoutMs !== undefined) {
    cmd.option('--timeout <ms>', 'time allowed for each step: dial, Ping, handshake', parseInteger(1, 600_000), defaultTimeoutMs);
  } else {
    cmd.option('--timeout <ms>', 'time allowed for each step: dial, Ping, handshake', parseInteger(1, 600_000));
  }
  return cmd.option('--plaintext', 'gRPC without TLS (the remote must run without TLS too)');
}

/** Loads the peer directory; its problems are bad input (exit 2), reported as PeerDirError says. */
export async function loadPeer(dir: string): Promise<LocalPeer> {
  const kind = await stat(dir).then(
    (s) => (s.isDirectory() ? 'directory' : 'not a directory'),
    () => 'no such directory',
  );
  if (kind !== 'directory') throw new UsageError(`--peer-dir ${dir}: ${kind}`);
  try {
    return await loadPeerDir(dir);
  } catch (err: unknown) {
    if (err instanceof PeerDirError) throw new UsageError(`--peer-dir: ${err.message}`, { cause: err });
    throw err;
  }
}

/** Reads --tls-ca files: every PEM certificate in each. */
export async function readTlsCas(files: readonly string[] = []): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const file of files) {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err: unknown) {
      const code = (err as { code?: string }).code;
      throw new UsageError(`--tls-ca ${file}: ${code === 'ENOENT' ? 'missing' : String(err)}`, { cause: err });
    }
    try {
      out.push(...decodeCertificateBundle(bytes).map((b) => b.pem));
    } catch (err: unknown) {
      throw new UsageError(`--tls-ca ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  return out;
}

/** Every comm timeout that bounds one step, set to `ms`. */
export function stepTimeouts(ms: number | undefined): Partial<CommOptions> {
  if (ms === undefined) return {};
  return { dialTimeoutMs: ms, pingTimeoutMs: ms, connTimeoutMs: ms, handshakeTimeoutMs: ms, closeTimeoutMs: Math.min(ms, 2_000) };
}

/** A comm that only dials, and the mapper that judged each remote. */
export interface DialOnlyComm {
  readonly comm: Comm;
  readonly mapper: ReportingIdentityMapper;
  readonly self: LocalPeer;
  /** Stops the comm. Idempotent. */
  stop(): Promise<void>;
}

/**
 * A comm for probe and watch: it dials out and never listens. createComm needs `listen` or a
 * `server`, so it gets a grpc-js Server that is never bound: no port is opened, and nothing but
 * this process could ever reach it. Remotes are judged by a lenient ReportingIdentityMapper
 * (strict with `strict`).
 */
export async function createDialOnlyComm(
  flags: ConnectFlags,
  logger: Logger,
  options: { strict?: boolean } = {},
): Promise<DialOnlyComm> {
  const self = await loadPeer(flags.peerDir);
  const extraRoots = await readTlsCas(flags.tlsCa);
  const mapper = new ReportingIdentityMapper(new MspManager([self.msp]), self, options);
  const unbound = new grpc.Server();
  const comm = await createComm({
    self,
    server: unbound,
    mapper,
    tls: flags.plaintext !== true,
    tlsRootCerts: [...self.tlsRootCerts, ...extraRoots],
    ...(flags.serverName ? { tlsServerNameOverride: flags.serverName } : {}),
    ...stepTimeouts(flags.timeout),
    logger,
  });
  let stopping: Promise<void> | undefined;
  return {
    comm,
    mapper,
    self,
    stop: () =>
      (stopping ??= comm.stop().then(() => {
        unbound.forceShutdown();
      })),
  };
}
