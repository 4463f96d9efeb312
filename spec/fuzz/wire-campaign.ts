// The wire fuzz campaign: a live rxgossip server (fixture peer0, with membership, push and pull
// running on it, so fuzzed messages reach the pipelines through the real comm) and a client
// process (wire-attacker.ts) writing many cases per authenticated stream. Passes when the
// attacker's every probe was answered, a good peer (peer3) still exchanges with the server every
// 2 s and at the end, and no unhandled rejection, uncaught exception or RxJS unhandled error
// happened in the server's process. Used by `npm run fuzz -- --wire` and spec/fuzz/wire.fuzz.spec.ts.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { config as rxConfig } from 'rxjs';
import { createMembership, createPull, createPush, MessageStore, type Comm } from '../../lib/index.js';
import { UnexpectedErrors } from '../failure/unexpected.js';
import { first, fixturePeer, peerOf, startPeer } from '../helpers/peers.js';
import type { WireReport, WireTally } from './wire-attacker.js';

export interface WireCampaignOptions {
  readonly cases: number;
  readonly seed: number;
  /** Cases per probe. Default 50. */
  readonly batch?: number;
  readonly log?: (line: string) => void;
}

export interface WireCampaignResult {
  readonly tally?: WireTally;
  readonly casesPerSecond: number;
  readonly goodExchanges: number;
  readonly serverStats: ReturnType<Comm['stats']>;
  readonly failures: string[];
  readonly summary: string;
}

export async function runWireCampaign(options: WireCampaignOptions): Promise<WireCampaignResult> {
  const log = options.log ?? (() => undefined);
  const unexpected = new UnexpectedErrors();
  const rxErrors: unknown[] = [];
  const previousRxHandler = rxConfig.onUnhandledError;
  rxConfig.onUnhandledError = (err: unknown) => void rxErrors.push(err);
  unexpected.install();
  const self = await fixturePeer('peer0');
  const [server, good] = await Promise.all([startPeer('peer0', { connTimeoutMs: 1_000 }), startPeer('peer3')]);
  const membership = createMembership(server, { self, aliveIntervalMs: 1_000, aliveExpirationMs: 5_000 });
  const store = new MessageStore({ capacity: 2_000 });
  const push = createPush(server, membership, { store });
  const pull = createPull(server, membership, { store, pullIntervalMs: 1_000 });
  // Probes (from the attacker) and the good peer's data messages get an answer.
  const answering = server.accept((m) => m.message.content === 'dataMsg').subscribe((m) => {
    const data = Buffer.from(m.message.dataMsg?.payload?.data ?? []).toString();
    if (data === 'probe' || data === 'good') void m.respond({ nonce: m.message.nonce, empty: {} }).catch(() => undefined);
  });
  let goodNonce = 1_000_000_000;
  let goodExchanges = 0;
  const failures: string[] = [];
  const goodExchange = async (): Promise<void> => {
    const nonce = goodNonce++;
    const answer = first(good.accept((m) => m.message.content === 'empty' && Number(m.message.nonce) === nonce), () => true, 10_000);
    good.send({ nonce, dataMsg: { payload: { seqNum: nonce, data: Buffer.from('good') } } }, peerOf(server));
    await answer;
    goodExchanges++;
  };

  const attacker = fork(join(import.meta.dirname, 'wire-attacker.ts'), [server.endpoint, String(options.seed), String(options.cases), String(options.batch ?? 50)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let tally: WireTally | undefined;
  const finished = new Promise<void>((resolve) => {
    attacker.on('message', (r: WireReport) => {
      tally = r.tally;
      if (r.type === 'error') failures.push(`attacker: ${r.error}`);
      if (r.type === 'progress') {
        const s = server.stats();
        log(
          `sent ${r.tally.sent} cases ${Math.round(r.tally.sent / (r.tally.elapsedMs / 1000))}/s, ${r.tally.batches} probes answered, ${r.tally.streams} streams ` +
            `(${r.tally.streamsEnded} ended by the server) | server received ${s.received}, connections ${s.connections}, good exchanges ${goodExchanges}`,
        );
      }
    });
    attacker.once('exit', () => resolve());
  });
  const checker = setInterval(() => {
    void goodExchange().catch((err: unknown) => failures.push(`the good peer got no answer: ${String(err)}`));
  }, 2_000);
  try {
    await finished;
    if (!tally || tally.sent < options.cases) failures.push(`the attacker stopped after ${tally?.sent ?? 0} of ${options.cases} cases`);
    await goodExchange().catch((err: unknown) => failures.push(`the good peer got no answer at the end: ${String(err)}`));
  } finally {
    clearInterval(checker);
    attacker.kill('SIGKILL');
    answering.unsubscribe();
    pull.stop();
    push.stop();
    membership.stop();
    await Promise.all([server.stop(), good.stop()]);
    unexpected.uninstall();
    rxConfig.onUnhandledError = previousRxHandler;
  }
  for (const e of unexpected.describe()) failures.push(e);
  for (const e of rxErrors) failures.push(`RxJS unhandled error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  const serverStats = server.stats();
  const casesPerSecond = tally ? tally.sent / (tally.elapsedMs / 1000) : 0;
  const summary =
    `${failures.length === 0 ? 'PASS' : 'FAIL'} fuzz wire: ${tally?.sent ?? 0} cases in ${((tally?.elapsedMs ?? 0) / 1000).toFixed(1)} s ` +
    `(${Math.round(casesPerSecond)} cases/s) over ${tally?.streams ?? 0} authenticated streams (${tally?.breaking ?? 0} undecodable cases ended one each; ` +
    `${tally?.skipped ?? 0} more undecodable ones generated and not sent, ` +
    `${tally?.streamsEnded ?? 0} ended by the server); ${tally?.batches ?? 0} probes answered (slowest ${Math.round(tally?.maxProbeMs ?? 0)} ms); ` +
    `${goodExchanges} good-peer exchanges; server received ${serverStats.received}, push received ${push.stats().received}, ` +
    `membership received ${membership.stats().received} (invalid ${membership.stats().invalid}), pull hellos ${pull.stats().hellos}; seed ${options.seed}` +
    (failures.length ? `\n${failures.join('\n')}` : '');
  return { ...(tally ? { tally } : {}), casesPerSecond, goodExchanges, serverStats, failures, summary };
}
