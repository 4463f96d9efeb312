// A TLS server that insists on a client certificate from the org1 TLS CA and sends a TLS alert
// otherwise, as a Fabric peer (Go's crypto/tls) does. grpc-js servers just close the connection,
// so this is OpenSSL's s_server, which every Debian machine has.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { FIXTURES, sleep } from './peers.js';

export interface RefusingServer {
  readonly endpoint: string;
  stop(): void;
}

export async function startTlsRefusingServer(): Promise<RefusingServer> {
  const openssl = spawnSync('openssl', ['version']);
  assert.equal(openssl.status, 0, 'this spec needs the openssl command (Debian: apt-get install openssl)');
  const free = createServer();
  await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
  const port = (free.address() as { port: number }).port;
  await new Promise<void>((resolve) => free.close(() => resolve()));
  const tls = join(FIXTURES, 'peer0', 'tls');
  const child = spawn(
    'openssl',
    ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', join(tls, 'server.crt'), '-key', join(tls, 'server.key'),
      '-CAfile', join(tls, 'ca.crt'), '-Verify', '1', '-verify_return_error', '-alpn', 'h2', '-quiet'],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) =>
      connect(port, '127.0.0.1')
        .on('connect', function (this: Socket) {
          this.destroy();
          resolve(true);
        })
        .on('error', () => resolve(false)),
    );
    if (up) break;
    await sleep(50);
  }
  return { endpoint: `127.0.0.1:${port}`, stop: () => void child.kill() };
}
