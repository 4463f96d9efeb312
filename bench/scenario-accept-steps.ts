/**
 * Scenario 3b: what checking a ConnEstablish costs, step by step, in this process (no network):
 * the gossip-level work a server adds to each accepted connection on top of TLS and gRPC. Every
 * identity is a distinct generated one, checked first by a fresh identity mapper (a peer never
 * seen, as in section 3) and then again (a peer reconnecting: the MSP cache of validated
 * identities answers). MSP validation reads the certificate from its DER (lib/identity/
 * der-certificate.ts); OpenSSL's parse, shown for reference, is used only when that reader
 * declines.
 */
import { X509Certificate, createPublicKey, verify } from 'node:crypto';
import {
  buildConnEstablish,
  certificateHash,
  checkConnEstablish,
  gossip,
  jwkOf,
  loadPeerDir,
  MspIdentityMapper,
  MspManager,
  pemToDer,
  pkiIdOf,
  readDerCertificate,
  verifySignature,
} from './rxgossip.js';
import { now } from './support.js';

export interface AcceptStep {
  readonly step: string;
  /** µs per connection. */
  readonly micros: number;
}

export async function runAcceptSteps(config: { serverDir: string; dialerDirs: readonly string[] }): Promise<AcceptStep[]> {
  const server = await loadPeerDir(config.serverDir);
  const dialers = await Promise.all(config.dialerDirs.map((dir) => loadPeerDir(dir)));
  const n = dialers.length;
  const messages = dialers.map((d) => buildConnEstablish(d, d.tls.certHash, false));
  const tlsDers = dialers.map((d) => pemToDer(d.tls.cert));
  const time = (run: (i: number) => void): number => {
    const start = now();
    for (let i = 0; i < n; i++) run(i);
    return ((now() - start) * 1000) / n;
  };
  const mapper = (): MspIdentityMapper => new MspIdentityMapper(new MspManager([server.msp]));
  const ctx = (m: MspIdentityMapper, i: number) => ({ mapper: m, tls: true, remoteCertificate: tlsDers[i]! });
  // Warm up the code paths (not the identities) on a throwaway mapper.
  const warm = mapper();
  for (let i = 0; i < Math.min(5, n); i++) checkConnEstablish(messages[i]!, ctx(warm, i));

  const steps: AcceptStep[] = [];
  const fresh = mapper();
  steps.push({ step: 'checkConnEstablish, identity never seen', micros: time((i) => checkConnEstablish(messages[i]!, ctx(fresh, i))) });
  steps.push({ step: 'checkConnEstablish, identity seen before (MSP cache)', micros: time((i) => checkConnEstablish(messages[i]!, ctx(fresh, i))) });
  const decoded = messages.map((m) => gossip.Envelope.decode(m));
  steps.push({
    step: '  decode Envelope + GossipMessage',
    micros: time((i) => void gossip.GossipMessage.decode(gossip.Envelope.decode(messages[i]!).payload)),
  });
  steps.push({ step: '  PKI-ID of the identity (SHA-256)', micros: time((i) => void pkiIdOf(dialers[i]!.identity)) });
  const msp = new MspManager([server.msp]);
  steps.push({ step: '  MSP validation, never seen', micros: time((i) => void msp.validate(dialers[i]!.identity)) });
  steps.push({ step: '  MSP validation, cached', micros: time((i) => void msp.validate(dialers[i]!.identity)) });
  const certs = dialers.map((d) => new X509Certificate(d.certPem));
  const ders = certs.map((c) => c.raw);
  steps.push({ step: '    of which: read the certificate from its DER', micros: time((i) => void readDerCertificate(ders[i]!)) });
  const read = ders.map((der) => readDerCertificate(der)!);
  steps.push({ step: '    of which: import its public key (JWK)', micros: time((i) => void createPublicKey({ key: jwkOf(read[i]!), format: 'jwk' })) });
  const root = new X509Certificate(Buffer.isBuffer(server.msp.rootCerts[0]) ? server.msp.rootCerts[0] : String(server.msp.rootCerts[0]));
  const rootKey = root.publicKey;
  steps.push({
    step: '    of which: verify its CA signature',
    micros: time((i) => void verify(read[i]!.signatureHash, read[i]!.tbs, { key: rootKey, dsaEncoding: 'der' }, read[i]!.signature)),
  });
  steps.push({ step: '  (OpenSSL X.509 parse, used only when in doubt)', micros: time((i) => void new X509Certificate(dialers[i]!.certPem)) });
  // Keys as the MSP makes them (their first verify also converts them for OpenSSL's provider).
  const keys = read.map((r) => createPublicKey({ key: jwkOf(r), format: 'jwk' }));
  steps.push({
    step: '  verify the ConnEstablish signature (ECDSA P-256)',
    micros: time((i) => verifySignature(keys[i]!, decoded[i]!.payload, decoded[i]!.signature)),
  });
  steps.push({ step: '  hash the TLS certificate (SHA-256)', micros: time((i) => void certificateHash(tlsDers[i]!)) });
  return steps;
}
