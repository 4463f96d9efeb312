// Runs each example as a child process, with small parameters, and checks what it prints.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs examples/<name>/main.ts; fails if it does not exit by itself within `timeoutMs`. */
function run(name: string, args: string[], timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join('examples', name, 'main.ts'), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const explain = (r: Run): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

describe('examples', () => {
  it('are npm scripts', () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    for (const name of ['broadcast', 'membership', 'pull-sync']) {
      assert.match(scripts[`example:${name}`] ?? '', new RegExp(`examples/${name}/main\\.ts`));
    }
  });

  it('import only the public entry point', () => {
    for (const name of ['broadcast', 'membership', 'pull-sync']) {
      const source = readFileSync(join(ROOT, 'examples', name, 'main.ts'), 'utf8');
      const imports = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
      // Into the package: only its entry point. Besides that, only the examples' own helpers.
      assert.deepEqual(imports.filter((i) => i.startsWith('../../')), ['../../lib/index.js'], name);
      assert.deepEqual(imports.filter((i) => i.startsWith('.') && !i.startsWith('../../')), ['../support.js'], name);
    }
    const support = readFileSync(join(ROOT, 'examples', 'support.ts'), 'utf8');
    assert.deepEqual([...support.matchAll(/from '([^']+)'/g)], [], 'examples/support.ts imports nothing');
  });

  it('two-peers: probe, handshake, respond, sendTo and queueTo with nothing dropped', async () => {
    const r = await run('two-peers', [join(ROOT, 'spec', 'fixtures', 'fabric-vectors'), '3000']);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /probe peer1: Ping answered in/);
    assert.match(r.stdout, /handshake peer1: authenticated as/);
    assert.match(r.stdout, /peer0 got peer1's answer to nonce 42 over the same connection/);
    assert.match(r.stdout, /sendTo: peer1 got one, two, three/);
    assert.match(r.stdout, /queueTo: 3000 messages of 1 KiB: \d+ msgs\/s, all in order, 0 dropped/);
    assert.match(r.stdout, /stopped both peers/);
  });

  it('broadcast: every line reaches every other peer once', async () => {
    const r = await run('broadcast', ['--peers', '3', '--lines', '4', '--fanout', '1']);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /OK: 4 lines, each reached the 2 other peers exactly once \(8 deliveries\)/);
    const got = [...r.stdout.matchAll(/(peer\d) got "(.+)" said by (peer\d) \(via (peer\d)\)/g)];
    assert.equal(got.length, 8, explain(r));
    const pairs = new Set(got.map((m) => `${m[1]}|${m[2]}`));
    assert.equal(pairs.size, 8, 'no line delivered twice to a peer');
    for (const m of got) {
      assert.notEqual(m[1], m[3], 'nobody gets their own line back');
      assert.notEqual(m[1], m[4], 'nothing comes via oneself');
    }
  });

  it('membership: peers join, one dies and comes back', async () => {
    const r = await run('membership', ['--peers', '3', '--alive-ms', '100', '--expiry-ms', '600']);
    assert.equal(r.code, 0, explain(r));
    for (const observer of ['peer0', 'peer1']) {
      assert.match(r.stdout, new RegExp(`${observer} sees: peer2 \\(.*\\) joined`));
      assert.match(r.stdout, new RegExp(`${observer} sees: peer2 \\(.*\\) is dead`));
      assert.match(r.stdout, new RegExp(`${observer} sees: peer2 \\(.*\\) is alive again`));
    }
    assert.match(r.stdout, /peer2: alive \[peer0 peer1\] dead \[-\]\nOK: joined, found dead, revived/);
  });

  it('pull-sync: the replica that was down catches up by pull', async () => {
    const r = await run('pull-sync', ['--peers', '3', '--writes', '8', '--pull-ms', '200']);
    assert.equal(r.code, 0, explain(r));
    const last = r.stdout.slice(r.stdout.lastIndexOf('converged:'));
    const fingerprints = [...last.matchAll(/fingerprint ([0-9a-f]{12})/g)].map((m) => m[1]);
    assert.equal(fingerprints.length, 3, explain(r));
    assert.equal(new Set(fingerprints).size, 1, 'all replicas equal');
    assert.match(r.stdout, /peer2 pulled \d+ writes/);
    assert.match(r.stdout, /OK: peer2 caught up by pull \(\d+ writes pulled\)/);
  });

  it('exit non-zero when they cannot do their job', async () => {
    const r = await run('broadcast', ['--peers', '9']);
    assert.notEqual(r.code, 0, explain(r));
  });
});
