import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { ConnectError, TimeoutError } from '../errors.js';
import { DialCredentials, describeTlsFailure, type TlsDialSettings } from './dial-credentials.js';
import { GossipClientConstructor, type ClientGossipStream, type GossipClient } from '../wire/service.js';

/** Dialing settings, from CommOptions. */
export interface DialerOptions {
  /** TLS client settings; absent for plaintext. */
  readonly tls: TlsDialSettings | undefined;
  readonly dialTimeoutMs: number;
  readonly pingTimeoutMs: number;
  readonly maxRecvMsgSize: number;
  readonly maxSendMsgSize: number;
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
  /** Receive window granted to the server, per stream and per connection (bytes). */
  readonly flowControlWindow: number;
  /** Whether grpc-js's channelz tracks our channels (CommOptions.channelz); default false. */
  readonly channelz?: boolean;
}

/** An open channel to a remote peer. `close()` releases it (and its socket). */
export interface Dialed {
  readonly client: GossipClient;
  /** What the channel's TLS handshakes saw (a server's alert, for one). */
  readonly credentials: DialCredentials;
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
    const { host, port } = hostPortOf(endpoint);
    const credentials = new DialCredentials(host, port, this.options.tls);
    const client = new GossipClientConstructor(channelTarget(endpoint, host, port), credentials, this.channelOptions());
    this.clients.add(client);
    const close = (): void => {
      if (this.clients.delete(client)) client.close();
    };
    try {
      await this.ready(client, endpoint, credentials);
      await this.ping(client, endpoint, credentials);
    } catch (err: unknown) {
      close();
      throw err;
    }
    return { client, credentials, openStream: () => client.GossipStream(), close };
  }

  /** Dials, pings and closes: the round-trip time of the Ping in ms (Fabric's Probe). */
  async probe(endpoint: string): Promise<number> {
    const dialed = await this.dial(endpoint);
    try {
      const start = process.hrtime.bigint();
      await this.ping(dialed.client, endpoint, dialed.credentials);
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
      'grpc-node.flow_control_window': o.flowControlWindow,
      ...(o.channelz ? {} : { 'grpc.enable_channelz': 0 }),
    };
  }

  /**
   * Waits until the channel is connected. Fails at once when grpc-js gives up on a connection
   * attempt (TRANSIENT_FAILURE: refused, unreachable, TLS refused), with the reason it saw,
   * rather than retrying until the dial timeout: a dead peer is reported at once, as Fabric does.
   */
  private ready(client: GossipClient, endpoint: string, credentials: DialCredentials): Promise<void> {
    const channel = client.getChannel();
    const deadline = Date.now() + this.options.dialTimeoutMs;
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const state = channel.getConnectivityState(true);
        if (state === grpc.connectivityState.READY) {
          resolve();
        } else if (state === grpc.connectivityState.TRANSIENT_FAILURE || state === grpc.connectivityState.SHUTDOWN) {
          this.lastError(client, credentials).then((reason) =>
            reject(new ConnectError(`could not connect to ${endpoint}: ${reason}`, { cause: credentials.failure })),
          );
        } else {
          channel.watchConnectivityState(state, deadline, (err) => {
            if (!err) {
              check();
              return;
            }
            const seen = credentials.failure ? `: ${describeTlsFailure(credentials.failure)}` : '';
            reject(new ConnectError(`could not connect to ${endpoint} within ${this.options.dialTimeoutMs} ms${seen}`, { cause: err }));
          });
        }
      };
      check();
    });
  }

  /**
   * Why the channel failed: the TLS failure our credentials saw, or else the error grpc-js kept
   * (a call on a failed channel fails at once with it: "connect ECONNREFUSED ...").
   */
  private lastError(client: GossipClient, credentials: DialCredentials): Promise<string> {
    if (credentials.failure) return Promise.resolve(describeTlsFailure(credentials.failure));
    if (credentials.handshaken) return credentials.diagnose(this.options.dialTimeoutMs);
    return new Promise((resolve) => {
      client.Ping({}, new grpc.Metadata(), { deadline: Date.now() + this.options.pingTimeoutMs }, (err) => {
        const details = err?.details ?? 'connection failed';
        resolve(details.replace(/^No connection established\. Last error: (Error: )?/, '').replace(/\.? *Resolution note:.*$/s, ''));
      });
    });
  }

  private ping(client: GossipClient, endpoint: string, credentials: DialCredentials): Promise<void> {
    return new Promise((resolve, reject) => {
      client.Ping({}, new grpc.Metadata(), { deadline: Date.now() + this.options.pingTimeoutMs }, (err) => {
        if (!err) {
          resolve();
        } else if (err.code === grpc.status.DEADLINE_EXCEEDED) {
          reject(new TimeoutError(`Ping to ${endpoint} got no answer within ${this.options.pingTimeoutMs} ms`));
        } else {
          const details = err.details || err.message;
          if (err.code !== grpc.status.UNAVAILABLE) {
            reject(new ConnectError(`Ping to ${endpoint} failed: ${details}`, { cause: err }));
            return;
          }
          // The connection dropped under the call. A server that refused our client certificate
          // (TLS 1.3) does it this way, right after the handshake: say what it sent.
          void this.lastError(client, credentials).then((reason) =>
            reject(new ConnectError(`Ping to ${endpoint} failed: ${reason}`, { cause: credentials.failure ?? err })),
          );
        }
      });
    });
  }
}

/**
 * The grpc-js target for an endpoint: an IP address through grpc-js's IP resolver (ipv4:/ipv6:),
 * a host name as it is (DNS). grpc-js resolves a bare "127.0.0.1:7051" through its DNS resolver,
 * which sets up a c-ares channel per grpc-js channel, that is per connection here, only to find
 * that the host is already an address: a cost on every dial (and :authority is the same).
 */
export function channelTarget(endpoint: string, host: string, port: number): string {
  if (port === 0) return endpoint;
  switch (isIP(host)) {
    case 4:
      return `ipv4:${host}:${port}`;
    case 6:
      return `ipv6:[${host}]:${port}`;
    default:
      return endpoint;
  }
}

/** host and port of host:port (brackets of an IPv6 literal removed); port 0 when there is none. */
function hostPortOf(endpoint: string): { host: string; port: number } {
  const i = endpoint.lastIndexOf(':');
  const host = i < 0 ? endpoint : endpoint.slice(0, i);
  const port = i < 0 ? 0 : Number(endpoint.slice(i + 1)) || 0;
  return { host: host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host, port };
}
