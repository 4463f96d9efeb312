// The live page in a real browser: the cluster demo with --ui (4 peer processes over mutual TLS),
// opened in Debian's Chromium. It must show 4 alive peers, a peer killed from the page as dead
// within the alive expiration, the same peer alive again after a restart from the page, and a
// message reaching all 4. Screenshots go to build/screenshots/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { TopologySnapshot } from '../../lib/index.js';
import { findChromium, launchChromium, missingChromiumMessage, type Browser } from './chromium.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SCREENSHOTS = join(ROOT, 'build', 'screenshots');
const SPEC = 'spec/ui/live-page-browser.spec.ts';
const chromiumPath = findChromium();

/** Command lines of processes still running that mention `text`. */
function processesMentioning(text: string): string[] {
  return execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(text) && !line.startsWith('ps '));
}

describe('the live page in Chromium (npm run demo -- --ui)', () => {
  if (chromiumPath === undefined) {
    const message = missingChromiumMessage(SPEC);
    // Loud on the console whatever the reporter, then a failure: this spec never skips.
    console.error(`\n${'!'.repeat(78)}\n${message}\n${'!'.repeat(78)}\n`);
    it('runs in Chromium', () => assert.fail(message));
    return;
  }

  let demo: ChildProcessWithoutNullStreams;
  let output = '';
  let exited: Promise<number | null>;
  let browser: Browser;
  let page: Page;
  let url = '';
  let certs = '';
  const problems: string[] = [];

  before(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    demo = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'examples', 'cluster', 'main.ts'), '--peers', '4', '--ui', '127.0.0.1:0', '--rate', '4'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    demo.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
    demo.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
    exited = new Promise((resolve) => demo.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const match = /live page: (http:\/\/\S+)/.exec(output);
      if (match) {
        url = match[1]!;
        break;
      }
      assert.ok(Date.now() < deadline && demo.exitCode === null, `the demo did not print its page's URL:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    certs = /peer directories in (\S+)/.exec(output)![1]!;
    browser = await launchChromium(chromiumPath);
    page = await browser.context.newPage();
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
  });

  after(async () => {
    await browser?.close();
    if (demo && demo.exitCode === null) {
      demo.kill('SIGINT');
      await exited;
    }
  });

  const row = (name: string) => page.locator('#peers tbody tr', { has: page.locator('td.label', { hasText: new RegExp(`^${name}$`) }) });

  it('shows the 4 peers alive, connected, with rates', async () => {
    await page.goto(url);
    await page.locator('#summary[data-alive="4"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('#peers tbody tr[data-state="alive"]').count(), 4);
    // A peer is alive in every view (alive messages are relayed) a moment before every pair has
    // dialed its own connection: the full mesh must follow, not already be there.
    const summary = /4 alive · 0 dead · 6 connection\(s\) · dead after 2\.5 s of silence/;
    await page.locator('#summary', { hasText: summary }).waitFor({ timeout: 15_000 });
    assert.match((await page.locator('#summary').textContent()) ?? '', summary);
    assert.equal(await page.locator('#connection').textContent(), 'live');
    // cytoscape draws the graph on canvases inside #graph.
    assert.ok((await page.locator('#graph canvas').count()) > 0, 'the graph is drawn');
    // Rates come from the second sample on.
    await page.locator('#peers tbody tr td.num', { hasText: /^\d+\.\d$/ }).first().waitFor({ timeout: 10_000 });
    // Kill buttons, since the demo enables its controls.
    assert.equal(await page.locator('#peers tbody tr button.kill:visible').count(), 4);
  });

  it('shows a published message reaching every peer, with its latency', async () => {
    await page.locator('#messages li[data-reached="4"]').first().waitFor({ timeout: 20_000 });
    const text = (await page.locator('#messages li[data-reached="4"]').first().textContent()) ?? '';
    assert.match(text, /from peer\d: reached 4 of 4 peer\(s\), slowest \d+(\.\d)? ms/);
  });

  it('kills peer3 from the page: dead within the alive expiration', async () => {
    const topology = (await (await fetch(new URL('/api/topology', url))).json()) as TopologySnapshot;
    const expiration = topology.aliveExpirationMs!;
    assert.equal(expiration, 2_500);
    const killedAt = Date.now();
    await row('peer3').locator('button.kill').click();
    await row('peer3').and(page.locator('[data-state="dead"]')).waitFor({ timeout: 30_000 });
    const detected = Date.now() - killedAt;
    // The expiration, plus two 500 ms sampling periods (peer, then orchestrator), plus slack for a
    // loaded machine. comm usually finds the dead peer at once, when its streams break.
    assert.ok(detected <= expiration + 1_000 + 3_000, `peer3 shown dead after ${detected} ms`);
    assert.equal(await row('peer3').getAttribute('data-running'), 'false');
    await page.locator('#summary[data-alive="3"][data-dead="1"]').waitFor({ timeout: 5_000 });
    assert.ok(await row('peer3').locator('button.restart').isVisible());
    await page.screenshot({ path: join(SCREENSHOTS, 'live-page-peer-dead.png') });
  });

  it('restarts peer3 from the page: alive again, and it receives messages', async () => {
    await row('peer3').locator('button.restart').click();
    await row('peer3').and(page.locator('[data-state="alive"][data-running="true"]')).waitFor({ timeout: 30_000 });
    await page.locator('#summary[data-alive="4"][data-dead="0"]').waitFor({ timeout: 10_000 });
    // A message published after the restart reaches all four again.
    const before = await page.locator('#messages li').count();
    assert.ok(before > 0);
    // The newest message (listed first) reaching all four: published after the restart.
    await page.locator('#messages li:first-child[data-reached="4"]').waitFor({ timeout: 20_000 });
    await page.screenshot({ path: join(SCREENSHOTS, 'live-page.png') });
    assert.deepEqual(problems, [], 'no script or CSP errors in the page');
    assert.match(output, /peer3 killed \(SIGKILL\) from the page/);
    assert.match(output, /peer3 restarted on 127\.0\.0\.1:\d+ from the page/);
  });

  it('Ctrl-C stops the demo, its page and every peer process', async () => {
    await browser.close();
    demo.kill('SIGINT');
    assert.equal(await exited, 130, output);
    assert.deepEqual(processesMentioning(certs), []);
    await assert.rejects(fetch(url), 'the page server is closed');
  });
});
