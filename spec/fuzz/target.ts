// A live rxgossip server to fuzz, a good rxgossip peer that checks it still serves after each
// batch, and the attacker: raw clients (grpc-js with no rxgossip code, and plain node:http2 for
// broken gRPC framing) in a child process of their own (spec/fuzz/attacker.ts), as a remote
// peer would be. Shared by spec/fuzz/server.fuzz.spec.ts and scripts/fuzz.ts.
import { fork, type ChildProcess } from 'node:child_process';
import * as http2 from 'node:http2';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Subscription } from 'rxjs';
import type { Comm, CommOptions } from '../../lib/index.js';
import type { Connection } from '../../lib/comm/connection.js';
import { http2StreamOf } from '../../lib/comm/frame-sink.js';
import type { GossipClient, ServerGossipStream } from '../../lib/wire/service.js';
import { craftConnEstablish } from '../helpers/craft.js';
import { first, fixturePeer, peerOf, rawClient, startPeer } from '../helpers/peers.js';
import { UnexpectedErrors } from '../failure/unexpected.js';
import type { FrameCase, FuzzCase, FuzzPeers, StreamCase } from './arbitraries.js';

/** How one case ended, seen from the client. */
export interface CaseOutcome {
  /** The server ended the stream itself (status received) rather than us cancelling it. */
  serverEnded: boolean;
  code?: number;
  attackerDied?: boolean;
}

export interface FuzzTargetOptions {
  /** Server options (the server is fixture peer0 with the FAST timeouts). */
  server?: Partial<CommOptions>;
  /** Longest a case waits for the server to end a stream before cancelling it. */
  waitMs?: number;
}

export class FuzzTarget {
  readonly unexpected = new UnexpectedErrors();
  readonly outcomes = new Map<string, number>();
  private nonce = 1;
  private nextId = 1;
  private readonly pending = new Map<number, (o: CaseOutcome) => void>();
  private readonly subs: Subscription[] = [];
  private stopped = false;
  private attackerExit: Promise<unknown>;

  private constructor(
    readonly server: Comm,
    readonly good: Comm,
    readonly peers: FuzzPeers,
    private readonly attacker: ChildProcess,
  ) {
    attacker.on('message', (m: { id: number; outcome: CaseOutcome }) => {
      this.pending.get(m.id)?.(m.outcome);
      this.pending.delete(m.id);
    });
    this.attackerExit = new Promise((resolve) => attacker.once('exit', resolve));
    void this.attackerExit.then(() => {
      for (const settle of this.pending.values()) settle({ serverEnded: false, attackerDied: true });
      this.pending.clear();
    });
  }

  static async start(options: FuzzTargetOptions = {}): Promise<FuzzTarget> {
    const [as, other, rogue] = await Promise.all([fixturePeer('peer1'), fixturePeer('peer2'), fixturePeer('rogue/peer0')]);
    const [server, good] = await Promise.all([startPeer('peer0', { connTimeoutMs: 300, ...options.server }), startPeer('peer3')]);
    const attacker = fork(join(import.meta.dirname, 'attacker.ts'), [server.endpoint, String(options.waitMs ?? 250)], {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      attacker.once('message', () => resolve());
      attacker.once('exit', (code) => reject(new Error(`fuzz attacker exited (${code}) before ready`)));
    });
    const target = new FuzzTarget(server, good, { as, other, rogue }, attacker);
    target.unexpected.install();
    // The server answers the good peer; whatever else it receives is consumed and ignored.
    target.subs.push(
      server.accept().subscribe((m) => {
        if (m.connectionInfo.pkiId.equals(good.getPKIid()) && m.message.content === 'dataMsg') {
          void m.respond({ nonce: m.message.nonce, empty: {} });
        }
      }),
    );
    return target;
  }

  /** Throws if an unhandled rejection or uncaught exception happened since the start. */
  checkUnexpected(): void {
    const seen = this.unexpected.describe();
    if (seen.length > 0) throw new Error(`unexpected errors:\n${seen.join('\n')}`);
  }

  /** The good peer sends to the server and gets its answer: the server still serves. */
  async goodExchange(ms = 5_000): Promise<void> {
    const nonce = this.nonce++;
    const answer = first(this.good.accept((m) => m.message.content === 'empty' && Number(m.message.nonce) === nonce), () => true, ms);
    this.good.send({ nonce, dataMsg: { payload: { seqNum: nonce } } }, peerOf(this.server));
    await answer;
  }

  /** Has the attacker process run one case against the server. */
  async run(c: FuzzCase): Promise<CaseOutcome> {
    const id = this.nextId++;
    const outcome = await new Promise<CaseOutcome>((resolve) => {
      this.pending.set(id, resolve);
      this.attacker.send({ id, c });
    });
    if (outcome.attackerDied) throw new Error('the fuzz attacker process died');
    const key = outcome.serverEnded ? `ended ${statusName(outcome.code)}` : 'cancelled by client';
    this.outcomes.set(key, (this.outcomes.get(key) ?? 0) + 1);
    return outcome;
  }

  /** Connections the server holds for the fuzzing client's identity. */
  fuzzConnections(): number {
    return this.server.connections().filter((c) => c.pkiId.equals(this.peers.as.pkiId)).length;
  }

  /**
   * For each connection the server holds for the fuzzing identity, whether the HTTP/2 stream
   * under it is still open at the transport (node:http2 saw neither its end nor a reset), or
   * undefined when that stream cannot be found.
   */
  fuzzStreamsOpen(): Array<boolean | undefined> {
    const store = (this.server as unknown as { store: { registered: readonly Connection[] } }).store;
    return store.registered
      .filter((c) => c.info?.pkiId.equals(this.peers.as.pkiId))
      .map((c) => {
        const call = (c as unknown as { stream?: ServerGossipStream }).stream;
        const h2 = call && http2StreamOf(call);
        return typeof h2?.closed === 'boolean' ? !h2.closed && h2.destroyed !== true : undefined;
      });
  }

  /** Ends the attacker process at once, as a remote peer's process dies: its OS closes its connections. */
  async killAttacker(): Promise<void> {
    this.attacker.kill('SIGKILL');
    await this.attackerExit;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const s of this.subs) s.unsubscribe();
    await Promise.all([this.server.stop(), this.good.stop()]);
    // A remote that never closes its end keeps a server socket open past stop() (see the report
    // of spec/failure/frozen-peer.spec.ts): the attacker goes away after the server stopped.
    this.attacker.kill('SIGKILL');
    await this.attackerExit;
    this.unexpected.uninstall();
  }
}

/** The raw clients, run inside the attacker process (spec/fuzz/attacker.ts). */
export class Attacker {
  private client: GossipClient | undefined;
  private session: http2.ClientHttp2Session | undefined;

  constructor(
    private readonly endpoint: string,
    private readonly as: Awaited<ReturnType<typeof fixturePeer>>,
    private readonly waitMs: number,
  ) {}

  run(c: FuzzCase): Promise<CaseOutcome> {
    return c.kind === 'stream' ? this.runStream(c) : this.runFrames(c);
  }

  private async grpcClient(): Promise<GossipClient> {
    this.client ??= await rawClient(this.endpoint, 'peer1');
    return this.client;
  }

  private async runStream(c: StreamCase): Promise<CaseOutcome> {
    const client = await this.grpcClient();
    const call = client.GossipStream();
    return new Promise<CaseOutcome>((resolve) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (outcome: CaseOutcome): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      call.on('data', () => undefined);
      call.on('error', (err: grpc.ServiceError) => finish({ serverEnded: err.code !== grpc.status.CANCELLED, code: err.code }));
      call.on('status', (s: grpc.StatusObject) => finish({ serverEnded: true, code: s.code }));
      if (c.handshake === 'valid') call.write(craftConnEstablish(this.as));
      for (const m of c.messages) call.write(m);
      if (c.ending === 'cancel') {
        call.cancel();
        finish({ serverEnded: false });
        return;
      }
      if (c.ending === 'half-close') call.end();
      timer = setTimeout(() => {
        call.cancel();
        finish({ serverEnded: false });
      }, this.waitMs);
    });
  }

  private async h2(): Promise<http2.ClientHttp2Session> {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const ca = Buffer.concat(this.as.tlsRootCerts);
    const session = http2.connect(`https://${this.endpoint}`, {
      ca,
      cert: this.as.tls.cert,
      key: this.as.tls.key,
      // The fixture TLS certificates name the loopback address.
      checkServerIdentity: () => undefined,
    });
    session.on('error', () => undefined);
    this.session = session;
    return session;
  }

  private async runFrames(c: FrameCase): Promise<CaseOutcome> {
    const session = await this.h2();
    return new Promise<CaseOutcome>((resolve) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      let code: number | undefined;
      const finish = (outcome: CaseOutcome): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      let req: http2.ClientHttp2Stream;
      try {
        req = session.request({
          ':method': 'POST',
          ':path': c.path,
          'content-type': 'application/grpc',
          te: 'trailers',
        });
      } catch {
        // The session went away (the server may close it): the next case opens a new one.
        this.session = undefined;
        finish({ serverEnded: true });
        return;
      }
      req.on('error', () => undefined);
      req.on('data', () => undefined);
      req.on('trailers', (t) => {
        code = Number(t['grpc-status']);
      });
      req.on('response', (h) => {
        if (h['grpc-status'] !== undefined) code = Number(h['grpc-status']);
      });
      req.on('close', () => finish({ serverEnded: code !== undefined, ...(code !== undefined ? { code } : {}) }));
      req.write(c.body);
      if (c.ending === 'cancel') {
        req.close(http2.constants.NGHTTP2_CANCEL);
        finish({ serverEnded: false });
        return;
      }
      if (c.ending === 'half-close') req.end();
      timer = setTimeout(() => {
        req.close(http2.constants.NGHTTP2_CANCEL);
        finish({ serverEnded: false });
      }, this.waitMs);
    });
  }

  close(): void {
    this.client?.close();
    this.session?.destroy();
  }
}

function statusName(code: number | undefined): string {
  if (code === undefined) return 'no status';
  return (grpc.status as unknown as Record<number, string>)[code] ?? String(code);
}

