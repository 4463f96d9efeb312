/**
 * rxgossip as the benchmarks load it: compiled (dist/, which `npm run bench` builds first), as
 * applications run it, not the TypeScript sources through tsx. tsx compiles with esbuild's
 * keepNames, which gives every named function a property array and a __name call when it is
 * created: measurable per connection and per message, while raw grpc-js, the baseline, is
 * compiled JavaScript. BENCH_SOURCE=lib measures the sources instead (no build needed).
 *
 * Types come from lib/, values from whichever tree is measured; every bench file takes its
 * rxgossip values from here, so classes are never mixed across the two trees.
 */
import type * as Index from '../lib/index.js';
import type * as Certs from '../lib/certs/index.js';
import type * as Handshake from '../lib/comm/handshake.js';
import type * as DerCertificate from '../lib/identity/der-certificate.js';
import type * as IdentityMapper from '../lib/identity/identity-mapper.js';
import type * as Msp from '../lib/identity/msp.js';
import type * as SerializedIdentity from '../lib/identity/serialized-identity.js';
import type * as Signer from '../lib/identity/signer.js';
import type * as Messages from '../lib/proto/messages.js';

/** Which tree is measured: 'dist' (default) or 'lib'. */
export const BENCH_SOURCE: 'dist' | 'lib' = process.env.BENCH_SOURCE === 'lib' ? 'lib' : 'dist';

async function load<T>(path: string): Promise<T> {
  const file = BENCH_SOURCE === 'lib' ? path.replace(/\.js$/, '.ts').replace('proto/messages.ts', 'proto/messages.js') : path;
  try {
    return (await import(new URL(`../${BENCH_SOURCE}/${file}`, import.meta.url).href)) as T;
  } catch (err: unknown) {
    if (BENCH_SOURCE === 'dist') {
      throw new Error(`bench: cannot load dist/${path}: run \`npm run build\` first (npm run bench does), or set BENCH_SOURCE=lib`, {
        cause: err,
      });
    }
    throw err;
  }
}

const [index, certs, handshake, der, mapper, msp, serialized, signer, messages] = await Promise.all([
  load<typeof Index>('index.js'),
  load<typeof Certs>('certs/index.js'),
  load<typeof Handshake>('comm/handshake.js'),
  load<typeof DerCertificate>('identity/der-certificate.js'),
  load<typeof IdentityMapper>('identity/identity-mapper.js'),
  load<typeof Msp>('identity/msp.js'),
  load<typeof SerializedIdentity>('identity/serialized-identity.js'),
  load<typeof Signer>('identity/signer.js'),
  load<typeof Messages>('proto/messages.js'),
]);

export const { createComm, createPush, createPull, createMembership, loadPeerDir, MessageStore, SignedMessage } = index;
export type SignedMessage = Index.SignedMessage;
export type MessageStore = Index.MessageStore;
export type { Comm, GossipMessageInit, Membership, Pull, Push, ReceivedMessage, RemotePeer } from '../lib/index.js';
export const { generateOrg } = certs;
export const { buildConnEstablish, certificateHash, checkConnEstablish, pemToDer } = handshake;
export const { jwkOf, readDerCertificate } = der;
export type { DerCertificate } from '../lib/identity/der-certificate.js';
export const { MspIdentityMapper } = mapper;
export type MspIdentityMapper = IdentityMapper.MspIdentityMapper;
export const { MspManager } = msp;
export const { pkiIdOf } = serialized;
export const { verifySignature } = signer;
export const { gossip } = messages;
