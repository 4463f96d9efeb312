import * as grpc from '@grpc/grpc-js';

/**
 * The `gossip.Gossip` service as grpc-js sees it. Messages cross this boundary as raw bytes: the
 * connection decodes them itself, so that a payload that does not decode closes only that stream
 * with a typed error (grpc-js would end it with a generic INTERNAL status) and so that a received
 * envelope can be forwarded without being encoded again.
 */
const passThrough = (bytes: Buffer): Buffer => bytes;

/** gRPC path of the bidirectional gossip stream. */
export const GOSSIP_STREAM_PATH = '/gossip.Gossip/GossipStream';
/** gRPC path of the unary liveness check. */
export const PING_PATH = '/gossip.Gossip/Ping';

// gossip.Empty has no fields, so its encoding is zero bytes; anything received is ignored,
// as protobuf ignores unknown fields.
const EMPTY = Buffer.alloc(0);

export const gossipServiceDefinition = {
  GossipStream: {
    path: GOSSIP_STREAM_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: passThrough,
    requestDeserialize: passThrough,
    responseSerialize: passThrough,
    responseDeserialize: passThrough,
    originalName: 'gossipStream',
  },
  Ping: {
    path: PING_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: (): Buffer => EMPTY,
    requestDeserialize: (): Record<string, never> => ({}),
    responseSerialize: (): Buffer => EMPTY,
    responseDeserialize: (): Record<string, never> => ({}),
    originalName: 'ping',
  },
} satisfies grpc.ServiceDefinition;

/** A duplex call of GossipStream as seen by the dialing side. */
export type ClientGossipStream = grpc.ClientDuplexStream<Buffer, Buffer>;
/** A duplex call of GossipStream as seen by the serving side. */
export type ServerGossipStream = grpc.ServerDuplexStream<Buffer, Buffer>;

/** The grpc-js client class for the gossip service. */
export interface GossipClient extends grpc.Client {
  GossipStream(metadata?: grpc.Metadata, options?: grpc.CallOptions): ClientGossipStream;
  Ping(
    request: Record<string, never>,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null) => void,
  ): grpc.ClientUnaryCall;
}

export const GossipClientConstructor = grpc.makeGenericClientConstructor(
  gossipServiceDefinition,
  'Gossip',
) as unknown as new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => GossipClient;
