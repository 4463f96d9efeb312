import assert from 'node:assert/strict';
import { X509Certificate, createHash, verify } from 'node:crypto';
import { appendFile, cp, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PeerDirError } from '../../lib/errors.js';
import { MspManager } from '../../lib/identity/msp.js';
import { loadPeerDir } from '../../lib/identity/peer-dir.js';
import { ORG_PEERS, VALID_AT, VECTORS, identityBin, node, signCert, vector } from './vectors.js';
import { issue } from './x509-builder.js';

/** loadPeerDir at a fixed time inside the vectors' validity. */
const load: typeof loadPeerDir = (dir, options) => loadPeerDir(dir, { now: VALID_AT, ...options });

const tmpRoots: string[] = [];
after(async () => {
  await Promise.all(tmpRoots.map((d) => rm(d, { recursive: true, force: true })));
});

/** A writable copy of a vector peer directory. */
async function copyPeer(dir = 'peer0'): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'rxgossip-peerdir-'));
  tmpRoots.push(root);
  const target = join(root, 'peer');
  await cp(join(VECTORS, dir), target, { recursive: true });
  return target;
}

async function refuses(dir: string, pattern: RegExp, options?: Parameters<typeof loadPeerDir>[1]): Promise<void> {
  await assert.rejects(load(dir, options), (e: unknown) => {
    assert.ok(e instanceof PeerDirError, `expected a PeerDirError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

const SIGNCERT = (dir: string): string => node(dir).sign_cert_pem.slice(dir.length + 1);

describe('loadPeerDir on the Fabric vectors', () => {
  for (const dir of [...ORG_PEERS, 'rogue/peer0']) {
    it(`loads ${dir}`, async () => {
      const n = node(dir);
      const peer = await load(join(VECTORS, dir));
      assert.equal(peer.mspid, 'Org1MSP');
      assert.ok(peer.certPem.equals(signCert(dir)), 'certPem is the file, byte for byte');
      assert.ok(Buffer.from(peer.identity).equals(identityBin(dir)));
      assert.equal(peer.pkiId.toString('hex'), n.pki_id_hex);
      assert.equal(peer.tls.certHash.toString('hex'), n.tls_cert_sha256_hex);
      assert.ok(peer.tls.cert.equals(vector(n.tls_cert_pem)));
      assert.ok(peer.tls.key.equals(vector(n.tls_key_pem)));
      assert.deepEqual(peer.tls.ca, [vector(n.tls_ca_pem)]);
      // msp/tlscacerts and tls/ca.crt hold the same CA: it is listed once.
      assert.deepEqual(peer.tlsRootCerts, [vector(n.tls_ca_pem)]);
      assert.equal(peer.msp.mspid, 'Org1MSP');
      assert.equal(peer.msp.rootCerts.length, 1);
      assert.equal(peer.msp.intermediateCerts, undefined);

      const data = Buffer.from('signed by the loaded signer');
      const sig = peer.signer.sign(data);
      const certKey = new X509Certificate(peer.certPem).publicKey;
      assert.equal(verify('sha256', data, { key: certKey, dsaEncoding: 'der' }, sig), true);
      // The loaded MSP config validates the loaded identity.
      assert.ok(new MspManager([peer.msp]).validate(peer.identity, VALID_AT).pkiId.equals(peer.pkiId));
    });
  }
});

describe('loadPeerDir failures', () => {
  it('uses options.mspid over mspid.txt, and needs one of them', async () => {
    const dir = await copyPeer();
    await rm(join(dir, 'mspid.txt'));
    await refuses(dir, /mspid\.txt: missing; pass options\.mspid/);
    const peer = await load(dir, { mspid: 'Org1MSP' });
    assert.equal(peer.pkiId.toString('hex'), node('peer0').pki_id_hex);
    const other = await load(dir, { mspid: 'OtherMSP' });
    assert.equal(other.mspid, 'OtherMSP');
    assert.notEqual(other.pkiId.toString('hex'), node('peer0').pki_id_hex);
    await writeFile(join(dir, 'mspid.txt'), '  \n');
    await refuses(dir, /mspid\.txt: empty/);
    await writeFile(join(dir, 'mspid.txt'), '\tOrg1MSP \r\n');
    assert.equal((await load(dir)).mspid, 'Org1MSP');
  });

  const missing: [string, RegExp][] = [
    [SIGNCERT('peer0'), /msp\/signcerts: no \.pem certificate found/],
    ['msp/keystore/priv_sk', /msp\/keystore: no private key found/],
    ['msp/cacerts/ca.org1.example.com-cert.pem', /msp\/cacerts: no CA certificate found/],
    ['tls/server.crt', /tls\/server\.crt: missing/],
    ['tls/server.key', /tls\/server\.key: missing/],
    ['tls/ca.crt', /tls\/ca\.crt: missing/],
    ['msp/signcerts', /msp\/signcerts: missing/],
    ['msp/keystore', /msp\/keystore: missing/],
    ['msp/cacerts', /msp\/cacerts: missing/],
    ['msp', /msp\/signcerts: missing/],
  ];
  for (const [file, pattern] of missing) {
    it(`names a missing ${file}`, async () => {
      const dir = await copyPeer();
      await rm(join(dir, file), { recursive: true });
      await refuses(dir, pattern);
    });
  }

  it('works without the optional msp/tlscacerts', async () => {
    const dir = await copyPeer();
    await rm(join(dir, 'msp/tlscacerts'), { recursive: true });
    const peer = await load(dir);
    assert.deepEqual(peer.tlsRootCerts, [vector(node('peer0').tls_ca_pem)]);
  });

  it('refuses a keystore key from another peer: "does not match"', async () => {
    const dir = await copyPeer();
    await cp(join(VECTORS, 'peer1/msp/keystore/priv_sk'), join(dir, 'msp/keystore/priv_sk'));
    await refuses(dir, /msp\/keystore: no private key matches the certificate .*peer0\.org1\.example\.com-cert\.pem \(priv_sk does not match\)/);
  });

  it('finds the matching key among several (<ski>_sk naming)', async () => {
    const dir = await copyPeer();
    await rename(join(dir, 'msp/keystore/priv_sk'), join(dir, 'msp/keystore/zz_sk'));
    await cp(join(VECTORS, 'peer1/msp/keystore/priv_sk'), join(dir, 'msp/keystore/aa_sk'));
    await writeFile(join(dir, 'msp/keystore/bb_sk'), 'not a key');
    const peer = await load(dir);
    const data = Buffer.from('x');
    const certKey = new X509Certificate(peer.certPem).publicKey;
    assert.equal(verify('sha256', data, { key: certKey, dsaEncoding: 'der' }, peer.signer.sign(data)), true);
    await rm(join(dir, 'msp/keystore/zz_sk'));
    await refuses(dir, /aa_sk does not match; bb_sk is not a private key/);
  });

  it('refuses a TLS key that does not match the TLS certificate', async () => {
    const dir = await copyPeer();
    await cp(join(VECTORS, 'peer1/tls/server.key'), join(dir, 'tls/server.key'));
    await refuses(dir, /tls\/server\.key: the key does not match the certificate .*tls\/server\.crt/);
    await writeFile(join(dir, 'tls/server.key'), 'garbage');
    await refuses(dir, /tls\/server\.key: not a private key/);
  });

  it('refuses a signing certificate that is not a PEM certificate', async () => {
    const dir = await copyPeer();
    const path = join(dir, SIGNCERT('peer0'));
    await writeFile(path, 'hello');
    await refuses(dir, /peer0\.org1\.example\.com-cert\.pem: not a PEM certificate/);
    await writeFile(path, vector('peer0/msp/keystore/priv_sk'));
    await refuses(dir, /peer0\.org1\.example\.com-cert\.pem: not a PEM certificate/);
  });

  it('refuses a signing certificate with a trailing newline, which Fabric peers would refuse', async () => {
    const dir = await copyPeer();
    await appendFile(join(dir, SIGNCERT('peer0')), '\n');
    await refuses(dir, /peer0\.org1\.example\.com-cert\.pem: has trailing bytes/);
  });

  it('refuses two signing certificates', async () => {
    const dir = await copyPeer();
    await cp(join(VECTORS, node('peer1').sign_cert_pem), join(dir, 'msp/signcerts/second.pem'));
    await refuses(dir, /msp\/signcerts: expected exactly one \.pem certificate, found 2/);
  });

  it('refuses a signing certificate its own CAs do not validate, or that expired', async () => {
    const dir = await copyPeer();
    await refuses(dir, /signing certificate is not a valid identity of its own MSP: .*expired/, { now: new Date('2037-01-01Z') });
    await rm(join(dir, 'msp/cacerts/ca.org1.example.com-cert.pem'));
    await cp(join(VECTORS, 'rogue/ca/ca.rogue.example.com-cert.pem'), join(dir, 'msp/cacerts/rogue.pem'));
    await refuses(dir, /signing certificate is not a valid identity of its own MSP: .*cannot be validated/);
  });

  it('refuses unusable CA files', async () => {
    const dir = await copyPeer();
    await writeFile(join(dir, 'msp/cacerts/README.txt'), 'these are CAs');
    await refuses(dir, /msp\/cacerts\/README\.txt: not a PEM certificate/);
    await rm(join(dir, 'msp/cacerts/README.txt'));
    await cp(join(VECTORS, node('peer1').sign_cert_pem), join(dir, 'msp/cacerts/leaf.pem'));
    await refuses(dir, /msp: root CA of MSP "Org1MSP" .* is not a CA certificate/);
  });

  it('refuses unusable TLS certificates', async () => {
    const dir = await copyPeer();
    await writeFile(join(dir, 'tls/ca.crt'), 'nope');
    await refuses(dir, /tls\/ca\.crt: not a PEM certificate/);
    const dir2 = await copyPeer();
    await writeFile(join(dir2, 'tls/server.crt'), '');
    await refuses(dir2, /tls\/server\.crt: no certificate/);
  });

  it('reads msp/intermediatecerts and extra TLS roots', async () => {
    const dir = await copyPeer();
    // Any CA certificate will do to see it is read; the rogue CA is unrelated to this chain.
    const rogueCa = vector('rogue/ca/ca.rogue.example.com-cert.pem');
    await cp(join(VECTORS, 'rogue/ca/ca.rogue.example.com-cert.pem'), join(dir, 'msp/intermediatecerts/i.pem'));
    await cp(join(VECTORS, 'rogue/tlsca/tlsca.rogue.example.com-cert.pem'), join(dir, 'msp/tlscacerts/rogue.pem'));
    const peer = await load(dir);
    assert.deepEqual(peer.msp.intermediateCerts, [rogueCa]);
    assert.equal(peer.tlsRootCerts.length, 2);
    const hashes = peer.tlsRootCerts.map((p) => createHash('sha256').update(new X509Certificate(p).raw).digest('hex'));
    assert.equal(new Set(hashes).size, 2);
  });

  it('refuses a matching signing key on an unsupported curve (P-521)', async () => {
    const dir = await copyPeer();
    const root = issue('root', { ca: true });
    const leaf = issue('p521-peer', { issuer: root, curve: 'secp521r1' });
    await writeFile(join(dir, 'msp/cacerts/ca.org1.example.com-cert.pem'), root.pem);
    await writeFile(join(dir, SIGNCERT('peer0')), leaf.pem);
    await writeFile(join(dir, 'msp/keystore/priv_sk'), leaf.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await refuses(dir, /msp\/keystore\/priv_sk: unsupported signing key \(secp521r1\)/);
  });
});
