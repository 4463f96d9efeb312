// Running the rxgossip CLI as a child process, and fixture comms for it to talk to.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createComm, loadPeerDir, type Comm, type CommOptions, type LocalPeer } from '../../lib/index.js';

export const ROOT = join(import.meta.dirname, '..', '..');
// The CLI from its TypeScript sources; spec/package runs the compiled bin from the packed tarball.
export const CLI_MAIN = join(ROOT, 'lib', 'cli', 'main.ts');
export const FIXTURES = join(ROOT, 'spec', 'fixtures', 'fabric-vectors');
export const ORG1_TLS_CA = join(FIXTURES, 'tlsca', 'tlsca.org1.example.com-cert.pem');

/** A fixture peer directory's path: 'peer0'..'peer3', 'rogue/peer0'. */
export const fixtureDir = (name: string): string => join(FIXTURES, name);

const peers = new Map<string, Promise<LocalPeer>>();

/** A fixture peer, loaded once per process. */
export function fixturePeer(name: string): Promise<LocalPeer> {
  let peer = peers.get(name);
  if (!peer) peers.set(name, (peer = loadPeerDir(fixtureDir(name))));
  return peer;
}

/** A comm of a fixture peer on 127.0.0.1:0 with short timeouts; stop it in after(). */
export async function fixtureComm(name: string, options: Partial<CommOptions> = {}): Promise<Comm> {
  return createComm({
    self: await fixturePeer(name),
    listen: '127.0.0.1:0',
    dialTimeoutMs: 1_000,
    connTimeoutMs: 1_000,
    pingTimeoutMs: 1_000,
    handshakeTimeoutMs: 2_000,
    closeTimeoutMs: 500,
    ...options,
  });
}

/** How a CLI run ended. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

const running = new Set<CliProcess>();
/** Runs whose process lingered after its command was done (main.ts then forces the exit). */
const lingered: string[] = [];

/** A running `rxgossip` child process, its output collected as it comes. */
export class CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<CliResult>;
  private readonly waiters = new Set<() => void>();

  constructor(args: readonly string[], timeoutMs: number) {
    this.child = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    running.add(this);
    this.child.stdout.setEncoding('utf8').on('data', (s: string) => {
      this.stdout += s;
      this.wake();
    });
    this.child.stderr.setEncoding('utf8').on('data', (s: string) => {
      this.stderr += s;
      this.wake();
    });
    const killer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        clearTimeout(killer);
        running.delete(this);
        if (this.stderr.includes('rxgossip: forcing exit')) lingered.push(`${args.join(' ')}\n${this.stderr}`);
        this.wake();
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  /** The first match of `pattern` in stdout (or stderr), waiting up to `ms` for it. */
  async waitFor(pattern: RegExp, stream: 'stdout' | 'stderr' = 'stdout', ms = 10_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const match = this[stream].match(pattern);
      if (match) return match;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`rxgossip exited before ${stream} matched ${pattern}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${pattern} on ${stream}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.add(done);
      });
    }
  }

  /** The JSON lines of stdout, parsed. */
  jsonLines(): Record<string, unknown>[] {
    return this.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Kills it (SIGKILL) unless it has exited, and waits for the exit. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
    this.waiters.clear();
  }
}

/** Starts `rxgossip args...`; it is SIGKILLed after `timeoutMs` if still running. */
export function startCli(args: readonly string[], timeoutMs = 30_000): CliProcess {
  return new CliProcess(args, timeoutMs);
}

/** Runs `rxgossip args...` to its end. */
export function runCli(args: readonly string[], timeoutMs = 20_000): Promise<CliResult> {
  const cli = new CliProcess(args, timeoutMs);
  cli.child.stdin.end();
  return cli.exited;
}

/**
 * For after(): kills every CLI process still running, then fails if any run left a handle open
 * after its command finished (it printed "forcing exit").
 */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill()));
  if (lingered.length > 0) throw new Error(`rxgossip left handles open after:\n${lingered.splice(0).join('\n')}`);
}

/** A TCP port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
