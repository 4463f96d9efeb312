// The lab run's timeline: each step with when it happened (since the run began), how long it
// took, and what it found; printed as a table at the end.
import { wallClock } from './protocol.js';

export interface TimelineStep {
  readonly step: string;
  /** ms since the run began. */
  readonly at: number;
  /** How long the step took, in ms (when it is a wait or an action). */
  readonly took?: number;
  readonly detail: string;
}

export class Timeline {
  readonly steps: TimelineStep[] = [];
  readonly t0 = wallClock();

  constructor(private readonly log: (line: string) => void) {}

  /** ms since the run began. */
  now(): number {
    return wallClock() - this.t0;
  }

  /** Records a step that ended now, or at `endedAt` (wall clock) when it ended earlier. */
  mark(step: string, detail = '', took?: number, endedAt?: number): void {
    const at = endedAt === undefined ? this.now() : endedAt - this.t0;
    const entry: TimelineStep = { step, at, detail, ...(took !== undefined ? { took } : {}) };
    this.steps.push(entry);
    this.log(`${seconds(entry.at).padStart(7)}  ${step}${took !== undefined ? ` (${seconds(took)})` : ''}${detail ? `: ${detail}` : ''}`);
  }

  /** The steps as a Markdown table. */
  table(): string {
    const rows = this.steps.map((s) => [s.step, seconds(s.at), s.took !== undefined ? seconds(s.took) : '', s.detail]);
    const head = ['step', 'at', 'took', 'detail'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
    return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
  }
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)}s`;
}
