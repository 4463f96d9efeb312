// --help on every command (child processes), and how bad command lines end (in process).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { runCli as runInProcess } from '../../lib/cli/program.js';
import { ROOT, killAll, runCli } from './helpers.js';

after(killAll);

const RECORDER = join(ROOT, 'spec/cli/import-recorder.mjs');

/** Runs the CLI in this process with captured output. */
async function inProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = new PassThrough().setEncoding('utf8').on('data', (s: string) => (stdout += s));
  const err = new PassThrough().setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const code = await runInProcess(args, { stdout: out, stderr: err, stdin: new PassThrough() });
  return { code, stdout, stderr };
}

describe('--help', () => {
  const cases: [string[], RegExp[]][] = [
    [[], [/^Usage: rxgossip \[options\] \[command\]/, /certs \[options\]/, /peer \[options\]/, /probe \[options\] <host:port>/, /watch \[options\] <host:port>/, /Exit status: 0 success, 1 .*, 2 bad input/]],
    [['certs'], [/^Usage: rxgossip certs \[options\]/, /--out <dir>/, /--peers <n>/, /--mspid <id>.*\(default: "Org1MSP"\)/, /--org <domain>/, /--hosts <a,b>/]],
    [['peer'], [/^Usage: rxgossip peer \[options\]/, /--peer-dir <dir>/, /--listen <host:port>/, /--bootstrap <host:port,...>/, /--metrics <host:port>/, /--log-level <level>[\s\S]*default: "info"/]],
    [['probe'], [/^Usage: rxgossip probe \[options\] <host:port>/, /--handshake/, /--peer-dir <dir>/, /--timeout <ms>[\s\S]*default: 3000/, /--server-name <name>/, /--tls-ca <file>/]],
    [['watch'], [/^Usage: rxgossip watch \[options\] <host:port>/, /--json/, /--count <n>/, /--duration <seconds>/, /--bytes <encoding>/]],
  ];
  for (const [command, patterns] of cases) {
    it(`rxgossip ${[...command, '--help'].join(' ')} prints its usage and exits 0`, async () => {
      const r = await runCli([...command, '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      for (const p of patterns) assert.match(r.stdout, p);
    });
  }

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await inProcess(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${version}\n`);
  });

  it('loads only what the command needs: --version and certs no gRPC stack, probe all of it', async () => {
    const packagesLoaded = (args: string[]): string[] => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', RECORDER, join(ROOT, 'lib/cli/main.ts'), ...args], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      const names = [...r.stderr.matchAll(/^imported .*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//gm)].map((m) => m[1]!);
      return [...new Set(names)].filter((n) => n !== 'tsx').sort();
    };
    assert.deepEqual(packagesLoaded(['--version']), ['commander']);
    assert.deepEqual(packagesLoaded(['certs', '--help']), ['commander']);
    const probe = packagesLoaded(['probe', '--help']);
    for (const heavy of ['@grpc/grpc-js', 'rxjs', 'pino']) assert.ok(probe.includes(heavy), `probe loads ${heavy}: ${probe.join(', ')}`);
  });
});

describe('bad command lines exit 2 with a message', () => {
  const cases: [string[], RegExp][] = [
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['probe', '127.0.0.1:7051'], /required option '--peer-dir <dir>' not specified/],
    [['probe', '--peer-dir', 'x'], /missing required argument 'host:port'/],
    [['probe', 'localhost', '--peer-dir', 'x'], /argument 'host:port'.*expected HOST:PORT, got "localhost"/],
    [['probe', '127.0.0.1:0', '--peer-dir', 'x'], /port must be 1\.\.65535, got 0/],
    [['probe', '127.0.0.1:70000', '--peer-dir', 'x'], /port must be 1\.\.65535, got 70000/],
    [['probe', '127.0.0.1:7051', '--peer-dir', 'x', '--timeout', 'soon'], /'--timeout <ms>' argument 'soon' is invalid\. expected an integer/],
    [['peer', '--peer-dir', 'x'], /required option '--listen <host:port>' not specified/],
    [['peer', '--peer-dir', 'x', '--listen', '127.0.0.1:0', '--bootstrap', '127.0.0.1:1,nope'], /expected HOST:PORT, got "nope"/],
    [['peer', '--peer-dir', 'x', '--listen', ':1'], /expected HOST:PORT, got ":1"/],
    [['watch', '127.0.0.1:7051', '--peer-dir', 'x', '--count', '0'], /'--count <n>' argument '0' is invalid\. expected at least 1/],
    [['watch', '127.0.0.1:7051', '--peer-dir', 'x', '--duration', '-1'], /expected a positive number of seconds/],
    [['watch', '127.0.0.1:7051', '--peer-dir', 'x', '--bytes', 'octal'], /Allowed choices are hex, base64/],
    [['peer', '--peer-dir', 'x', '--listen', '127.0.0.1:0', '--log-level', 'loud'], /Allowed choices are trace, debug, info, warn, error, fatal, silent/],
  ];
  for (const [args, pattern] of cases) {
    it(args.join(' '), async () => {
      const r = await inProcess(args);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, pattern);
      assert.match(r.stderr, /\(add --help for usage\)\n$/);
    });
  }

  it('a bad peer directory is bad input too', async () => {
    const r = await inProcess(['probe', '127.0.0.1:7051', '--peer-dir', join(ROOT, 'package.json')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^rxgossip probe: --peer-dir .*package\.json: not a directory\n$/);
  });
});

describe('a reader that closes the pipe', () => {
  it('`rxgossip watch --help | head -3`: three lines, exit 0, nothing on stderr', async () => {
    const { spawn } = await import('node:child_process');
    // stdout is a pipe whose reader leaves after three lines, as `head -3` does.
    const child = spawn('bash', ['-c', `node --import tsx ${join(ROOT, 'lib', 'cli', 'main.ts')} watch --help | head -3; exit \${PIPESTATUS[0]}`], {
      cwd: ROOT,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(stdout.match(/\n/g)?.length, 3);
    assert.match(stdout, /^Usage: rxgossip watch/);
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });
});
