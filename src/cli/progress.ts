/**
 * Progress of a long command on stderr: on a terminal a bar redrawn in place
 * (percentage, count, rate, ETA); on anything else (a pipe, a log file) one
 * plain line every few seconds; nothing in JSON mode, whose output is for
 * programs.
 * @module
 */

/** Where progress goes: process.stderr, or a test's fake. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

export interface ProgressOptions {
  /** What is counted, e.g. "replaying blocks". */
  readonly label: string;
  readonly total: number;
  /** Unit after the count, e.g. "blocks". */
  readonly unit?: string;
  /** No output at all (the command's --json mode). */
  readonly quiet?: boolean;
  readonly stream?: ProgressStream;
  /** Monotonic ms (default performance.now). */
  readonly now?: () => number;
  /** Plain mode: ms between lines (default 5000). */
  readonly plainEveryMs?: number;
  /** Terminal mode: ms between redraws (default 100). */
  readonly redrawEveryMs?: number;
}

const BAR_WIDTH = 24;

/** "1h02m", "3m05s", "12s" */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '?';
  return perSecond >= 100 ? String(Math.round(perSecond)) : perSecond.toFixed(1);
}

export class Progress {
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private readonly tty: boolean;
  private readonly started: number;
  private last = -Infinity;
  private current = 0;
  private finished = false;
  private drawn = false;

  constructor(private readonly o: ProgressOptions) {
    this.stream = o.stream ?? process.stderr;
    this.now = o.now ?? (() => performance.now());
    this.tty = this.stream.isTTY === true;
    this.started = this.now();
  }

  /** Moves to `done` of `total` (output only when it is time for a line or a redraw). */
  update(done: number): void {
    this.current = done;
    if (this.o.quiet === true || this.finished) return;
    const t = this.now();
    const every = this.tty ? (this.o.redrawEveryMs ?? 100) : (this.o.plainEveryMs ?? 5000);
    // Plain mode: the first line only after a first interval (a quick run prints nothing but its end).
    if (!this.tty && this.last === -Infinity) this.last = this.started;
    if (t - this.last < every) return;
    this.last = t;
    this.draw(t);
  }

  /** Adds `n` to the count. */
  tick(n = 1): void {
    this.update(this.current + n);
  }

  /** The last line: the bar completed (terminal) or a summary (plain, only if a line was printed before). */
  finish(): void {
    if (this.o.quiet === true || this.finished) return;
    this.finished = true;
    const t = this.now();
    if (this.tty) {
      this.draw(t);
      this.stream.write('\n');
    } else if (this.drawn) {
      this.stream.write(`${this.o.label}: ${this.current}${this.unitText()} done in ${formatDuration((t - this.started) / 1000)}\n`);
    }
  }

  /** The text of the current state (what a line or the bar shows). */
  describe(t = this.now()): string {
    const total = Math.max(0, this.o.total);
    const elapsed = Math.max(0, (t - this.started) / 1000);
    const rate = elapsed > 0 ? this.current / elapsed : NaN;
    const pct = total > 0 ? Math.min(100, (100 * this.current) / total) : 100;
    const left = Math.max(0, total - this.current);
    const eta = left === 0 ? 0 : rate > 0 ? left / rate : NaN;
    return `${pct.toFixed(1)}% ${this.current}/${total}${this.unitText()} ${formatRate(rate)}/s ETA ${formatDuration(eta)}`;
  }

  private unitText(): string {
    return this.o.unit === undefined ? '' : ` ${this.o.unit}`;
  }

  private draw(t: number): void {
    this.drawn = true;
    const text = this.describe(t);
    if (!this.tty) {
      this.stream.write(`${this.o.label}: ${text}\n`);
      return;
    }
    const total = Math.max(0, this.o.total);
    const filled = total > 0 ? Math.min(BAR_WIDTH, Math.round((BAR_WIDTH * this.current) / total)) : BAR_WIDTH;
    const line = `${this.o.label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${text}`;
    const width = this.stream.columns ?? 0;
    // \r to the line's start, the line (cut to the terminal's width), then clear what an earlier, longer line left.
    this.stream.write(`\r${width > 1 ? line.slice(0, width - 1) : line}\x1b[K`);
  }
}
