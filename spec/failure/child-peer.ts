// Starts spec/failure/peer-process.ts as a child process and follows what it prints.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const SCRIPT = join(import.meta.dirname, 'peer-process.ts');

export interface ChildPeerOptions {
  name?: string;
  listen?: string;
  /** host:port and PKI-ID of a peer the child sends one message to at start. */
  dial?: { endpoint: string; pkiId: Buffer };
  /** On stop(), the child stops its comm and must then exit by itself (see peer-process.ts). */
  naturalExit?: boolean;
}

/** A peer running in a child process. */
export class ChildPeer {
  readonly proc: ChildProcess;
  /** Resolves with the child's endpoint once it serves; rejects if it exits first. */
  readonly ready: Promise<{ endpoint: string; pkiId: Buffer }>;
  /** Resolves with the exit code or signal when the child has exited. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  /** seqNums of the dataMsgs it received, in order. */
  readonly received: number[] = [];
  /** What the child had left after its comm stopped (--natural-exit), once it said so. */
  resourcesAfterStop: string[] | undefined;
  stderr = '';
  private exitedFlag = false;

  constructor(options: ChildPeerOptions = {}) {
    const args = ['--import', 'tsx', SCRIPT, '--name', options.name ?? 'peer1', '--listen', options.listen ?? '127.0.0.1:0'];
    if (options.naturalExit) args.push('--natural-exit');
    if (options.dial) args.push('--dial', `${options.dial.endpoint},${options.dial.pkiId.toString('hex')}`);
    this.proc = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.exitedFlag = true;
        resolve(signal ?? code);
      });
    });
    this.ready = new Promise((resolve, reject) => {
      void this.exited.then((how) => reject(new Error(`child peer exited (${String(how)}) before ready:\n${this.stderr}`)));
      createInterface({ input: this.proc.stdout! }).on('line', (line) => {
        let msg: { ready?: boolean; endpoint?: string; pkiId?: string; recv?: number; stopped?: boolean; resources?: string[] };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          return;
        }
        if (msg.ready) resolve({ endpoint: msg.endpoint!, pkiId: Buffer.from(msg.pkiId!, 'hex') });
        if (typeof msg.recv === 'number') this.received.push(msg.recv);
        if (msg.stopped) this.resourcesAfterStop = msg.resources ?? [];
      });
    });
    this.ready.catch(() => undefined);
  }

  get alive(): boolean {
    return !this.exitedFlag;
  }

  /** Kills the child with `signal` and waits for its exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.alive) this.proc.kill(signal);
    await this.exited;
  }

  /** Asks the child to stop its comm (closes its stdin), without waiting. */
  requestStop(): void {
    this.proc.stdin!.end();
  }

  /** Asks the child to stop (closes its stdin); kills it if it has not exited within `ms`. */
  async stop(ms = 3_000): Promise<void> {
    if (!this.alive) return;
    this.proc.stdin!.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), ms);
    await this.exited;
    clearTimeout(timer);
  }
}
