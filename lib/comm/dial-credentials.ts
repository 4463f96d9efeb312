import { isIP, type Socket } from 'node:net';
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';

/** How a dial authenticates the server it reaches (absent: plaintext). */
export interface TlsDialSettings {
  /** Our TLS pair as client certificate, and the CAs servers must chain to. */
  readonly secureContext: tls.SecureContext;
  /** Host name to check the server's certificate against instead of the dialed host. */
  readonly serverNameOverride?: string;
}

/** Builds the TLS settings of a dialer: our TLS pair as client certificate, servers checked against `roots`. */
export function tlsDialSettings(cert: Buffer, key: Buffer, roots: readonly Buffer[], serverNameOverride?: string): TlsDialSettings {
  const ca = roots.map((r) => r.toString());
  return { secureContext: tls.createSecureContext({ ca, cert, key }), ...(serverNameOverride ? { serverNameOverride } : {}) };
}

/**
 * Channel credentials of one dial (one grpc-js channel), doing the TLS client handshake itself
 * instead of grpc-js's, for three reasons:
 * - Once the channel is closed, its connector refuses to connect. grpc-js (1.14) keeps retrying
 *   the subchannel of a closed channel whose connect had failed, and once the peer is back that
 *   connection stays open with nobody owning it. Refusing in `waitForReady` means the retry never
 *   opens a socket, so no plain-TCP reachability check is needed (a Fabric peer logs each such
 *   TLS-less connection as a failed TLS handshake).
 * - The failure it saw is kept (`failure`): a TLS alert the server sent (e.g. it refused our
 *   client certificate) is reported as such, not as a timeout or a bad server certificate.
 * - SNI is only sent for host names. grpc-js sets the server name to the dialed host even when it
 *   is an IP address, which makes Node print DEP0123 into the user's process.
 */
export class DialCredentials extends grpc.ChannelCredentials {
  /** The last TLS or socket error seen on this channel's connections, if any. */
  failure: Error | undefined;
  /** Whether a TLS handshake of ours completed (the server may still have refused us after it). */
  handshaken = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly settings: TlsDialSettings | undefined,
  ) {
    super();
  }

  /**
   * Why a server that completed the TLS handshake then dropped us. With TLS 1.3 a server judges
   * our client certificate after our side of the handshake is done, and grpc-js's HTTP/2 session
   * hides the alert it sends; one more TLS connection that only reads shows it. Used on the
   * failure path only.
   */
  diagnose(timeoutMs: number): Promise<string> {
    const settings = this.settings;
    if (!settings) return Promise.resolve('the connection closed');
    return new Promise((resolve) => {
      const socket = tls.connect(this.options(settings, { port: this.port }));
      const timer = setTimeout(() => done('the server kept the connection open but did not answer'), timeoutMs);
      timer.unref();
      const done = (reason: string): void => {
        clearTimeout(timer);
        socket.removeAllListeners();
        socket.on('error', () => undefined);
        socket.destroy();
        resolve(reason);
      };
      socket.once('error', (err) => done(describeTlsFailure(err)));
      socket.once('data', () => done('the server accepted our TLS certificate, then closed the connection'));
      socket.once('close', () => done('the server closed the connection after the TLS handshake without an alert (it may have refused our client certificate)'));
    });
  }

  private options(settings: TlsDialSettings, target: { socket: Socket } | { port: number }): tls.ConnectionOptions {
    const name = settings.serverNameOverride ?? this.host;
    return {
      ...target,
      secureContext: settings.secureContext,
      ALPNProtocols: ['h2'],
      host: this.host,
      // SNI carries host names only: an IP address there is what makes Node print DEP0123.
      ...(isIP(name) === 0 ? { servername: name } : {}),
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(name, cert),
    };
  }

  _isSecure(): boolean {
    return this.settings !== undefined;
  }

  _equals(other: grpc.ChannelCredentials): boolean {
    return other === this;
  }

  _createSecureConnector(): DialConnector {
    return new DialConnector(this);
  }

  /** Performs the TLS client handshake over a connected TCP socket. */
  secure(socket: Socket): Promise<{ socket: Socket; secure: boolean }> {
    const settings = this.settings;
    if (!settings) return Promise.resolve({ socket, secure: false });
    return new Promise((resolve, reject) => {
      const secured = tls.connect(this.options(settings, { socket }));
      oneLeafCertificateObject(secured);
      const fail = (err: Error): void => {
        this.failure = err;
        reject(err);
      };
      const closedEarly = (): void => fail(this.failure ?? new Error('the server closed the connection during the TLS handshake'));
      secured.once('error', fail);
      secured.once('close', closedEarly);
      secured.once('secureConnect', () => {
        secured.removeListener('error', fail);
        secured.removeListener('close', closedEarly);
        if (!secured.authorized) {
          fail(new Error(`the server's TLS certificate is not trusted: ${secured.authorizationError?.message ?? 'not authorized'}`));
          secured.destroy();
          return;
        }
        this.handshaken = true;
        resolve({ socket: secured, secure: true });
      });
    });
  }
}

/**
 * Makes `socket.getPeerCertificate()` build the server's certificate as a JS object once, the
 * leaf alone, however it is asked.
 *
 * Why: once the TLS handshake is done, tls.connect asks for the *detailed* certificate (every
 * certificate of the chain and the CA found in our store, each turned into a JS object with its
 * names, extensions, key and three fingerprints), only to hand it to checkServerIdentity, ours,
 * which reads the leaf's names (tls.checkServerIdentity: subject and subjectaltname). That took
 * 0.84-0.97 ms per connection, and grpc-js then asks for the leaf again (0.1 ms): about a tenth
 * of a dialing process's CPU per connection in bench section 3, the largest single item. Chain
 * verification is OpenSSL's, before any of this, and unchanged. Nothing else reads this socket's
 * certificate: it is ours, handed to grpc-js, which keeps the leaf (`raw` for the TLS binding).
 */
function oneLeafCertificateObject(socket: tls.TLSSocket): void {
  const read = (): tls.PeerCertificate => tls.TLSSocket.prototype.getPeerCertificate.call(socket, false);
  let leaf: tls.PeerCertificate | undefined;
  socket.getPeerCertificate = ((): tls.PeerCertificate => {
    if (leaf !== undefined) return leaf;
    const cert = read();
    // Before the handshake, or without a certificate, Node returns an empty object: not kept.
    if (cert.raw !== undefined) leaf = cert;
    return cert;
  }) as tls.TLSSocket['getPeerCertificate'];
}

/** grpc-js's per-subchannel connector, refusing to connect once its channel let go of it. */
class DialConnector {
  private destroyed = false;
  private readonly none = grpc.credentials.createEmpty();

  constructor(private readonly credentials: DialCredentials) {}

  waitForReady(): Promise<void> {
    return this.destroyed ? Promise.reject(new Error('channel closed')) : Promise.resolve();
  }

  connect(socket: Socket): Promise<{ socket: Socket; secure: boolean }> {
    if (this.destroyed) {
      socket.destroy();
      return Promise.reject(new Error('channel closed'));
    }
    return this.credentials.secure(socket);
  }

  getCallCredentials(): grpc.CallCredentials {
    return this.none;
  }

  destroy(): void {
    this.destroyed = true;
  }
}

/**
 * A TLS failure in words an operator can act on. An alert names what the other side refused:
 * after our handshake completed, "unknown ca" or "bad certificate" mean the server did not accept
 * our client certificate; "certificate required" that it wanted one.
 */
export function describeTlsFailure(err: Error): string {
  const code = (err as { code?: unknown }).code;
  const reason = (err as { reason?: unknown }).reason;
  if (typeof code === 'string' && /^ERR_SSL_(TLSV1|TLSV13|SSLV3)_ALERT_/.test(code) && typeof reason === 'string') {
    return `the server sent TLS alert "${reason.replace(/^(tlsv1|tlsv13|sslv3) alert /, '')}": it refused the TLS handshake (our client certificate is not trusted by it, or not acceptable)`;
  }
  return err.message;
}
