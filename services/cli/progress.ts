/**
 * Progress of a long CLI command on stderr, so its result on stdout stays clean. On a terminal it
 * is one line redrawn in place with a bar; anywhere else (a pipe, a log file, CI) it is a plain line
 * now and then and one at the end, so logs stay readable.
 */

export interface ProgressState {
  /** The command, e.g. `digest run`. */
  label: string;
  /** What it is doing while there is nothing to count yet; shown instead of the counts. */
  phase?: string;
  /** Units done so far, and how many there are in all when that is known. */
  done: number;
  total?: number;
  /** What `done` counts, e.g. `due` or `entries`. */
  unit: string;
  /** Further counts after it, in order; zeros are left out to keep the line short. */
  counts?: readonly (readonly [name: string, value: number])[];
  elapsedMs: number;
}

export interface LineOptions {
  /** Draw a bar (on a terminal); without it the line is plain text for logs. */
  bar?: boolean;
  barWidth?: number;
  /** The terminal's width: longer lines are cut, since a wrapped line cannot be redrawn in place. */
  columns?: number;
}

const number = new Intl.NumberFormat('en-US');

export function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor(s / 60) % 60).padStart(2, '0')} min`;
}

/**
 * `[#####·······]` filled by done/total; without a total (or while in a phase) a short block that
 * moves back and forth with the elapsed time, so a waiting command still visibly lives.
 */
export function progressBar(s: Pick<ProgressState, 'done' | 'total' | 'phase' | 'elapsedMs'>, width = 12): string {
  if (s.total !== undefined && s.phase === undefined) {
    const ratio = s.total <= 0 ? 1 : Math.min(s.done / s.total, 1);
    const filled = Math.round(ratio * width);
    return `[${'#'.repeat(filled)}${'·'.repeat(width - filled)}]`;
  }
  const block = Math.min(3, width);
  const span = width - block;
  const step = Math.floor(s.elapsedMs / 100) % (2 * span || 1);
  const at = step <= span ? step : 2 * span - step;
  return `[${'·'.repeat(at)}${'#'.repeat(block)}${'·'.repeat(span - at)}]`;
}

/** One progress line: `digest run  [######······]  1,200/2,000 due · 1,180 sent · 3 deferred · 12 s`. */
export function progressLine(s: ProgressState, opts: LineOptions = {}): string {
  const parts: string[] = [];
  if (s.phase !== undefined) {
    parts.push(s.phase);
  } else {
    // Counted before the work started, the total can fall behind what was found meanwhile.
    const total = s.total === undefined ? '' : `/${number.format(Math.max(s.total, s.done))}`;
    parts.push(`${number.format(s.done)}${total} ${s.unit}`);
    for (const [name, value] of s.counts ?? []) if (value) parts.push(`${number.format(value)} ${name}`);
  }
  parts.push(formatElapsed(s.elapsedMs));
  const line = opts.bar
    ? `${s.label}  ${progressBar(s, opts.barWidth)}  ${parts.join(' · ')}`
    : `${s.label}: ${parts.join(' · ')}`;
  const max = opts.columns ? opts.columns - 1 : Number.POSITIVE_INFINITY;
  return line.length > max ? `${line.slice(0, Math.max(max - 1, 0))}…` : line;
}

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  stream?: ProgressStream;
  /** Redraw in place; by default when the stream is a terminal that understands it. */
  tty?: boolean;
  /** How often a plain line may be printed when not on a terminal. */
  plainEveryMs?: number;
  now?: () => number;
}

/** A change to what the line shows: fields left out keep their value. */
export type ProgressUpdate = Partial<Omit<ProgressState, 'label' | 'elapsedMs'>>;

export interface Progress {
  /**
   * Records where the command is (fields left out keep their value; `phase: undefined` shows the
   * counts again); drawn by the next redraw, so calling it often costs nothing.
   */
  update(next: ProgressUpdate): void;
  /** Draws the final state once and stops redrawing; safe to call twice. */
  end(): void;
}

const REDRAW_MS = 100;
const CLEAR_LINE = '\r\x1b[2K';

export function createProgress(label: string, opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const tty = opts.tty ?? (Boolean(stream.isTTY) && process.env.TERM !== 'dumb');
  const now = opts.now ?? Date.now;
  const plainEveryMs = opts.plainEveryMs ?? 5000;
  const started = now();
  let state: Omit<ProgressState, 'elapsedMs'> = { label, done: 0, unit: '', phase: 'starting' };
  let drawn = '';
  let lastPlain = started;
  let lastPlainCounts = '';
  let ended = false;

  const line = (bar: boolean) =>
    progressLine({ ...state, elapsedMs: now() - started }, { bar, columns: bar ? stream.columns : undefined });

  const redraw = () => {
    if (tty) {
      const next = line(true);
      if (next !== drawn) stream.write(`${CLEAR_LINE}${next}`);
      drawn = next;
      return;
    }
    // Plain lines: at most one per interval, when something other than the time moved, and now and
    // then anyway so a long wait does not look like a hang.
    const counts = progressLine({ ...state, elapsedMs: 0 });
    const since = now() - lastPlain;
    if (since < plainEveryMs || (counts === lastPlainCounts && since < 6 * plainEveryMs)) return;
    stream.write(`${line(false)}\n`);
    lastPlain = now();
    lastPlainCounts = counts;
  };
  const timer = setInterval(redraw, tty ? REDRAW_MS : Math.min(plainEveryMs, 1000));
  timer.unref();
  // An interrupted command exits without `end`: leave the terminal on a fresh line.
  const onExit = () => {
    if (drawn) stream.write('\n');
  };
  if (tty) process.once('exit', onExit);

  return {
    update(next) {
      if (ended) return;
      state = { ...state, ...next };
    },
    end() {
      if (ended) return;
      ended = true;
      clearInterval(timer);
      process.off('exit', onExit);
      stream.write(tty ? `${CLEAR_LINE}${line(true)}\n` : `${line(false)}\n`);
      drawn = '';
    },
  };
}
