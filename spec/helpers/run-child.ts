import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** How a child process ended: its exit code ('hung' if it was still running at the deadline), and its output. */
export interface ChildRun {
  readonly exit: number | null | 'hung';
  readonly out: string;
  readonly err: string;
}

/**
 * Runs spec/helpers/`script` in a fresh node process (through tsx) and waits for it to exit on
 * its own: a process that still runs after `deadlineMs` (something left open) is killed and
 * reported as 'hung'.
 */
export function runChild(script: string, deadlineMs = 20_000): Promise<ChildRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, script)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ exit: 'hung', out, err });
    }, deadlineMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ exit: code, out, err });
    });
  });
}
