// After stop() the process exits by itself: nothing comm opened is left behind.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { runChild } from '../helpers/run-child.js';

it('a process that used comm and stopped it exits on its own, with no handle left', async () => {
  const { exit, out, err } = await runChild('leak-child.ts');
  assert.equal(exit, 0, `child exit ${exit}\n${err}`);
  const report = JSON.parse(out.trim().split('\n').at(-1)!) as { baseline: string[]; left: string[] };
  assert.deepEqual(report.left, report.baseline, `left behind: ${report.left.join(', ')}`);
});
