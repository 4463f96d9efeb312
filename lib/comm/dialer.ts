import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { ConnectError, TimeoutError } from '../errors.js';
import { parseHostPort, type HostPort } from './host-port.js';
import { GossipClientConstructor, type ClientGossipStream, type GossipClient } from '../wire/service.js';

/** Dialing settings, from CommOptions. */
export interface DialerOptions {
  readonly credentials: grpc.ChannelCredentials;
  readonly dialTimeoutMs: number;
  readonly pingTimeoutMs: number;
  readonly maxRecvMsgSize: number;
  readonly maxSendMsgSize: number;
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
  readonly tlsServerNameOverride?: string;
}

/** An open channel to a remote peer. `close()` releases it (and its socket). */
export interface Dialed {
  readonly client: GossipClient;
  openStream(): ClientGossipStream;
  close(): void;
}

/**
 * The client side (Fabric's `createConnection`): a channel of its own per connection, ready
 * within the dial timeout, a Ping within its deadline, then GossipStream.
 */
export class Dialer {
  private readonly clients = new Set<GossipClient>();

  constructor(private readonly options: DialerOptions) {}

  /** Dials `endpoint` and checks it answers Ping. The caller owns the result and must close it. */
  async dial(endpoint: string): Promise<Dialed> {
    await this.reachable(endpoint);
    const client = new GossipClientConstructor(endpoint, this.options.credentials, this.channelOptions());
    this.clients.add(client);
    const close = (): void => {
      if (this.clients.delete(client)) client.close();
    };
    try {
      await this.waitForReady(client, endpoint);
      await this.ping(client, endpoint);
    } catch (err: unknown) {
      close();
      throw err;
    }
    return { client, openStream: () => client.GossipStream(), close };
  }

  /** Dials, pings and closes: the round-trip time of the Ping in ms (Fabric's Probe). */
  async probe(endpoint: string): Promise<number> {
    const dialed = await this.dial(endpoint);
    try {
      const start = process.hrtime.bigint();
      await this.ping(dialed.client, endpoint);
      return Number(process.hrtime.bigint() - start) / 1e6;
    } finally {
      dialed.close();
    }
  }

  /** Closes every channel still open. */
  closeAll(): void {
    for (const client of this.clients) client.close();
    this.clients.clear();
  }

  private channelOptions(): grpc.ChannelOptions {
    const o = this.options;
    return {
      // A channel per connection, never shared: closing one must not disturb another, and a
      // connection to a restarted peer must not reuse a dead socket.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': o.maxRecvMsgSize,
      'grpc.max_send_message_length': o.maxSendMsgSize,
      'grpc.keepalive_time_ms': o.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': o.keepaliveTimeoutMs,
      'grpc.keepalive_permit_without_calls': 1,
      // Gossip connections are long-lived; grpc-js must not idle them away.
      'grpc.client_idle_timeout_ms': 2 ** 31 - 1,
      'grpc.enable_retries': 0,
      ...(o.tlsServerNameOverride ? { 'grpc.ssl_target_name_override': o.tlsServerNameOverride } : {}),
    };
  }

  /**
   * A plain TCP connect first. grpc-js (1.14) keeps reconnecting a closed channel's subchannel
   * after a failed connect, and once the peer is back that connection stays open with no owner:
   * a peer that restarts would collect one orphan per failed dial. Failing here, before any
   * channel exists, avoids it, and a dead peer is reported at once instead of at the deadline.
   */
  private reachable(endpoint: string): Promise<void> {
    let target: HostPort;
    try {
      target = parseHostPort(endpoint);
    } catch {
      return Promise.resolve(); // not host:port (a grpc-js target URI): let grpc-js resolve it
    }
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: target.host, port: target.port });
      const timer = setTimeout(() => done(new Error(`no TCP connection within ${this.options.dialTimeoutMs} ms`)), this.options.dialTimeoutMs);
      timer.unref();
      const done = (err?: Error): void => {
        clearTimeout(timer);
        socket.removeAllListeners();
        socket.on('error', () => undefined);
        socket.destroy();
        if (err) reject(new ConnectError(`could not connect to ${endpoint}: ${err.message}`, { cause: err }));
        else resolve();
      };
      socket.once('connect', () => done());
      socket.once('error', (err) => done(err));
    });
  }

  private waitForReady(client: GossipClient, endpoint: string): Promise<void> {
    return new Promise((resolve, reject) => {
      client.waitForReady(Date.now() + this.options.dialTimeoutMs, (err) => {
        if (!err) {
          resolve();
          return;
        }
        reject(new ConnectError(`could not connect to ${endpoint} within ${this.options.dialTimeoutMs} ms: ${err.message}`, { cause: err }));
      });
    });
  }

  private ping(client: GossipClient, endpoint: string): Promise<void> {
    return new Promise((resolve, reject) => {
      client.Ping({}, new grpc.Metadata(), { deadline: Date.now() + this.options.pingTimeoutMs }, (err) => {
        if (!err) {
          resolve();
        } else if (err.code === grpc.status.DEADLINE_EXCEEDED) {
          reject(new TimeoutError(`Ping to ${endpoint} got no answer within ${this.options.pingTimeoutMs} ms`));
        } else {
          reject(new ConnectError(`Ping to ${endpoint} failed: ${err.details || err.message}`, { cause: err }));
        }
      });
    });
  }
}
