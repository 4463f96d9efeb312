import * as grpc from '@grpc/grpc-js';
import { ConnectError } from '../errors.js';
import { gossipServiceDefinition, type ServerGossipStream } from '../wire/service.js';

/** Server settings, from CommOptions. */
export interface GossipServerOptions {
  readonly credentials: grpc.ServerCredentials;
  readonly maxRecvMsgSize: number;
  readonly maxSendMsgSize: number;
}

/**
 * The serving side: the gossip.Gossip service on our own grpc-js Server, or added to a Server the
 * caller owns (Fabric's NewCommInstance). `close()` shuts down an own server, or only removes the
 * service from an attached one.
 */
export class GossipServer {
  private constructor(
    readonly server: grpc.Server,
    private readonly owned: boolean,
    /** The port bound (own server) or undefined when attached. */
    readonly port: number | undefined,
  ) {}

  /** Starts a server of our own on host:port (port 0 picks a free one). */
  static async listen(
    address: string,
    options: GossipServerOptions,
    onStream: (call: ServerGossipStream) => void,
  ): Promise<GossipServer> {
    const server = new grpc.Server({
      'grpc.max_receive_message_length': options.maxRecvMsgSize,
      'grpc.max_send_message_length': options.maxSendMsgSize,
      // Fabric's clients ping every 60 s even without calls: allow it.
      'grpc.keepalive_permit_without_calls': 1,
    });
    GossipServer.addService(server, onStream);
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(address, options.credentials, (err, bound) => {
        if (err) reject(new ConnectError(`cannot listen on ${address}: ${err.message}`, { cause: err }));
        else resolve(bound);
      });
    });
    return new GossipServer(server, true, port);
  }

  /** Adds the gossip service to a server the caller owns and starts. */
  static attach(server: grpc.Server, onStream: (call: ServerGossipStream) => void): GossipServer {
    GossipServer.addService(server, onStream);
    return new GossipServer(server, false, undefined);
  }

  private static addService(server: grpc.Server, onStream: (call: ServerGossipStream) => void): void {
    server.addService(gossipServiceDefinition, {
      GossipStream: onStream,
      Ping: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<Record<string, never>>) =>
        callback(null, {}),
    });
  }

  /** Stops serving. Streams still open are cancelled after `graceMs`. */
  async close(graceMs: number): Promise<void> {
    if (!this.owned) {
      this.server.removeService(gossipServiceDefinition);
      return;
    }
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      force.unref();
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }
}
