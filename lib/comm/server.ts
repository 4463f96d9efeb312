import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { ConnectError } from '../errors.js';
import { parseHostPort } from './host-port.js';
import { gossipServiceDefinition, type ServerGossipStream } from '../wire/service.js';

/** Server settings, from CommOptions. */
export interface GossipServerOptions {
  readonly credentials: grpc.ServerCredentials;
  readonly maxRecvMsgSize: number;
  readonly maxSendMsgSize: number;
  /** Whether grpc-js's channelz tracks this server (CommOptions.channelz); default false. */
  readonly channelz?: boolean;
}

/**
 * The serving side: the gossip.Gossip service on our own grpc-js Server, or added to a Server the
 * caller owns (Fabric's NewCommInstance). `close()` shuts down an own server, or only removes the
 * service from an attached one.
 */
export class GossipServer {
  private constructor(
    readonly server: grpc.Server,
    /** Our own listening socket and the connections it accepted; absent when attached. */
    private readonly own: { listener: net.Server; sockets: Set<net.Socket>; injector: grpc.ConnectionInjector } | undefined,
    /** The port bound (own server) or undefined when attached. */
    readonly port: number | undefined,
  ) {}

  /**
   * Starts a server of our own on host:port (port 0 picks a free one). We accept the TCP
   * connections ourselves and hand them to grpc-js, so that stop() can destroy every socket:
   * grpc-js only ends them, and a peer that froze (never reads, never sends its FIN) would
   * otherwise keep a socket, and the process, alive.
   */
  static async listen(
    address: string,
    options: GossipServerOptions,
    onStream: (call: ServerGossipStream) => void,
  ): Promise<GossipServer> {
    const { host, port } = parseHostPort(address);
    const server = new grpc.Server({
      'grpc.max_receive_message_length': options.maxRecvMsgSize,
      'grpc.max_send_message_length': options.maxSendMsgSize,
      // Fabric's clients ping every 60 s even without calls: allow it.
      'grpc.keepalive_permit_without_calls': 1,
      ...(options.channelz ? {} : { 'grpc.enable_channelz': 0 }),
    });
    GossipServer.addService(server, onStream);
    const injector = server.createConnectionInjector(options.credentials);
    const sockets = new Set<net.Socket>();
    const listener = net.createServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      injector.injectConnection(socket);
    });
    const bound = await new Promise<number>((resolve, reject) => {
      listener.once('error', (err) => reject(new ConnectError(`cannot listen on ${address}: ${err.message}`, { cause: err })));
      listener.listen(port, host, () => resolve((listener.address() as net.AddressInfo).port));
    });
    return new GossipServer(server, { listener, sockets, injector }, bound);
  }

  /** Adds the gossip service to a server the caller owns and starts. */
  static attach(server: grpc.Server, onStream: (call: ServerGossipStream) => void): GossipServer {
    GossipServer.addService(server, onStream);
    return new GossipServer(server, undefined, undefined);
  }

  private static addService(server: grpc.Server, onStream: (call: ServerGossipStream) => void): void {
    server.addService(gossipServiceDefinition, {
      GossipStream: onStream,
      Ping: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<Record<string, never>>) =>
        callback(null, {}),
    });
  }

  /** Stops serving. Streams still open are cancelled after `graceMs`; every socket is destroyed. */
  async close(graceMs: number): Promise<void> {
    const own = this.own;
    if (!own) {
      this.server.removeService(gossipServiceDefinition);
      return;
    }
    const listening = new Promise<void>((resolve) => own.listener.close(() => resolve()));
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
    own.injector.destroy();
    for (const socket of own.sockets) socket.destroy();
    own.sockets.clear();
    await listening;
  }
}
