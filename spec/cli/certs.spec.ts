// `rxgossip certs` as a child process: the org layout it writes, and what it prints.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readOrgManifest } from '../../lib/certs/index.js';
import { loadPeerDir } from '../../lib/index.js';
import { killAll, runCli } from './helpers.js';

const tmpRoots: string[] = [];
after(async () => {
  await killAll();
  await Promise.all(tmpRoots.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rxgossip-certs-'));
  tmpRoots.push(dir);
  return dir;
}

/** Every file under `dir`, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe('certs', () => {
  it('writes the cryptogen layout for N peers and prints what it wrote', async () => {
    const out = join(await tempDir(), 'org');
    const r = await runCli(['certs', '--out', out, '--peers', '2', '--mspid', 'TestMSP', '--org', 'test.example.com', '--hosts', 'gossip.internal,10.1.2.3']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');

    const peerFiles = (name: string): string[] => [
      `${name}/identity.bin`,
      `${name}/msp/cacerts/ca.test.example.com-cert.pem`,
      `${name}/msp/config.yaml`,
      `${name}/msp/keystore/priv_sk`,
      `${name}/msp/signcerts/${name}.test.example.com-cert.pem`,
      `${name}/msp/tlscacerts/tlsca.test.example.com-cert.pem`,
      `${name}/mspid.txt`,
      `${name}/pkiid.hex`,
      `${name}/tls/ca.crt`,
      `${name}/tls/server.crt`,
      `${name}/tls/server.key`,
      `${name}/tls_cert_sha256.hex`,
    ];
    assert.deepEqual(await tree(out), [
      'ca/ca.test.example.com-cert.pem',
      'ca/priv_sk',
      'manifest.json',
      ...peerFiles('peer0'),
      ...peerFiles('peer1'),
      'tlsca/priv_sk',
      'tlsca/tlsca.test.example.com-cert.pem',
    ].sort());

    const manifest = await readOrgManifest(out);
    assert.equal(manifest.mspid, 'TestMSP');
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], `wrote TestMSP (test.example.com) to ${out}`);
    for (const name of ['peer0', 'peer1']) {
      const peer = await loadPeerDir(join(out, name));
      assert.equal(peer.mspid, 'TestMSP');
      const pkiId = (await readFile(join(out, name, 'pkiid.hex'), 'utf8')).trim();
      assert.equal(peer.pkiId.toString('hex'), pkiId);
      assert.ok(
        lines.some((l) => new RegExp(`^  ${name}/ +${name}\\.test\\.example\\.com, pki-id ${pkiId}$`).test(l)),
        `no line for ${name} in:\n${r.stdout}`,
      );
    }
    for (const file of ['ca/ca.test.example.com-cert.pem', 'ca/priv_sk', 'tlsca/tlsca.test.example.com-cert.pem', 'tlsca/priv_sk', 'manifest.json']) {
      assert.ok(lines.some((l) => l.startsWith(`  ${file} `)), `${file} not listed`);
    }
    const tls = await readFile(join(out, 'peer0', 'tls', 'server.crt'), 'utf8');
    assert.match(new X509Certificate(tls).subjectAltName ?? '', /DNS:gossip\.internal.*IP Address:10\.1\.2\.3/);
  });

  it('--json prints the result without the CA certificates', async () => {
    const out = join(await tempDir(), 'org');
    const r = await runCli(['certs', '--out', out, '--peers', '1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { mspid: string; org: string; outDir: string; peers: { name: string; pkiIdHex: string }[]; caCertPem?: string };
    assert.equal(result.mspid, 'Org1MSP');
    assert.equal(result.org, 'org1.example.com');
    assert.equal(result.outDir, out);
    assert.deepEqual(result.peers.map((p) => p.name), ['peer0']);
    assert.equal(result.caCertPem, undefined);
  });

  it('refuses bad input with exit 2: --peers 0, an invalid org, an invalid MSP id', async () => {
    const out = await tempDir();
    const [zero, org, mspid] = await Promise.all([
      runCli(['certs', '--out', out, '--peers', '0']),
      runCli(['certs', '--out', out, '--peers', '1', '--org', 'not a domain']),
      runCli(['certs', '--out', out, '--peers', '1', '--mspid', '']),
    ]);
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /option '--peers <n>' argument '0' is invalid\. expected 1\.\.1000, got 0/);
    assert.equal(org.code, 2);
    assert.match(org.stderr, /^rxgossip certs: .*not a domain/m);
    assert.equal(mspid.code, 2);
    assert.match(mspid.stderr, /^rxgossip certs: .*MSP/im);
    assert.deepEqual(await tree(out), [], 'nothing written');
  });
});
