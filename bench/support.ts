/**
 * Shared pieces of the benchmark: child processes driven over IPC, timing, statistics and
 * markdown formatting. Nothing here touches rxgossip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT_DIR = dirname(BENCH_DIR);
const WORKER = join(BENCH_DIR, 'worker.ts');

/** Milliseconds, monotonic, sub-millisecond resolution. */
export const now = (): number => performance.now();

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Child processes

/** A request from the parent to a worker; see worker.ts for the commands. */
export interface WorkerRequest {
  readonly id: number;
  readonly cmd: string;
  readonly args: unknown;
}

/** A worker's answer to one request. */
export interface WorkerReply {
  readonly id: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: string;
}

const live = new Set<Worker>();

/**
 * A `node --import tsx bench/worker.ts` child process, driven by request/reply over IPC. The
 * worker exits when the IPC channel closes (the parent died), and the parent kills every worker
 * still alive when it exits (see `installCleanup`).
 */
export class Worker {
  private readonly child: ChildProcess;
  private lastId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited = false;
  /** Set when this side ends the process; any other exit is a failure of the run. */
  private ending = false;
  readonly name: string;

  /** `script`: another worker program speaking the same request/reply protocol (bench/push-worker.ts). */
  constructor(name: string, options: { exposeGc?: boolean; script?: string } = {}) {
    this.name = name;
    const execArgv = ['--import', 'tsx'];
    if (options.exposeGc) execArgv.push('--expose-gc');
    // e.g. BENCH_CHILD_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the workers.
    execArgv.push(...(process.env.BENCH_CHILD_ARGS ?? '').split(' ').filter((a) => a !== ''));
    this.child = spawn(process.execPath, [...execArgv, options.script ?? WORKER, name], {
      cwd: ROOT_DIR,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    live.add(this);
    this.child.on('message', (raw: unknown) => {
      const reply = raw as WorkerReply;
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiter.resolve(reply.result);
      else waiter.reject(new Error(`${this.name}: ${reply.error ?? 'failed'}`));
    });
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      live.delete(this);
      const error = new Error(`${this.name} exited (${signal ?? `code ${code}`})`);
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
      // A measurement may be waiting on traffic this worker will never send: give up the run.
      if (!this.ending) {
        process.stderr.write(`bench: ${error.message} unexpectedly; aborting\n`);
        process.exit(1);
      }
    });
    this.child.on('error', () => undefined);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends a command and resolves with the worker's result. */
  request<T>(cmd: string, args: unknown = {}): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited`));
    const id = ++this.lastId;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, cmd, args } satisfies WorkerRequest);
    });
  }

  /** Kills the process (SIGKILL) and waits for it to be gone. */
  async kill(): Promise<void> {
    this.ending = true;
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await gone;
  }

  /** Asks the worker to stop its comms and exit; kills it if it has not within `graceMs`. */
  async shutdown(graceMs = 5_000): Promise<void> {
    this.ending = true;
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.request('exit').catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }
}

/** Kills every worker still alive, synchronously (usable from an 'exit' handler). */
export function killAllWorkers(): void {
  for (const worker of live) {
    try {
      process.kill(worker.pid ?? -1, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

/**
 * Makes sure no worker outlives the benchmark: on normal exit, on an uncaught error, and on
 * Ctrl-C / SIGTERM. `onExit` runs (synchronously) before the process goes.
 */
export function installCleanup(onExit: () => void): void {
  let done = false;
  const cleanup = (): void => {
    if (done) return;
    done = true;
    killAllWorkers();
    try {
      onExit();
    } catch {
      // best effort
    }
  };
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}, killing child processes\n`);
      cleanup();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`bench: uncaught ${err.stack ?? String(err)}\n`);
    cleanup();
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`bench: unhandled rejection ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    cleanup();
    process.exit(1);
  });
}

// ---------------------------------------------------------------------------------------------
// Statistics

/** Median and spread of repeated measurements. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, n: sorted.length };
}

/** Nearest-rank percentile (0 < p <= 100) of a sample. */
export function percentile(sortedAscending: readonly number[], p: number): number {
  if (sortedAscending.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sortedAscending.length);
  return sortedAscending[Math.min(sortedAscending.length, Math.max(1, rank)) - 1]!;
}

// ---------------------------------------------------------------------------------------------
// Formatting

/** 12345.6 -> "12,346"; small numbers keep a few significant digits. */
export function fmtNum(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "median (min–max)" */
export function fmtSummary(s: Summary, format: (v: number) => string = fmtNum): string {
  if (s.n === 0) return 'n/a';
  if (s.n === 1) return format(s.median);
  return `${format(s.median)} (${format(s.min)}–${format(s.max)})`;
}

export function fmtRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a';
}

export function fmtBytes(size: number): string {
  if (size >= 1024 && size % 1024 === 0) return `${size / 1024} KiB`;
  return `${size} B`;
}

/** A markdown table with padded columns (numbers right-aligned). */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[], rightAlign: readonly boolean[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length), 3));
  const pad = (text: string, i: number): string =>
    rightAlign[i] ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => pad(c, i)).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (rightAlign[i] ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(headers), rule, ...rows.map((r) => line(r))].join('\n');
}

/** Progress output on stderr, so stdout carries only the tables. */
export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// Foreign load

/** CPU used by processes other than the benchmark's own while it measured. */
export interface ForeignLoad {
  /** Core-seconds used by other processes. */
  readonly coreSeconds: number;
  /** ... as a share of the machine's capacity over the same time (0..1). */
  readonly share: number;
}

const TICKS_PER_SECOND = 100;

/**
 * Samples /proc (Linux) to tell how much CPU other processes took while the benchmark ran: the
 * machine's busy time minus that of this process and all its descendants. Benchmarks on a shared
 * machine are only as good as that number is small. Does nothing where /proc is missing.
 */
export class LoadMonitor {
  private timer: NodeJS.Timeout | undefined;
  private readonly prevTicks = new Map<number, number>();
  private prevBusy = 0;
  private foreignTicks = 0;
  private startedAt = 0;
  private available = true;

  constructor(private readonly cores: number) {}

  start(): void {
    this.foreignTicks = 0;
    this.startedAt = now();
    this.available = this.sample(true);
    if (this.available) {
      this.timer = setInterval(() => this.sample(false), 250);
      this.timer.unref();
    }
  }

  stop(): ForeignLoad | undefined {
    clearInterval(this.timer);
    this.timer = undefined;
    if (!this.available || !this.sample(false)) return undefined;
    const seconds = (now() - this.startedAt) / 1000;
    const coreSeconds = this.foreignTicks / TICKS_PER_SECOND;
    return { coreSeconds, share: seconds > 0 ? coreSeconds / (seconds * this.cores) : 0 };
  }

  private sample(first: boolean): boolean {
    let busy: number;
    const procs = new Map<number, { ppid: number; ticks: number }>();
    try {
      const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
      // user nice system idle iowait irq softirq steal
      busy = cpu[0]! + cpu[1]! + cpu[2]! + cpu[5]! + cpu[6]! + cpu[7]!;
      for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        let stat: string;
        try {
          stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        } catch {
          continue;
        }
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
        procs.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
      }
    } catch {
      return false;
    }
    const ours = new Set<number>([process.pid]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const [pid, p] of procs) {
        if (!ours.has(pid) && ours.has(p.ppid)) {
          ours.add(pid);
          grew = true;
        }
      }
    }
    let ourDelta = 0;
    for (const pid of ours) {
      const ticks = procs.get(pid)?.ticks ?? 0;
      ourDelta += ticks - (this.prevTicks.get(pid) ?? 0);
    }
    this.prevTicks.clear();
    for (const pid of ours) this.prevTicks.set(pid, procs.get(pid)?.ticks ?? 0);
    if (!first) this.foreignTicks += Math.max(0, busy - this.prevBusy - ourDelta);
    this.prevBusy = busy;
    return true;
  }
}
