import * as grpc from '@grpc/grpc-js';
import type {
  CaCertificateUpdateListener,
  CertificateProvider,
  IdentityCertificateUpdateListener,
} from '@grpc/grpc-js/build/src/certificate-provider.js';

/** Certificates that never change, offered through grpc-js's certificate-provider interface. */
class StaticCertificateProvider implements CertificateProvider {
  constructor(
    private readonly ca: Buffer,
    private readonly identity: { certificate: Buffer; privateKey: Buffer },
  ) {}
  // grpc-js registers its watcher only after adding the listeners: answer once it has.
  addCaCertificateListener(listener: CaCertificateUpdateListener): void {
    queueMicrotask(() => listener({ caCertificate: this.ca }));
  }
  removeCaCertificateListener(): void {}
  addIdentityCertificateListener(listener: IdentityCertificateUpdateListener): void {
    queueMicrotask(() => listener(this.identity));
  }
  removeIdentityCertificateListener(): void {}
}

/**
 * Server credentials that ask for a client certificate but let TLS accept a missing or untrusted
 * one (Go's VerifyClientCertIfGiven, as a Fabric peer): the gossip handshake then refuses such a
 * client with a reason it can read ("no TLS certificate", untrusted CA) instead of a bare TLS alert.
 */
export function serverCredentials(cert: Buffer, key: Buffer, roots: readonly Buffer[]): grpc.ServerCredentials {
  const ca = Buffer.concat(roots.flatMap((r) => [r, Buffer.from('\n')]));
  const provider = new StaticCertificateProvider(ca, { certificate: cert, privateKey: key });
  return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
}
