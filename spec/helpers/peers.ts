// Test peers from the Fabric vectors (spec/fixtures), and comm instances on 127.0.0.1 port 0.
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { firstValueFrom, filter, take, timeout, toArray, type Observable } from 'rxjs';
import { createComm, loadPeerDir, type Comm, type CommOptions, type LocalPeer } from '../../lib/index.js';
import { GossipClientConstructor, type GossipClient } from '../../lib/wire/service.js';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'fabric-vectors');

const cache = new Map<string, Promise<LocalPeer>>();

/** A fixture peer directory, loaded once per process: 'peer0'..'peer3', 'rogue/peer0'. */
export function fixturePeer(name: string): Promise<LocalPeer> {
  let peer = cache.get(name);
  if (!peer) cache.set(name, (peer = loadPeerDir(join(FIXTURES, name))));
  return peer;
}

/** Short timeouts so failure tests finish fast. */
export const FAST = {
  dialTimeoutMs: 1_000,
  connTimeoutMs: 500,
  pingTimeoutMs: 500,
  handshakeTimeoutMs: 2_000,
  closeTimeoutMs: 500,
} satisfies Partial<CommOptions>;

/** A comm for a fixture peer on 127.0.0.1:0, trusting the org1 MSP. */
export async function startPeer(name: string, options: Partial<CommOptions> = {}): Promise<Comm> {
  const self = await fixturePeer(name);
  const org1 = await fixturePeer('peer0');
  return createComm({ self, listen: '127.0.0.1:0', msps: [org1.msp], tlsRootCerts: org1.tlsRootCerts, ...FAST, ...options });
}

/** The RemotePeer of a comm. */
export function peerOf(comm: Comm): { endpoint: string; pkiId: Buffer } {
  return { endpoint: comm.endpoint, pkiId: comm.getPKIid() };
}

/** The first `count` values of a hot Observable, or a timeout error after `ms`. */
export function collect<T>(source: Observable<T>, count: number, ms = 5_000): Promise<T[]> {
  return firstValueFrom(source.pipe(take(count), toArray(), timeout(ms)));
}

/** The first value matching `predicate`, or a timeout error after `ms`. */
export function first<T>(source: Observable<T>, predicate: (value: T) => boolean = () => true, ms = 5_000): Promise<T> {
  return firstValueFrom(source.pipe(filter(predicate), take(1), timeout(ms)));
}

/** A raw grpc-js client (no rxgossip code in the call path) with a fixture peer's TLS pair. */
export async function rawClient(endpoint: string, name: string | undefined): Promise<GossipClient> {
  const org1 = await fixturePeer('peer0');
  const ca = Buffer.concat(org1.tlsRootCerts);
  let creds: grpc.ChannelCredentials;
  if (name) {
    const p = await fixturePeer(name);
    creds = grpc.credentials.createSsl(ca, p.tls.key, p.tls.cert);
  } else {
    creds = grpc.credentials.createSsl(ca);
  }
  return new GossipClientConstructor(endpoint, creds, { 'grpc.use_local_subchannel_pool': 1 });
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` until true, or throws after `ms`. */
export async function eventually(condition: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
