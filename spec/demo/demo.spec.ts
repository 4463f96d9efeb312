// The cluster demo as a user runs it: a short run must pass, and Ctrl-C must leave no process.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { join } from 'node:path';

const MAIN = join(import.meta.dirname, '..', '..', 'examples', 'cluster', 'main.ts');

function run(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** Command lines of processes still running that mention `text`. */
function processesMentioning(text: string): string[] {
  const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return ps.split('\n').filter((line) => line.includes(text) && !line.startsWith('ps '));
}

describe('npm run demo', () => {
  it('a short run delivers every message to every live peer and exits 0', async () => {
    const demo = run(['--peers', '4', '--messages', '100']);
    const code = await demo.exited;
    const out = demo.output();
    assert.equal(code, 0, out);
    assert.match(out, /membership converged/);
    assert.match(out, /delivery ratio\s+\|\s+100\.0 %/);
    assert.match(out, /peer3 killed: dead in every view/);
    assert.match(out, /caught up by pull \(110 msgs\)/);
    assert.match(out, /every message at every live peer\s+\|\s+yes/);
    const certs = /peer directories in (\S+)/.exec(out)![1]!;
    assert.deepEqual(processesMentioning(certs), []);
  });

  it('Ctrl-C stops every peer process', async () => {
    const demo = run(['--peers', '4', '--messages', '100000', '--rate', '200']);
    const deadline = Date.now() + 30_000;
    while (!/peer processes listening/.test(demo.output())) {
      assert.ok(Date.now() < deadline, demo.output());
      await new Promise((r) => setTimeout(r, 50));
    }
    const certs = /peer directories in (\S+)/.exec(demo.output())![1]!;
    assert.equal(processesMentioning(certs).length, 4, 'four peer processes running');
    demo.child.kill('SIGINT');
    const code = await demo.exited;
    assert.equal(code, 130, demo.output());
    assert.deepEqual(processesMentioning(certs), []);
  });
});
