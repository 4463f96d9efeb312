// What `npm pack` produces, installed into a fresh project and used the way a user does: plain
// node (no TypeScript loader), ESM import and require(), a loopback exchange over mutual TLS,
// the installed bin, the declarations under two module resolutions, and the packaging linters.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const HERE = join(import.meta.dirname, 'consumer');
const FIXTURES = join(ROOT, 'spec', 'fixtures', 'fabric-vectors');
const BIN = (name: string): string => join(ROOT, 'node_modules', '.bin', name);

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end (a timeout kills it); never rejects. */
function run(file: string, args: readonly string[], cwd: string, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    // npm run sets npm_config_* for its children; the consumer project must not inherit them.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_')));
    execFile(file, [...args], { cwd, timeout: timeoutMs, env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const show = (r: Run): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

describe('the packed package, installed in a fresh project', { timeout: 600_000 }, () => {
  let work = '';
  let project = '';
  let tarball = '';
  let version = '';

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'rxgossip-consumer-'));
    version = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const pack = await run('npm', ['pack', '--pack-destination', work, '--silent'], ROOT, 240_000);
    assert.equal(pack.code, 0, show(pack));
    tarball = join(work, (await readdir(work)).find((f) => f.endsWith('.tgz'))!);
    project = join(work, 'app');
    await mkdir(project);
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
    const install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', tarball, 'prom-client@^15'], project, 240_000);
    assert.equal(install.code, 0, show(install));
    for (const f of ['exchange.mjs', 'require.cjs', 'consumer.ts']) await cp(join(HERE, f), join(project, f));
  }, { timeout: 480_000 });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('ships compiled JavaScript and declarations, not sources, specs or benches', async () => {
    const list = await run('tar', ['tzf', tarball], work);
    const files = list.stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts') && files.includes('dist/metrics/index.js'));
    assert.ok(files.includes('dist/proto/messages.js') && files.includes('dist/cli/main.js'));
    assert.ok(files.includes('dist/ui/assets/app.js') && files.includes('dist/ui/assets/index.html'), 'the live page ships built');
    assert.ok(files.includes('LICENSE') && files.includes('README.md') && files.includes('schema/gossip/message.proto'));
    const stray = files.filter((f) => /^(spec|bench|examples|scripts|lib|\.ci)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')));
    assert.deepEqual(stray, []);
  });

  it('plain node imports it (ESM) and two comms exchange a message over mutual TLS, printing nothing else', async () => {
    const r = await run(process.execPath, ['exchange.mjs', FIXTURES], project, 60_000);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stderr, '', 'the library printed nothing (no warnings) into the process');
    const result = JSON.parse(r.stdout) as { nonce: string; from: string; bob: string; tlsBound: boolean };
    assert.equal(result.nonce, '7');
    assert.equal(result.from, result.bob);
    assert.equal(result.tlsBound, true);
  });

  it('require() loads it too (Node >= 20.19 loads ESM from require), without a warning', async () => {
    const r = await run(process.execPath, ['require.cjs'], project);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(JSON.parse(r.stdout), { createComm: 'function', serveMetrics: 'function' });
    assert.equal(r.stderr, '');
  });

  it('the installed bin runs compiled JavaScript: --version and certs', async () => {
    const bin = join(project, 'node_modules', '.bin', 'rxgossip');
    const v = await run(bin, ['--version'], project);
    assert.equal(v.code, 0, show(v));
    assert.equal(v.stdout.trim(), version);
    assert.equal(v.stderr, '');
    const out = join(work, 'crypto');
    const certs = await run(bin, ['certs', '--out', out, '--peers', '1'], project);
    assert.equal(certs.code, 0, show(certs));
    assert.ok(existsSync(join(out, 'peer0')), `${out}/peer0 written:\n${show(certs)}`);
    assert.doesNotMatch(certs.stderr, /tsx|ERR_UNKNOWN_FILE_EXTENSION/);
  });

  for (const resolution of ['nodenext', 'bundler'] as const) {
    it(`its declarations type-check a consumer under moduleResolution ${resolution}`, async () => {
      const tsconfig = {
        compilerOptions: {
          target: 'ES2022',
          module: resolution === 'nodenext' ? 'NodeNext' : 'ESNext',
          moduleResolution: resolution === 'nodenext' ? 'NodeNext' : 'Bundler',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules', '@types')],
        },
        files: ['consumer.ts'],
      };
      const name = `tsconfig.${resolution}.json`;
      await writeFile(join(project, name), JSON.stringify(tsconfig, null, 2));
      const r = await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', name], project);
      assert.equal(r.code, 0, show(r));
    });
  }

  it('publint --strict and arethetypeswrong find nothing to fix', async () => {
    const lint = await run(BIN('publint'), ['--strict', tarball], work);
    assert.equal(lint.code, 0, show(lint));
    assert.match(lint.stdout, /All good!/);
    // ESM only: TypeScript's node16 view of require() from CommonJS predates require(esm). That
    // rule is ignored on purpose; require() is supported at run time (tested above).
    const attw = await run(BIN('attw'), [tarball, '--ignore-rules', 'cjs-resolves-to-esm', '--format', 'table'], work);
    assert.equal(attw.code, 0, show(attw));
    assert.match(attw.stdout, /No problems found/);
  });
});
