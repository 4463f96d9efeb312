// After stop() the process exits by itself: nothing comm opened is left behind.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

it('a process that used comm and stopped it exits on its own, with no handle left', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'helpers', 'leak-child.ts')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = await new Promise<number | null | 'hung'>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('hung');
    }, 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  assert.equal(exit, 0, `child exit ${exit}\n${err}`);
  const report = JSON.parse(out.trim().split('\n').at(-1)!) as { baseline: string[]; left: string[] };
  assert.deepEqual(report.left, report.baseline, `left behind: ${report.left.join(', ')}`);
});
