// The system Chromium, driven by playwright-core (which never downloads a browser of its own).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** Where Chromium is, or undefined. CHROMIUM_PATH overrides Debian's /usr/bin/chromium. */
export function findChromium(): string | undefined {
  return CANDIDATES.find((path): path is string => path !== undefined && path !== '' && existsSync(path));
}

/** What to tell someone whose machine has no Chromium. */
export function missingChromiumMessage(spec: string): string {
  return [
    `${spec} could not run: no Chromium found (looked at ${CANDIDATES.filter(Boolean).join(', ')}).`,
    'Install it with:  sudo apt-get install -y chromium   (Debian/Ubuntu; .ci/run does this)',
    'or point CHROMIUM_PATH at a Chromium or Chrome binary.',
  ].join('\n');
}

/** A headless Chromium with a fresh profile; close() also removes the profile. */
export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(executablePath: string): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'rxgossip-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 720 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
