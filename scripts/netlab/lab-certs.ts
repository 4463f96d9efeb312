// Certificates for the lab: one Fabric-style org (one CA, one TLS CA) whose peers each get a TLS
// certificate naming their own lab address, so that peers dial each other by address and TLS
// checks the name as it would between real hosts.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateOrg, orgCaFiles, type CertAndKeyPem } from '../../lib/certs/index.js';

/** The peer directory of each host, in host order. */
export async function generateLabCerts(outDir: string, addresses: readonly string[]): Promise<string[]> {
  const org = 'lab.example.com';
  // The first host's run creates the CAs; the others are issued by the same ones, each with its
  // own address as the one extra name of its TLS certificate.
  const firstDir = join(outDir, 'host0');
  const first = await generateOrg({ outDir: firstDir, org, peers: ['host0'], hosts: [addresses[0]!] });
  const caFiles = orgCaFiles(org);
  const pair = async (cert: string, key: string): Promise<CertAndKeyPem> => ({
    certPem: await readFile(join(firstDir, cert), 'utf8'),
    keyPem: await readFile(join(firstDir, key), 'utf8'),
  });
  const [ca, tlsCa] = await Promise.all([pair(caFiles.caCert, caFiles.caKey), pair(caFiles.tlsCaCert, caFiles.tlsCaKey)]);
  const rest = await Promise.all(
    addresses.slice(1).map((address, i) =>
      generateOrg({ outDir: join(outDir, `host${i + 1}`), org, peers: [`host${i + 1}`], hosts: [address], ca, tlsCa }),
    ),
  );
  return [first, ...rest].map((o) => o.peers[0]!.dir);
}
