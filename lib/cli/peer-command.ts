import { createInterface, type Interface } from 'node:readline';
import { Option, type Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import type { Subscription } from 'rxjs';
import { createComm, type Comm } from '../comm/comm.js';
import type { CommMetrics } from '../comm/metrics.js';
import { ConnectError, UiAssetsMissingError } from '../errors.js';
import { createPeerTopology, type PeerTopology } from '../ui/peer-topology.js';
import { serveUi, type UiServer } from '../ui/ui-server.js';
import { loadPeer, readTlsCas } from './cli-comm.js';
import { CliError } from './cli-error.js';
import type { CliIo } from './cli-io.js';
import { writeLine } from './cli-io.js';
import { createCliLogger, logLevelOption } from './cli-logger.js';
import { formatHostPort, parseHostPort, parseHostPortList, parseInteger, type HostPort } from './parse.js';
import type { PeerEvent, PeerService } from './peer-service.js';
import { DEFAULT_PEER_MODE, PEER_MODES, describeMode } from './peer-modes.js';
import { shutdownSignal } from './shutdown-signal.js';
import { COMMANDS } from './command-table.js';

interface PeerFlags {
  readonly peerDir: string;
  readonly listen: HostPort;
  /** false with --no-external-endpoint. */
  readonly externalEndpoint?: HostPort | false;
  readonly bootstrap?: HostPort[];
  readonly metrics?: HostPort;
  readonly ui?: HostPort;
  readonly mode: string;
  readonly aliveInterval?: number;
  readonly aliveExpiration?: number;
  readonly reconnectInterval?: number;
  readonly publishCertPeriod?: number;
  readonly tlsCa?: string[];
  readonly plaintext?: boolean;
  readonly json?: boolean;
  readonly logLevel: LevelWithSilent;
}

/** `rxgossip peer`: run a peer until SIGINT/SIGTERM. */
export function peerCommand(cmd: Command, io: CliIo): Command {
  return cmd
    .description(COMMANDS.peer.description)
    .requiredOption('--peer-dir <dir>', 'Fabric-style peer directory (msp/, tls/, mspid.txt)')
    .requiredOption('--listen <host:port>', 'where to serve gossip (port 0 picks a free one)', (v: string) => parseHostPort(v, true))
    .option('--external-endpoint <host:port>', 'the endpoint other peers reach us at (default: the listen address)', (v: string) => parseHostPort(v))
    .option(
      '--no-external-endpoint',
      'announce no external endpoint, as Fabric with an empty peer.gossip.externalEndpoint: only peers of our org reach us (at the listen address)',
    )
    .option('--bootstrap <host:port,...>', 'peers to connect to at start; repeatable', parseHostPortList)
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://<host:port>/metrics', (v: string) => parseHostPort(v, true))
    .option('--ui <host:port>', 'serve a live page of the membership, connections and dissemination at http://<host:port>/ (read-only; use 127.0.0.1 unless the network is trusted)', (v: string) => parseHostPort(v, true))
    .addOption(new Option('--mode <mode>', describeMode()).choices(Object.keys(PEER_MODES)).default(DEFAULT_PEER_MODE))
    .option('--alive-interval <ms>', 'gossip mode: how often alive messages go out (Fabric aliveTimeInterval, default 5000)', parseInteger(10))
    .option('--alive-expiration <ms>', 'gossip mode: silence after which a member is dead (Fabric aliveExpirationTimeout, default 25000)', parseInteger(10))
    .option('--reconnect-interval <ms>', 'gossip mode: how often dead members are asked again (Fabric reconnectInterval, default: the alive expiration)', parseInteger(10))
    .option('--publish-cert-period <ms>', 'gossip mode: how long our alive messages embed our identity after start (Fabric publishCertPeriod, default 10000)', parseInteger(0))
    .option('--tls-ca <file>', 'also trust this TLS CA certificate (PEM); repeatable', (v: string, p: string[] = []) => [...p, v])
    .option('--plaintext', 'gRPC without TLS')
    .option('--json', 'print events as JSON lines')
    .addOption(logLevelOption('info'))
    .addHelpText(
      'after',
      `
Example:
  rxgossip peer --peer-dir crypto/peer0 --listen 127.0.0.1:7051 --metrics 127.0.0.1:9443
  rxgossip peer --peer-dir crypto/peer1 --listen 127.0.0.1:7052 --bootstrap 127.0.0.1:7051 --ui 127.0.0.1:8080
  # join a Fabric peer of the same org (core.yaml defaults: no external endpoint)
  rxgossip peer --mode gossip --peer-dir crypto/peer2 --listen 127.0.0.1:7053 --bootstrap 127.0.0.1:7051 --no-external-endpoint`,
    )
    .action(async (flags: PeerFlags) => runPeer(flags, io));
}

async function runPeer(flags: PeerFlags, io: CliIo): Promise<void> {
  const logger = createCliLogger({ level: flags.logLevel });
  const print = (event: PeerEvent): void => writeLine(io.stdout, flags.json ? JSON.stringify(event) : formatPeerEvent(event));
  const self = await loadPeer(flags.peerDir);
  const extraRoots = await readTlsCas(flags.tlsCa);
  const signal = shutdownSignal();
  const metrics = flags.metrics ? await loadMetrics() : undefined;
  const promMetrics = metrics ? new metrics.PromCommMetrics({ registry: new metrics.Registry() }) : undefined;

  let comm: Comm | undefined;
  let service: PeerService | undefined;
  let metricsServer: { url: string; close(): Promise<void> } | undefined;
  let topology: PeerTopology | undefined;
  let uiServer: UiServer | undefined;
  let lines: Interface | undefined;
  let events: Subscription | undefined;
  try {
    try {
      comm = await createComm({
        self,
        listen: formatHostPort(flags.listen),
        ...(flags.externalEndpoint ? { externalEndpoint: formatHostPort(flags.externalEndpoint) } : {}),
        ...(flags.externalEndpoint === false ? { externalEndpoint: '' } : {}),
        tls: flags.plaintext !== true,
        tlsRootCerts: [...self.tlsRootCerts, ...extraRoots],
        logger,
        ...(promMetrics ? { metrics: promMetrics as CommMetrics } : {}),
      });
    } catch (err: unknown) {
      if (err instanceof ConnectError) throw new CliError(`--listen: ${err.message}`, undefined, { cause: err });
      throw err;
    }
    if (!flags.externalEndpoint && /^(0\.0\.0\.0|::|\[::\])$/.test(flags.listen.host)) {
      logger.warn({ endpoint: comm.endpoint }, 'listening on a wildcard address: pass --external-endpoint so peers can reach us');
    }
    if (metrics && promMetrics && flags.metrics) {
      try {
        metricsServer = await metrics.serveMetrics(promMetrics.registry, flags.metrics);
      } catch (err: unknown) {
        throw new CliError(`--metrics: cannot listen on ${formatHostPort(flags.metrics)}: ${String(err)}`, undefined, { cause: err });
      }
    }
    service = PEER_MODES[flags.mode]!.create({
      comm,
      self,
      bootstrap: (flags.bootstrap ?? []).map(formatHostPort),
      tls: flags.plaintext !== true,
      logger,
      ...(flags.aliveInterval !== undefined ? { aliveIntervalMs: flags.aliveInterval } : {}),
      ...(flags.aliveExpiration !== undefined ? { aliveExpirationMs: flags.aliveExpiration } : {}),
      ...(flags.reconnectInterval !== undefined ? { reconnectIntervalMs: flags.reconnectInterval } : {}),
      ...(flags.publishCertPeriod !== undefined ? { publishCertPeriodMs: flags.publishCertPeriod } : {}),
    });
    if (flags.ui) {
      topology = service.topology?.() ?? createPeerTopology(comm);
      try {
        uiServer = await serveUi(topology, { host: flags.ui.host, port: flags.ui.port, logger });
      } catch (err: unknown) {
        if (err instanceof UiAssetsMissingError) throw new CliError(`--ui: ${err.message}`, undefined, { cause: err });
        throw new CliError(`--ui: cannot listen on ${formatHostPort(flags.ui)}: ${String(err)}`, undefined, { cause: err });
      }
    }
    events = service.events$.subscribe(print);
    print({
      event: 'listening',
      // With --no-external-endpoint, where our org reaches us.
      endpoint: comm.endpoint || (comm.internalEndpoint ?? ''),
      pkiId: self.pkiId.toString('hex'),
      mspid: self.mspid,
      mode: flags.mode,
      ...(metricsServer ? { metrics: metricsServer.url } : {}),
      ...(uiServer ? { ui: uiServer.url } : {}),
    });
    const running = service;
    void running.start().catch((err: unknown) => logger.error({ err: String(err) }, 'start failed'));
    lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
    lines.on('line', (line) => {
      if (line.trim() === '') return;
      running.publish(Buffer.from(line, 'utf8')).catch((err: unknown) => logger.warn({ err: String(err) }, 'publish failed'));
    });
    const received = await signal.received;
    print({ event: 'stopped', signal: received });
  } finally {
    signal.dispose();
    lines?.close();
    // A paused stdin pipe would still hold the process open.
    (io.stdin as { destroy?: () => void }).destroy?.();
    await uiServer?.close();
    topology?.stop();
    await service?.stop();
    await comm?.stop();
    events?.unsubscribe();
    await metricsServer?.close();
  }
}

interface MetricsModule {
  readonly PromCommMetrics: typeof import('../metrics/prom-comm-metrics.js').PromCommMetrics;
  readonly serveMetrics: typeof import('../metrics/serve-metrics.js').serveMetrics;
  readonly Registry: typeof import('prom-client').Registry;
}

/** prom-client is optional: loaded only for --metrics. */
async function loadMetrics(): Promise<MetricsModule> {
  try {
    const [adapter, prom] = await Promise.all([import('../metrics/index.js'), import('prom-client')]);
    return { PromCommMetrics: adapter.PromCommMetrics, serveMetrics: adapter.serveMetrics, Registry: prom.Registry };
  } catch (err: unknown) {
    throw new CliError(`--metrics needs the prom-client package (npm install prom-client): ${String(err)}`, undefined, {
      cause: err,
    });
  }
}

/** The text form of a peer event. */
export function formatPeerEvent(e: PeerEvent): string {
  const short = (pkiId: string): string => pkiId.slice(0, 8);
  switch (e.event) {
    case 'listening':
      return `listening on ${e.endpoint} as ${e.pkiId} (${e.mspid}), mode ${e.mode}${e.metrics ? `, metrics at ${e.metrics}` : ''}${e.ui ? `, live page at ${e.ui}` : ''}`;
    case 'connected':
      return `connected to ${e.endpoint} (${short(e.pkiId)})`;
    case 'unreachable':
      return `cannot connect to ${e.endpoint}: ${e.error}`;
    case 'membership':
      return `membership: ${e.change} ${short(e.pkiId)} ${e.endpoint}${e.reason ? ` (${e.reason})` : ''}`;
    case 'data':
      return `data seq=${e.seqNum} from ${short(e.from.pkiId)} (${e.from.endpoint}${e.via ? `, by ${e.via}` : ''}): ${e.text !== undefined ? JSON.stringify(e.text) : `0x${e.hex}`}`;
    case 'message':
      return `message ${e.line}`;
    case 'presumed-dead':
      return `presumed dead: ${short(e.pkiId)}`;
    case 'published':
      return `published seq=${e.seqNum}${e.peers !== undefined ? ` to ${e.peers} peer(s)` : ''}${e.alive !== undefined ? ` (${e.alive} alive member(s))` : ''}`;
    case 'stopped':
      return `stopped (${e.signal})`;
  }
}
