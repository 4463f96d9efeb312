// Running iproute2's `ip`: the only tool the lab uses to build and remove its network.
import { execFile, execFileSync } from 'node:child_process';

/** Runs `ip ...args`; rejects with ip's own error text. */
export function ip(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** The synchronous form, for cleanup from an 'exit' handler (where nothing async runs). */
export function ipSync(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The names of all network namespaces (`ip netns list` prints "name (id: N)"). */
export function parseNetnsList(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '');
}
