// The orchestrator's handle on one host's peer process: starts it inside the host's namespace
// (`ip netns exec`), keeps what it reports (view, deliveries), and stops or kills it.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { LabHost } from './lab-network.js';
import type { LabCommand, LabDelivery, LabPeerConfig, LabReport, LabTimings } from './protocol.js';

const PEER_SCRIPT = join(import.meta.dirname, 'peer.ts');
/** Lines of a peer's stderr kept for the failure report. */
const STDERR_LINES = 20;

export class LabPeer {
  pkiId = '';
  endpoint = '';
  alive = new Set<string>();
  dead = new Set<string>();
  /** When the last view arrived (wall clock). */
  viewAt = 0;
  readonly delivered = new Map<number, LabDelivery>();
  /** The stats the peer reported when it stopped gracefully. */
  stats: Record<string, unknown> | undefined;
  /** Its latest periodic counters, and the last handshake failure it saw. */
  latest: { stats: Record<string, unknown>; lastHandshakeFailure?: string } | undefined;
  private child: ChildProcessWithoutNullStreams | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly stderr: string[] = [];

  constructor(
    readonly host: LabHost,
    readonly dir: string,
    readonly port: number,
  ) {}

  get name(): string {
    return `host${this.host.index}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the peer process; resolves when it listens. Deliveries and view start empty. */
  start(bootstrap: readonly string[], timings: LabTimings): Promise<void> {
    const config: LabPeerConfig = { dir: this.dir, listen: `${this.host.address}:${this.port}`, bootstrap, timings };
    const child = spawn(
      'ip',
      ['netns', 'exec', this.host.netns, process.execPath, '--import', 'tsx', PEER_SCRIPT, JSON.stringify(config)],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.child = child;
    this.alive = new Set();
    this.dead = new Set();
    this.delivered.clear();
    this.stats = undefined;
    this.latest = undefined;
    this.stderr.length = 0;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    // Writes to a peer that just died fail with EPIPE: that death is reported by 'exit'.
    child.stdin.on('error', () => undefined);
    createInterface({ input: child.stderr }).on('line', (line) => {
      this.stderr.push(line);
      if (this.stderr.length > STDERR_LINES) this.stderr.shift();
    });
    return new Promise((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        let r: LabReport;
        try {
          r = JSON.parse(line) as LabReport;
        } catch {
          return; // not a report (a stray print): ignore
        }
        if (r.type === 'ready') {
          this.endpoint = r.endpoint;
          this.pkiId = r.pkiId;
          resolve();
        } else this.onReport(r);
      });
      child.once('exit', (code, signal) =>
        reject(new Error(`${this.name} exited before it was ready (${signal ?? code}): ${this.stderr.join('\n')}`)),
      );
    });
  }

  send(command: LabCommand): void {
    if (this.running) this.child!.stdin.write(`${JSON.stringify(command)}\n`);
  }

  /** kill -9. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGKILL');
    await this.exited;
  }

  /** Asks the peer to stop (it reports its stats), and kills it if it has not exited in `ms`. */
  async stop(ms = 5_000): Promise<void> {
    if (!this.running) return;
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), ms);
    this.send({ type: 'stop' });
    this.child!.stdin.end();
    await this.exited;
    clearTimeout(timer);
  }

  /** Kills the process at once, synchronously (for the exit trap). */
  killSync(): void {
    if (this.running) this.child!.kill('SIGKILL');
  }

  /** The last lines the peer wrote to stderr. */
  recentErrors(): string {
    return this.stderr.join('\n');
  }

  private onReport(r: Exclude<LabReport, { type: 'ready' }>): void {
    switch (r.type) {
      case 'view':
        this.alive = new Set(r.alive);
        this.dead = new Set(r.dead);
        this.viewAt = r.at;
        break;
      case 'published':
        this.delivered.set(r.id, { id: r.id, at: r.at, by: 'origin' });
        break;
      case 'delivered':
        for (const d of r.items) if (!this.delivered.has(d.id)) this.delivered.set(d.id, d);
        break;
      case 'stats':
        this.latest = { stats: r.stats, ...(r.lastHandshakeFailure ? { lastHandshakeFailure: r.lastHandshakeFailure } : {}) };
        break;
      case 'stopped':
        this.stats = r.stats;
        break;
    }
  }
}
