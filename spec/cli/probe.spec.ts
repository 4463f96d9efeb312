// `rxgossip probe` as a child process against an rxgossip peer using the Fabric vectors' peer0.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Comm, HandshakeFailureEvent } from '../../lib/index.js';
import { ORG1_TLS_CA, closedPort, fixtureComm, fixtureDir, killAll, runCli } from './helpers.js';
import { startTlsRefusingServer } from '../helpers/tls-refusing-server.js';

let server: Comm;
let failures: HandshakeFailureEvent[];
const tmpRoots: string[] = [];

before(async () => {
  server = await fixtureComm('peer0');
  failures = [];
  server.handshakeFailures$.subscribe((f) => failures.push(f));
});

after(async () => {
  await killAll();
  await server.stop();
  await Promise.all(tmpRoots.map((d) => rm(d, { recursive: true, force: true })));
});

const fixtureText = async (name: string, file: string): Promise<string> =>
  (await readFile(join(fixtureDir(name), file), 'utf8')).trim();

describe('probe: reachable peer', () => {
  it('pings and prints the round-trip time, exit 0', async () => {
    const r = await runCli(['probe', server.endpoint, '--peer-dir', fixtureDir('peer1')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^ping ${server.endpoint}: ok, \\d+\\.\\d\\d ms\\n$`));
    assert.equal(r.stderr, '');
  });

  it('--handshake prints the PKI-ID, MSP id, subject, expiry and TLS certificate of the remote', async () => {
    const r = await runCli(['probe', server.endpoint, '--handshake', '--peer-dir', fixtureDir('peer1')]);
    assert.equal(r.code, 0, r.stderr);
    const field = (name: string): string => {
      const m = new RegExp(`^  ${name} +(.+)$`, 'm').exec(r.stdout);
      assert.ok(m, `no ${name} line in:\n${r.stdout}`);
      return m[1]!;
    };
    assert.match(r.stdout, new RegExp(`^handshake ${server.endpoint}: ok, \\d+\\.\\d\\d ms$`, 'm'));
    assert.equal(field('pki-id'), await fixtureText('peer0', 'pkiid.hex'));
    assert.equal(field('msp-id'), 'Org1MSP');
    assert.match(field('subject'), /OU=peer, CN=peer0\.org1\.example\.com$/);
    assert.match(field('issuer'), /CN=ca\.org1\.example\.com$/);
    assert.match(field('expires'), /^2036-11-2\dT[\d:.]+Z \(in \d+ days\)$/);
    assert.equal(field('trusted'), 'yes, by MSP Org1MSP');
    assert.match(field('tls'), new RegExp(`CN=peer0\\.org1\\.example\\.com \\(sha256 ${await fixtureText('peer0', 'tls_cert_sha256.hex')}\\)$`));
  });

  it('--json prints the same as one object', async () => {
    const r = await runCli(['probe', server.endpoint, '--handshake', '--json', '--peer-dir', fixtureDir('peer2')]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      endpoint: string;
      pingMs: number;
      handshake: { ms: number; identity: { pkiId: string; mspid: string; notAfter: string }; trusted: { trusted: boolean } };
    };
    assert.equal(report.endpoint, server.endpoint);
    assert.ok(report.pingMs > 0 && report.handshake.ms > 0);
    assert.equal(report.handshake.identity.pkiId, await fixtureText('peer0', 'pkiid.hex'));
    assert.equal(report.handshake.identity.mspid, 'Org1MSP');
    assert.ok(Date.parse(report.handshake.identity.notAfter) > Date.parse('2036-01-01'));
    assert.equal(report.handshake.trusted.trusted, true);
  });
});

describe('probe: TLS names', () => {
  it('--server-name checks the certificate against that name (one of its SANs)', async () => {
    const r = await runCli(['probe', server.endpoint, '--handshake', '--peer-dir', fixtureDir('peer1'), '--server-name', 'peer0.org1.example.com']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^  trusted  yes/m);
  });

  it('--server-name with a name the certificate does not carry: exit 1, pointing at --server-name', async () => {
    const r = await runCli(['probe', server.endpoint, '--peer-dir', fixtureDir('peer1'), '--server-name', 'elsewhere.example.com', '--timeout', '300']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^rxgossip probe: cannot reach .*TCP connects, so check .*--server-name/);
  });
});

describe('probe: refused or unreachable', () => {
  it('--handshake as the untrusted rogue peer: exit 1 with the remote peer\'s reason', async () => {
    const before = failures.length;
    const r = await runCli([
      'probe', server.endpoint, '--handshake', '--peer-dir', fixtureDir('rogue/peer0'), '--tls-ca', ORG1_TLS_CA,
    ]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^ping .*: ok/);
    assert.match(
      r.stderr,
      new RegExp(`^rxgossip probe: handshake refused by ${server.endpoint}: identity rejected: identity ".*CN=peer0\\.rogue\\.example\\.com" of MSP "Org1MSP" cannot be validated`),
    );
    assert.ok(failures.slice(before).some((f) => f.direction === 'inbound'), 'the server saw the refused handshake');
  });

  it('the rogue peer without the server\'s TLS CA: exit 1, pointing at --tls-ca', async () => {
    const r = await runCli(['probe', server.endpoint, '--peer-dir', fixtureDir('rogue/peer0'), '--timeout', '300']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^rxgossip probe: cannot reach ${server.endpoint}: .*TCP connects, so check .*--tls-ca`));
  });

  it('a server that refuses our client certificate with a TLS alert: exit 1 at once, naming the alert', async () => {
    const refusing = await startTlsRefusingServer();
    try {
      const started = Date.now();
      const r = await runCli(['probe', refusing.endpoint, '--peer-dir', fixtureDir('rogue/peer0'), '--tls-ca', ORG1_TLS_CA, '--timeout', '5000']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^rxgossip probe: TLS handshake with ${refusing.endpoint} failed: the server sent TLS alert "unknown ca"`));
      assert.doesNotMatch(r.stderr, /--tls-ca|--server-name/, 'the server certificate is not blamed');
      assert.ok(Date.now() - started < 4_500, `took ${Date.now() - started} ms of a 5 s timeout`);
    } finally {
      refusing.stop();
    }
  });

  it('a port nothing listens on: exit 1, connection refused', async () => {
    const port = await closedPort();
    const r = await runCli(['probe', `127.0.0.1:${port}`, '--peer-dir', fixtureDir('peer1'), '--timeout', '300']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `rxgossip probe: cannot reach 127.0.0.1:${port}: connection refused (nothing listens on that port)\n`);
  });
});

describe('probe: bad input exits 2', () => {
  it('a peer directory that does not exist', async () => {
    const r = await runCli(['probe', server.endpoint, '--peer-dir', join(tmpdir(), 'rxgossip-no-such-dir')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^rxgossip probe: --peer-dir .*rxgossip-no-such-dir: no such directory\n$/);
  });

  it('a missing file in the peer directory: the PeerDirError text', async () => {
    const dir = await copyPeer('peer1');
    await rm(join(dir, 'tls', 'server.key'));
    const r = await runCli(['probe', server.endpoint, '--peer-dir', dir]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `rxgossip probe: --peer-dir: ${join(dir, 'tls', 'server.key')}: missing\n`);
  });

  it('a keystore key that does not match the certificate', async () => {
    const dir = await copyPeer('peer1');
    await cp(join(fixtureDir('peer2'), 'msp', 'keystore', 'priv_sk'), join(dir, 'msp', 'keystore', 'priv_sk'));
    const r = await runCli(['probe', server.endpoint, '--peer-dir', dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^rxgossip probe: --peer-dir: .*keystore: no private key matches the certificate .*\(priv_sk does not match\)\n$/);
  });

  it('a --tls-ca file that does not exist', async () => {
    const r = await runCli(['probe', server.endpoint, '--peer-dir', fixtureDir('peer1'), '--tls-ca', '/nonexistent/ca.pem']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'rxgossip probe: --tls-ca /nonexistent/ca.pem: missing\n');
  });
});

async function copyPeer(name: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'rxgossip-cli-'));
  tmpRoots.push(root);
  const dir = join(root, name);
  await cp(fixtureDir(name), dir, { recursive: true });
  return dir;
}
