// The network-namespace lab, short: 6 hosts, a 5 s partition (npm run netlab runs 20 hosts and
// 30 s). Needs root, as CI has: without it these tests fail saying so, rather than skip.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { existingNamespaces, removeLeftovers } from '../../scripts/netlab/lab-network.js';
import { FAST_LAB_TIMINGS, runNetlab } from '../../scripts/netlab/netlab.js';
import { whyNotRoot } from '../../scripts/netlab/needs-root.js';

const MAIN = join(import.meta.dirname, '..', '..', 'scripts', 'netlab', 'main.ts');

function requireRoot(): void {
  const why = whyNotRoot();
  assert.equal(why, undefined, `${why}: spec/netlab cannot run without root`);
}

describe('netlab', () => {
  it('6 hosts: converge, split in two for 5 s while both halves publish, heal, kill -9 and restart one', async () => {
    requireRoot();
    const lines: string[] = [];
    const result = await runNetlab({ hosts: 6, partitionMs: 5_000, stepTimeoutMs: 30_000, timings: FAST_LAB_TIMINGS, log: (l) => lines.push(l) });
    console.log(`# netlab:\n${result.timeline.table()}`);
    assert.equal(result.error, undefined, `${result.error?.message}\n${lines.join('\n')}`);
    const f = result.figures!;
    assert.ok(f.publishedWhileSplit >= 20, 'both halves published while split');
    assert.equal(f.crossedWhileSplit, 0, 'nothing crossed the partition: the split was real');
    // Every message of each half reached the 3 hosts of the other half after the heal.
    assert.equal(f.healedByPush + f.healedByPull, f.publishedWhileSplit * 3);
    assert.ok(f.caughtUpByPull > 0, 'the restarted peer caught up by pull');
    const steps = result.timeline.steps.map((s) => s.step);
    for (const step of ['converged', 'split seen', 'healed', 'views whole', 'all delivered', 'dead seen', 'rejoined', 'caught up', 'stopped']) {
      assert.ok(steps.includes(step), `the timeline has ${step}`);
    }
    assert.deepEqual(result.leftAfter, [], 'nothing of the lab is left');
    assert.ok(result.peerStats.every((s) => s !== undefined), 'every peer stopped cleanly');
  });

  it('removes the namespaces of a crashed run', async () => {
    requireRoot();
    // A pid that no longer exists: a process that has already exited.
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    const stale = `rxgl-${gone}-h0`;
    spawnSync('ip', ['netns', 'add', stale]);
    assert.ok(existingNamespaces().includes(stale));
    assert.ok(removeLeftovers().includes(stale));
    assert.ok(!existingNamespaces().includes(stale));
  });

  it('Ctrl-C removes everything', async () => {
    requireRoot();
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--hosts', '3', '--fast'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const prefix = `rxgl-${child.pid}-`;
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line.includes('peers started')) resolve();
      });
      void exited.then(() => reject(new Error('netlab exited before its peers started')));
    });
    assert.ok(existingNamespaces().some((ns) => ns.startsWith(prefix)), 'the lab is up');
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    assert.deepEqual(existingNamespaces().filter((ns) => ns.startsWith(prefix)), []);
  });
});
