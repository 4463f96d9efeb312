import assert from 'node:assert/strict';
import { createHash, createPrivateKey, sign, verify, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { PeerDirError } from '../../lib/errors.js';
import { CertificateAuthority } from '../../lib/certs/certificate-authority.js';
import { generateOrg, readOrgManifest, type GeneratedOrg } from '../../lib/certs/generate-org.js';
import { peerFiles } from '../../lib/certs/layout.js';
import { pkiIdHex, serializeIdentity, tlsCertHashHex } from '../../lib/certs/peer-identity.js';
import { caSubject } from '../../lib/certs/subjects.js';
import {
  AuthorityKeyIdentifierExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate as PeculiarCertificate,
} from '../../lib/certs/x509.js';
import { msp } from '../../lib/proto/messages.js';

const VECTORS = fileURLToPath(new URL('../fixtures/fabric-vectors/', import.meta.url));
const DAY_MS = 86_400_000;

/** Every file under `dir`, as sorted '/'-separated paths relative to it. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

async function cert(path: string): Promise<X509Certificate> {
  return new X509Certificate(await readFile(path));
}

/** The files of a peer, as the vectors' peer0 would name them for `name` in `org`. */
function files(org: GeneratedOrg, name: string): Record<keyof ReturnType<typeof peerFiles>, string> {
  const rel = peerFiles(`${name}.${org.org}`, org.org);
  const dir = join(org.outDir, name);
  return Object.fromEntries(Object.entries(rel).map(([k, v]) => [k, join(dir, v)])) as Record<
    keyof typeof rel,
    string
  >;
}

describe('generateOrg', () => {
  let root: string;
  let org1: GeneratedOrg;
  let org2: GeneratedOrg;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rxgossip-certs-'));
    [org1, org2] = await Promise.all([
      generateOrg({ outDir: join(root, 'org1'), peers: 2 }),
      generateOrg({ outDir: join(root, 'org2'), peers: ['alpha'], org: 'org2.example.com', mspid: 'Org2MSP' }),
    ]);
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes the same files as the Fabric vectors, for counted and named peers', async () => {
    const vectorPeer = await listFiles(join(VECTORS, 'peer0'));
    for (const [org, name] of [
      [org1, 'peer0'],
      [org1, 'peer1'],
      [org2, 'alpha'],
    ] as const) {
      const expected = vectorPeer
        .map((f) => f.replaceAll('peer0.org1.example.com', `${name}.${org.org}`).replaceAll('org1.example.com', org.org))
        .sort();
      assert.deepEqual(await listFiles(join(org.outDir, name)), expected, `${org.org}/${name}`);
    }
    for (const sub of ['ca', 'tlsca']) {
      const expected = (await listFiles(join(VECTORS, sub))).map((f) => f.replace('org1.example.com', 'org2.example.com'));
      assert.deepEqual(await listFiles(join(org1.outDir, sub)), await listFiles(join(VECTORS, sub)), `org1 ${sub}`);
      assert.deepEqual(await listFiles(join(org2.outDir, sub)), expected, `org2 ${sub}`);
    }
    assert.deepEqual(
      await readdir(org1.outDir).then((names) => names.sort()),
      ['ca', 'manifest.json', 'peer0', 'peer1', 'tlsca'],
    );
  });

  it('copies the CA certificates into every peer and writes the NodeOUs config like cryptogen', async () => {
    const f = files(org1, 'peer1');
    const caPem = await readFile(join(org1.outDir, 'ca/ca.org1.example.com-cert.pem'), 'utf8');
    const tlsCaPem = await readFile(join(org1.outDir, 'tlsca/tlsca.org1.example.com-cert.pem'), 'utf8');
    assert.equal(caPem, org1.caCertPem);
    assert.equal(tlsCaPem, org1.tlsCaCertPem);
    assert.notEqual(caPem, tlsCaPem);
    assert.equal(await readFile(f.caCert, 'utf8'), caPem);
    assert.equal(await readFile(f.tlsCaCertInMsp, 'utf8'), tlsCaPem);
    assert.equal(await readFile(f.tlsCaCert, 'utf8'), tlsCaPem);
    // Same org name as the vectors, so the file must be byte-identical.
    assert.deepEqual(await readFile(f.mspConfig), await readFile(join(VECTORS, 'peer0/msp/config.yaml')));
    const org2Config = await readFile(files(org2, 'alpha').mspConfig, 'utf8');
    assert.match(org2Config, /Certificate: cacerts\/ca\.org2\.example\.com-cert\.pem\n/);
    assert.doesNotMatch(org2Config, /org1/);
  });

  it('issues certificates that chain to the right CA, with CA flags, SANs, OU and validity', async () => {
    const ca = await cert(join(org1.outDir, 'ca/ca.org1.example.com-cert.pem'));
    const tlsCa = await cert(join(org1.outDir, 'tlsca/tlsca.org1.example.com-cert.pem'));
    assert.equal(ca.ca, true);
    assert.equal(tlsCa.ca, true);
    assert.ok(ca.checkIssued(ca) && ca.verify(ca.publicKey), 'CA is self-signed');
    assert.ok(tlsCa.checkIssued(tlsCa) && tlsCa.verify(tlsCa.publicKey), 'TLS CA is self-signed');
    const now = Date.now();
    for (const name of ['peer0', 'peer1']) {
      const f = files(org1, name);
      const signCert = await cert(f.signCert);
      const tlsCert = await cert(f.tlsCert);
      assert.equal(signCert.ca, false);
      assert.equal(tlsCert.ca, false);
      assert.ok(signCert.checkIssued(ca), `${name} signcert issued by CA`);
      assert.ok(signCert.verify(ca.publicKey), `${name} signcert signed by CA`);
      assert.ok(!signCert.verify(tlsCa.publicKey), `${name} signcert not signed by the TLS CA`);
      assert.ok(tlsCert.checkIssued(tlsCa), `${name} TLS cert issued by TLS CA`);
      assert.ok(tlsCert.verify(tlsCa.publicKey), `${name} TLS cert signed by TLS CA`);
      assert.ok(!tlsCert.verify(ca.publicKey), `${name} TLS cert not signed by the signing CA`);
      assert.equal(tlsCert.checkIP('127.0.0.1'), '127.0.0.1');
      assert.equal(tlsCert.checkHost('localhost'), 'localhost');
      assert.equal(tlsCert.checkHost(name), name);
      assert.equal(tlsCert.checkHost(`${name}.org1.example.com`), `${name}.org1.example.com`);
      assert.equal(tlsCert.checkHost('other.example.com'), undefined);
      assert.deepEqual(tlsCert.keyUsage?.slice().sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
      assert.equal(signCert.subject, `C=US\nST=California\nL=San Francisco\nOU=peer\nCN=${name}.org1.example.com`);
      assert.equal(tlsCert.subject, `C=US\nST=California\nL=San Francisco\nCN=${name}.org1.example.com`);
      for (const c of [signCert, tlsCert, ca, tlsCa]) {
        const from = Date.parse(c.validFrom);
        const to = Date.parse(c.validTo);
        assert.ok(from <= now && now < to, `validity ${c.validFrom} .. ${c.validTo} covers now`);
        // Back-dated for clock skew, but only by minutes.
        assert.ok(now - from >= 4 * 60_000 && now - from <= 6 * 60_000, `notBefore ${c.validFrom}`);
        assert.equal(to - from, 3650 * DAY_MS);
      }
    }
  });

  it('produces certificates shaped exactly like the vectors (names, extensions, criticality)', async () => {
    // Same org and peer name as the vectors: everything but keys, key ids, serials, dates and
    // signatures must be identical.
    const pairs = [
      ['ca/ca.org1.example.com-cert.pem', 'ca/ca.org1.example.com-cert.pem'],
      ['tlsca/tlsca.org1.example.com-cert.pem', 'tlsca/tlsca.org1.example.com-cert.pem'],
      ['peer0/msp/signcerts/peer0.org1.example.com-cert.pem', 'peer0/msp/signcerts/peer0.org1.example.com-cert.pem'],
      ['peer0/tls/server.crt', 'peer0/tls/server.crt'],
    ];
    const shape = (c: PeculiarCertificate) => ({
      subject: Buffer.from(c.subjectName.toArrayBuffer()).toString('hex'),
      issuer: Buffer.from(c.issuerName.toArrayBuffer()).toString('hex'),
      signatureAlgorithm: c.signatureAlgorithm,
      publicKeyAlgorithm: c.publicKey.algorithm,
      serialBytes: Math.ceil(c.serialNumber.length / 2),
      lifetime: c.notAfter.getTime() - c.notBefore.getTime(),
      extensions: c.extensions.map((e) => ({
        type: e.type,
        critical: e.critical,
        value:
          e instanceof SubjectKeyIdentifierExtension || e instanceof AuthorityKeyIdentifierExtension
            ? `key id of ${e instanceof SubjectKeyIdentifierExtension ? e.keyId.length : e.keyId?.length} hex chars`
            : Buffer.from(e.value).toString('hex'),
      })),
    });
    for (const [ours, theirs] of pairs) {
      const a = new PeculiarCertificate(await readFile(join(org1.outDir, ours!), 'utf8'));
      const b = new PeculiarCertificate(await readFile(join(VECTORS, theirs!), 'utf8'));
      assert.deepEqual(shape(a), shape(b), ours);
    }
  });

  it('uses SHA-256 of the public point as key id, and the issuer key id as authority key id', async () => {
    const keyId = async (path: string): Promise<string> => {
      const c = await cert(path);
      const spki = c.publicKey.export({ type: 'spki', format: 'der' });
      return createHash('sha256').update(spki.subarray(spki.length - 65)).digest('hex');
    };
    const ca = new PeculiarCertificate(org1.caCertPem);
    const caSki = ca.getExtension(SubjectKeyIdentifierExtension)?.keyId;
    assert.equal(caSki, await keyId(join(org1.outDir, 'ca/ca.org1.example.com-cert.pem')));
    const f = files(org1, 'peer0');
    const signCert = new PeculiarCertificate(await readFile(f.signCert, 'utf8'));
    assert.equal(signCert.getExtension(AuthorityKeyIdentifierExtension)?.keyId, caSki);
    const tlsSki = new PeculiarCertificate(org1.tlsCaCertPem).getExtension(SubjectKeyIdentifierExtension)?.keyId;
    const tlsCert = new PeculiarCertificate(await readFile(f.tlsCert, 'utf8'));
    assert.equal(tlsCert.getExtension(AuthorityKeyIdentifierExtension)?.keyId, tlsSki);
    assert.notEqual(tlsSki, caSki);
  });

  it('writes PKCS#8 P-256 private keys that belong to their certificates', async () => {
    const pairs: [string, string][] = [
      [join(org1.outDir, 'ca/priv_sk'), join(org1.outDir, 'ca/ca.org1.example.com-cert.pem')],
      [join(org1.outDir, 'tlsca/priv_sk'), join(org1.outDir, 'tlsca/tlsca.org1.example.com-cert.pem')],
    ];
    for (const name of ['peer0', 'peer1']) {
      const f = files(org1, name);
      pairs.push([f.signKey, f.signCert], [f.tlsKey, f.tlsCert]);
    }
    const data = Buffer.from('gossip');
    for (const [keyPath, certPath] of pairs) {
      const pem = await readFile(keyPath, 'utf8');
      assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n(?:[A-Za-z0-9+/=]{1,64}\n)+-----END PRIVATE KEY-----\n$/);
      const key = createPrivateKey(pem);
      assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
      const c = await cert(certPath);
      assert.ok(c.checkPrivateKey(key), `${keyPath} belongs to ${certPath}`);
      assert.ok(verify('sha256', data, c.publicKey, sign('sha256', data, key)), `${keyPath} signs for ${certPath}`);
      // Private keys are owner-only, as cryptogen writes them.
      assert.equal((await stat(keyPath)).mode & 0o077, 0, `${keyPath} mode`);
    }
    // And keys are not shared between peers or roles.
    const p0 = files(org1, 'peer0');
    const p1 = files(org1, 'peer1');
    assert.ok(!(await cert(p1.signCert)).checkPrivateKey(createPrivateKey(await readFile(p0.signKey))));
    assert.ok(!(await cert(p0.tlsCert)).checkPrivateKey(createPrivateKey(await readFile(p0.signKey))));
  });

  it('writes identity.bin, pkiid.hex, tls_cert_sha256.hex and mspid.txt consistently', async () => {
    for (const [org, name] of [
      [org1, 'peer0'],
      [org1, 'peer1'],
      [org2, 'alpha'],
    ] as const) {
      const f = files(org, name);
      const signCertBytes = await readFile(f.signCert);
      const identity = msp.SerializedIdentity.decode(await readFile(f.identity));
      assert.equal(identity.mspid, org.mspid);
      assert.deepEqual(Buffer.from(identity.idBytes), signCertBytes);
      const pkiId = createHash('sha256').update(org.mspid).update(signCertBytes).digest('hex');
      assert.equal(await readFile(f.pkiId, 'utf8'), `${pkiId}\n`);
      const tlsDer = (await cert(f.tlsCert)).raw;
      const tlsHash = createHash('sha256').update(tlsDer).digest('hex');
      assert.equal(await readFile(f.tlsCertHash, 'utf8'), `${tlsHash}\n`);
      assert.equal(await readFile(f.mspid, 'utf8'), `${org.mspid}\n`);
      const peer = org.peers.find((p) => p.name === name);
      assert.deepEqual(peer, {
        name,
        dir: join(org.outDir, name),
        mspid: org.mspid,
        pkiIdHex: pkiId,
        tlsCertSha256Hex: tlsHash,
      });
    }
    assert.notEqual(org1.peers[0]!.pkiIdHex, org1.peers[1]!.pkiIdHex);
  });

  it('computes identities exactly as the Fabric vectors do', async () => {
    for (const name of ['peer0', 'peer1', 'peer2', 'peer3']) {
      const signCert = await readFile(join(VECTORS, name, `msp/signcerts/${name}.org1.example.com-cert.pem`));
      const mspid = (await readFile(join(VECTORS, name, 'mspid.txt'), 'utf8')).trimEnd();
      assert.deepEqual(Buffer.from(serializeIdentity(mspid, signCert)), await readFile(join(VECTORS, name, 'identity.bin')));
      assert.equal(`${pkiIdHex(mspid, signCert)}\n`, await readFile(join(VECTORS, name, 'pkiid.hex'), 'utf8'));
      const tlsDer = (await cert(join(VECTORS, name, 'tls/server.crt'))).raw;
      assert.equal(`${tlsCertHashHex(tlsDer)}\n`, await readFile(join(VECTORS, name, 'tls_cert_sha256.hex'), 'utf8'));
    }
  });

  it('writes a manifest.json shaped like the vectors, whose paths exist', async () => {
    const text = await readFile(join(org1.outDir, 'manifest.json'), 'utf8');
    const vectorText = await readFile(join(VECTORS, 'manifest.json'), 'utf8');
    assert.equal(text.endsWith('\n'), vectorText.endsWith('\n'), 'same trailing-newline convention');
    const manifest = JSON.parse(text) as Record<string, unknown> & { nodes: Record<string, unknown>[] };
    const vector = JSON.parse(vectorText) as Record<string, unknown> & { nodes: Record<string, unknown>[] };
    assert.deepEqual(Object.keys(manifest), Object.keys(vector));
    assert.equal(manifest['mspid'], 'Org1MSP');
    assert.equal(manifest['org'], 'org1.example.com');
    assert.equal(manifest.nodes.length, 2);
    for (const [i, node] of manifest.nodes.entries()) {
      assert.deepEqual(Object.keys(node), Object.keys(vector.nodes[0]!));
      const peer = org1.peers[i]!;
      // Same org and names as the vectors: every path is the vectors' path.
      for (const key of ['name', 'dir', 'mspid', 'sign_cert_pem', 'sign_key_pem', 'tls_cert_pem', 'tls_key_pem', 'tls_ca_pem', 'identity_bin', 'ca', 'trusted_by_org_ca']) {
        assert.equal(node[key], vector.nodes[i]![key], `nodes[${i}].${key}`);
      }
      assert.equal(node['pki_id_hex'], peer.pkiIdHex);
      assert.equal(node['tls_cert_sha256_hex'], peer.tlsCertSha256Hex);
      for (const key of ['dir', 'sign_cert_pem', 'sign_key_pem', 'tls_cert_pem', 'tls_key_pem', 'tls_ca_pem', 'identity_bin']) {
        await stat(join(org1.outDir, node[key] as string)); // throws if missing
      }
    }
  });

  it('reads manifests back with readOrgManifest (generated and Fabric vectors)', async () => {
    const read = await readOrgManifest(org2.outDir);
    assert.equal(read.outDir, org2.outDir);
    assert.equal(read.mspid, 'Org2MSP');
    assert.equal(read.org, 'org2.example.com');
    assert.equal(read.caCertPem, org2.caCertPem);
    assert.equal(read.tlsCaCertPem, org2.tlsCaCertPem);
    assert.equal(read.peers.length, 1);
    const [alpha] = read.peers;
    assert.deepEqual(
      { name: alpha!.name, dir: alpha!.dir, mspid: alpha!.mspid, pkiIdHex: alpha!.pkiIdHex, tlsCertSha256Hex: alpha!.tlsCertSha256Hex },
      org2.peers[0],
    );
    assert.equal(alpha!.fqdn, 'alpha.org2.example.com');
    assert.equal(alpha!.tlsKeyPath, join(org2.outDir, 'alpha/tls/server.key'));
    assert.equal(alpha!.trustedByOrgCa, true);

    const vectors = await readOrgManifest(VECTORS);
    assert.deepEqual(
      vectors.peers.map((p) => [p.name, p.fqdn, relative(vectors.outDir, p.dir), p.trustedByOrgCa]),
      [
        ['peer0', 'peer0.org1.example.com', 'peer0', true],
        ['peer1', 'peer1.org1.example.com', 'peer1', true],
        ['peer2', 'peer2.org1.example.com', 'peer2', true],
        ['peer3', 'peer3.org1.example.com', 'peer3', true],
        ['peer0', 'peer0.rogue.example.com', join('rogue', 'peer0'), false],
      ],
    );
    assert.equal(vectors.caCertPem, await readFile(join(VECTORS, 'ca/ca.org1.example.com-cert.pem'), 'utf8'));

    await assert.rejects(readOrgManifest(join(root, 'nowhere')), PeerDirError);
  });

  it('runs a mutual-TLS handshake between two peers and refuses a peer of another TLS CA', async () => {
    const p0 = files(org1, 'peer0');
    const p1 = files(org1, 'peer1');
    const stranger = files(org2, 'alpha');
    const server = tls.createServer({
      key: await readFile(p0.tlsKey),
      cert: await readFile(p0.tlsCert),
      ca: await readFile(p0.tlsCaCert),
      requestCert: true,
      rejectUnauthorized: true,
    });
    const sockets = new Set<tls.TLSSocket>();
    const accepted: string[] = [];
    const clientErrors: Error[] = [];
    server.on('secureConnection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
      accepted.push(String(socket.getPeerCertificate().subject.CN));
      assert.equal(socket.authorized, true);
      socket.end('hello');
    });
    server.on('tlsClientError', (err) => clientErrors.push(err));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;

    /** Dials, and resolves with what the server sent or the error that ended the connection. */
    const dial = async (options: tls.ConnectionOptions) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ...options });
      sockets.add(socket);
      let data = '';
      let error: Error | undefined;
      let serverCn: string | undefined;
      socket.on('secureConnect', () => {
        serverCn = String(socket.getPeerCertificate().subject.CN);
      });
      socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
      socket.on('error', (err) => (error = err));
      // Not events.once: it rejects on 'error', and a failed handshake is an outcome we inspect.
      await new Promise<void>((done) => socket.on('close', () => done()));
      sockets.delete(socket);
      return { data, error, serverCn, authorized: socket.authorized };
    };

    try {
      const p1Pair = { key: await readFile(p1.tlsKey), cert: await readFile(p1.tlsCert), ca: await readFile(p1.tlsCaCert) };
      // SNI + hostname check against the DNS SAN `localhost`.
      const byName = await dial({ ...p1Pair, servername: 'localhost' });
      assert.equal(byName.error, undefined);
      assert.equal(byName.data, 'hello');
      assert.equal(byName.serverCn, 'peer0.org1.example.com');
      assert.equal(byName.authorized, true);
      // No servername: Node checks the IP SAN against the host we dialled.
      const byIp = await dial(p1Pair);
      assert.equal(byIp.error, undefined);
      assert.equal(byIp.data, 'hello');
      assert.deepEqual(accepted, ['peer1.org1.example.com', 'peer1.org1.example.com']);

      // A client whose certificate comes from org2's TLS CA: the server must refuse it.
      const refused = await dial({
        key: await readFile(stranger.tlsKey),
        cert: await readFile(stranger.tlsCert),
        ca: await readFile(p1.tlsCaCert),
        servername: 'localhost',
      });
      // With TLS 1.3 the client finishes its side of the handshake before the server checks its
      // certificate; Node's server then drops the connection, so the client sees it close
      // without a byte of application data.
      assert.equal(refused.data, '', 'the stranger never gets application data');
      assert.equal(accepted.length, 2, 'no connection accepted for the stranger');
      assert.equal(clientErrors.length, 1, 'the server reports the refused client');

      // And a client that trusts org2's TLS CA does not accept org1's server.
      const distrusting = await dial({ ...p1Pair, ca: await readFile(stranger.tlsCaCert), servername: 'localhost' });
      assert.equal(distrusting.data, '');
      // OpenSSL sends the server's CA along with its leaf, hence "self-signed ... in chain".
      assert.match(
        String((distrusting.error as NodeJS.ErrnoException | undefined)?.code),
        /^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/,
      );
      assert.equal(distrusting.authorized, false);
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    }
  });

  it('issues peers from a reused CA and TLS CA that chain to them', async () => {
    const caKeyPem = await readFile(join(org1.outDir, 'ca/priv_sk'), 'utf8');
    const tlsCaKeyPem = await readFile(join(org1.outDir, 'tlsca/priv_sk'), 'utf8');
    const more = await generateOrg({
      outDir: join(root, 'org1-more'),
      peers: ['peer7'],
      ca: { certPem: org1.caCertPem, keyPem: caKeyPem },
      tlsCa: { certPem: org1.tlsCaCertPem, keyPem: tlsCaKeyPem },
    });
    assert.equal(more.caCertPem, org1.caCertPem);
    assert.equal(more.tlsCaCertPem, org1.tlsCaCertPem);
    assert.equal(await readFile(join(more.outDir, 'ca/priv_sk'), 'utf8'), caKeyPem);
    const ca = new X509Certificate(org1.caCertPem);
    const tlsCa = new X509Certificate(org1.tlsCaCertPem);
    const f = files(more, 'peer7');
    const signCert = await cert(f.signCert);
    const tlsCert = await cert(f.tlsCert);
    assert.ok(signCert.checkIssued(ca) && signCert.verify(ca.publicKey));
    assert.ok(tlsCert.checkIssued(tlsCa) && tlsCert.verify(tlsCa.publicKey));
    assert.equal(await readFile(f.caCert, 'utf8'), org1.caCertPem);
    assert.equal(await readFile(f.tlsCaCert, 'utf8'), org1.tlsCaCertPem);
    assert.ok(!signCert.checkIssued(new X509Certificate(org2.caCertPem)));
  });

  it('refuses unusable CA material and invalid options', async () => {
    const out = join(root, 'refused');
    const caKeyPem = await readFile(join(org1.outDir, 'ca/priv_sk'), 'utf8');
    const leafPem = await readFile(files(org1, 'peer0').signCert, 'utf8');
    const leafKeyPem = await readFile(files(org1, 'peer0').signKey, 'utf8');
    await assert.rejects(
      generateOrg({ outDir: out, peers: 1, ca: { certPem: org1.caCertPem, keyPem: await readFile(join(org2.outDir, 'ca/priv_sk'), 'utf8') } }),
      (err: unknown) => err instanceof PeerDirError && /does not match/.test(err.message),
    );
    await assert.rejects(
      generateOrg({ outDir: out, peers: 1, ca: { certPem: leafPem, keyPem: leafKeyPem } }),
      (err: unknown) => err instanceof PeerDirError && /not a CA/.test(err.message),
    );
    await assert.rejects(generateOrg({ outDir: out, peers: 1, ca: { certPem: 'junk', keyPem: caKeyPem } }), PeerDirError);
    const expired = await CertificateAuthority.create(caSubject('ca.old.example.com', 'old.example.com'), {
      notBefore: new Date(Date.now() - 10 * DAY_MS),
      notAfter: new Date(Date.now() - DAY_MS),
    });
    await assert.rejects(
      generateOrg({ outDir: out, peers: 1, tlsCa: { certPem: expired.certPem, keyPem: expired.keyPem } }),
      (err: unknown) => err instanceof PeerDirError && /expired/.test(err.message),
    );
    await assert.rejects(generateOrg({ outDir: out, peers: ['../escape'] }), TypeError);
    await assert.rejects(generateOrg({ outDir: out, peers: ['a', 'A'] }), TypeError);
    await assert.rejects(generateOrg({ outDir: out, peers: ['tlsca'] }), TypeError);
    await assert.rejects(generateOrg({ outDir: out, peers: 1.5 }), RangeError);
    await assert.rejects(generateOrg({ outDir: out, peers: 1, org: 'bad/org' }), TypeError);
    await assert.rejects(generateOrg({ outDir: out, peers: 1, mspid: '' }), TypeError);
    await assert.rejects(generateOrg({ outDir: out, peers: 1, validityDays: 0 }), RangeError);
    await assert.rejects(generateOrg({ outDir: out, peers: 1, hosts: ['has space'] }), TypeError);
    // Validation happens before anything is written.
    await assert.rejects(stat(out), { code: 'ENOENT' });
  });

  it('honours validityDays and extra hosts', async () => {
    const org = await generateOrg({
      outDir: join(root, 'custom'),
      peers: 1,
      validityDays: 30,
      hosts: ['gossip.test', '10.1.2.3', '::1', 'localhost'],
    });
    const tlsCert = await cert(files(org, 'peer0').tlsCert);
    assert.equal(Date.parse(tlsCert.validTo) - Date.parse(tlsCert.validFrom), 30 * DAY_MS);
    assert.equal(tlsCert.checkHost('gossip.test'), 'gossip.test');
    assert.equal(tlsCert.checkIP('10.1.2.3'), '10.1.2.3');
    assert.equal(tlsCert.checkIP('::1'), '::1');
    assert.equal(tlsCert.checkIP('127.0.0.1'), '127.0.0.1');
    // `localhost` given twice still appears once; DNS names come before IPs, as in Go.
    assert.equal(
      tlsCert.subjectAltName,
      'DNS:peer0.org1.example.com, DNS:peer0, DNS:localhost, DNS:gossip.test, IP Address:127.0.0.1, IP Address:10.1.2.3, IP Address:0:0:0:0:0:0:0:1',
    );
  });

  it('generates 8 distinct peers well within 2 s', async () => {
    const started = performance.now();
    const org = await generateOrg({ outDir: join(root, 'eight'), peers: 8 });
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 2000, `took ${elapsed.toFixed(0)} ms`);
    assert.deepEqual(
      org.peers.map((p) => p.name),
      ['peer0', 'peer1', 'peer2', 'peer3', 'peer4', 'peer5', 'peer6', 'peer7'],
    );
    const serials = new Set<string>();
    const keys = new Set<string>();
    for (const peer of org.peers) {
      for (const path of [files(org, peer.name).signCert, files(org, peer.name).tlsCert]) {
        const c = await cert(path);
        serials.add(c.serialNumber);
        keys.add(c.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'));
      }
    }
    assert.equal(serials.size, 16);
    assert.equal(keys.size, 16);
    assert.equal(new Set(org.peers.map((p) => p.pkiIdHex)).size, 8);
    assert.equal(resolve(org.outDir), org.outDir);
  });
});
