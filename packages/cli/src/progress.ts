/**
 * A progress bar for long CLI steps, without a dependency. On a terminal it redraws one line
 * (at most 10 times a second); on a pipe or in CI, where carriage returns make a mess of logs,
 * it prints a plain line every 10 % instead.
 */
export interface ProgressBarOptions {
  total: number;
  /** Text before the bar, e.g. "prepare". */
  label?: string;
  /** Default process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Force TTY or plain mode; default: the stream's isTTY. */
  tty?: boolean;
  /** Unit for the rate, e.g. "img"; default "it". */
  unit?: string;
  /**
   * Items already done before this bar started (a resumed run): the rate and the ETA count only
   * the items done since, and off a terminal the first line waits for the next 10 % mark.
   */
  start?: number;
  /** When the work started (ms since the epoch); default now. */
  startedAt?: number;
}

export interface ProgressBar {
  /** `done` items of `total`; `extra` is shown after the numbers (e.g. "kept 120 skipped 3"). */
  update(done: number, extra?: string): void;
  /** Draws the final state and ends the line. */
  finish(extra?: string): void;
}

export function createProgressBar(options: ProgressBarOptions): ProgressBar {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? Boolean((stream as { isTTY?: boolean }).isTTY);
  const unit = options.unit ?? 'it';
  const label = options.label ? `${options.label} ` : '';
  const total = Math.max(0, options.total);
  const start = Math.min(total, Math.max(0, options.start ?? 0));
  const t0 = options.startedAt ?? Date.now();
  let lastDraw = 0;
  let lastDecile = total > 0 && start > 0 ? Math.floor((10 * start) / total) : -1;
  let done = start;
  let finished = false;

  const line = (extra?: string) => {
    const elapsed = (Date.now() - t0) / 1000;
    const rate = elapsed > 0 ? Math.max(0, done - start) / elapsed : 0;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const eta = rate > 0 && done < total ? ` ETA ${fmtTime((total - done) / rate)}` : '';
    // slow work (a training step of several seconds) reads better as seconds per item than as 0.1 item/s
    const speed = rate > 0 && rate < 1 ? `${(1 / rate).toFixed(1)} s/${unit}` : `${rate.toFixed(rate < 10 ? 1 : 0)} ${unit}/s`;
    const base = `${done}/${total} ${Math.floor(frac * 100)}% ${speed}${eta}`;
    if (!tty) return `${label}${base}${extra ? `  ${extra}` : ''}`;
    const cols = (stream as { columns?: number }).columns || 80; // 0 when the terminal reports no size
    // on a narrow terminal the extra text goes first, then the bar shrinks; never wrap (it breaks \r redraws)
    const nums = extra && label.length + base.length + extra.length + 16 <= cols ? `${base}  ${extra}` : base;
    const width = Math.max(10, Math.min(40, cols - label.length - nums.length - 4));
    const filled = Math.round(frac * width);
    return `${label}[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${nums}`.slice(0, cols - 1);
  };

  return {
    update(n, extra) {
      if (finished) return;
      done = n;
      const now = Date.now();
      if (tty) {
        if (now - lastDraw < 100 && n < total) return;
        lastDraw = now;
        stream.write(`\r\x1b[2K${line(extra)}`);
      } else {
        const decile = total > 0 ? Math.floor((10 * n) / total) : 10;
        // one line per 10 %: the first at 10 %, the last from finish()
        if (decile === lastDecile || decile === 0 || decile === 10) return;
        lastDecile = decile;
        stream.write(`${line(extra)}\n`);
      }
    },
    finish(extra) {
      if (finished) return;
      finished = true;
      stream.write(tty ? `\r\x1b[2K${line(extra)}\n` : `${line(extra)}\n`);
    },
  };
}

/** Seconds as `42s`, `3m07s` or `2h05m` (rounded up to whole seconds first, so never `2m60s`). */
export function fmtTime(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
