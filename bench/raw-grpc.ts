/**
 * The baseline: a plain grpc-js bidi stream on the same gRPC path, with the same mutual-TLS
 * certificates, carrying the same protobuf Envelope bytes. No rxgossip code: no handshake, no
 * decoding, no buffering beyond grpc-js's own, write()/'drain' backpressure.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { gossip } from './rxgossip.js';
import type { gossip as pb } from '../lib/proto/messages.js';

const identity = (bytes: Buffer): Buffer => bytes;

/** The gossip.Gossip/GossipStream method with passthrough (raw bytes) serializers. */
const rawServiceDefinition = {
  GossipStream: {
    path: '/gossip.Gossip/GossipStream',
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
  // gossip.Empty encodes to no bytes either way.
  Ping: {
    path: '/gossip.Gossip/Ping',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
} satisfies grpc.ServiceDefinition;

interface RawClient extends grpc.Client {
  GossipStream(): grpc.ClientDuplexStream<Buffer, Buffer>;
  Ping(request: Buffer, callback: grpc.requestCallback<Buffer>): grpc.ClientUnaryCall;
}

const RawClientConstructor = grpc.makeGenericClientConstructor(rawServiceDefinition, 'Gossip') as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => RawClient;

/** A Fabric-style peer directory's TLS material, read straight from the files. */
export interface TlsFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
}

export async function readTlsFiles(peerDir: string): Promise<TlsFiles> {
  const [cert, key, ca] = await Promise.all(
    ['server.crt', 'server.key', 'ca.crt'].map((f) => readFile(join(peerDir, 'tls', f))),
  );
  return { cert: cert!, key: key!, ca: ca! };
}

export type RawServerStream = grpc.ServerDuplexStream<Buffer, Buffer>;
export type RawClientStream = grpc.ClientDuplexStream<Buffer, Buffer>;

/** A grpc-js server requiring a client certificate from the same TLS CA. */
export async function startRawServer(
  tls: TlsFiles,
  onStream: (call: RawServerStream) => void,
): Promise<{ endpoint: string; close(): void }> {
  const server = new grpc.Server();
  const empty = Buffer.alloc(0);
  server.addService(rawServiceDefinition, {
    GossipStream: onStream,
    Ping: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, empty),
  });
  const credentials = grpc.ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return { endpoint: `127.0.0.1:${port}`, close: () => server.forceShutdown() };
}

export function rawClientCredentials(tls: TlsFiles): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(tls.ca, tls.key, tls.cert);
}

/**
 * Dials `endpoint` with our certificate and opens one GossipStream on a connection of its own;
 * with `ping`, a Ping first, as Fabric's dialer (and rxgossip's) does on every new connection.
 */
export async function openRawStream(
  endpoint: string,
  tls: TlsFiles,
  credentials?: grpc.ChannelCredentials,
  ping = false,
): Promise<{ stream: RawClientStream; close(): void }> {
  const client = new RawClientConstructor(endpoint, credentials ?? rawClientCredentials(tls), {
    // A connection of its own, as rxgossip's dialer does (grpc-js would otherwise share one).
    'grpc.use_local_subchannel_pool': 1,
  });
  try {
    await new Promise<void>((resolve, reject) =>
      client.waitForReady(Date.now() + 5_000, (err) => (err ? reject(err) : resolve())),
    );
    if (ping) {
      await new Promise<void>((resolve, reject) => client.Ping(Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
    }
  } catch (err: unknown) {
    client.close();
    throw err;
  }
  const stream = client.GossipStream();
  stream.on('error', () => undefined);
  return {
    stream,
    close: () => {
      stream.cancel();
      client.close();
    },
  };
}

/** An unsigned Envelope around a GossipMessage, encoded as an application using protobufjs would. */
export function encodeEnvelope(message: pb.IGossipMessage): Buffer {
  const payload = gossip.GossipMessage.encode(message).finish();
  const envelope = gossip.Envelope.encode({ payload, signature: new Uint8Array(0) }).finish();
  return Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength);
}
