/** What a progress bar shows: work done of a total, a rate, time left, and optionally failures. */
export interface ProgressBarState {
  done: number;
  total: number;
  /** Units per second; null or undefined when not known yet. */
  rate?: number | null;
  /** Seconds left; null or undefined when not known. */
  etaSeconds?: number | null;
  /** Shown as `· N failed` when given. */
  failed?: number;
  /** Cells of the bar between the brackets; default 30. */
  width?: number;
  /** What is counted, for the rate: `img/s` by default. */
  unit?: string;
}

const FULL = '█';
const EMPTY = '░';

/**
 * One line, e.g. `[██████░░░░] 1234/3781 33% · 45.2 img/s · ETA 56s · 0 failed`. Pure: the same
 * state gives the same text. The percentage never reads 100% before everything is done.
 */
export function renderProgressBar(state: ProgressBarState): string {
  const { bar, done, total, percent, finished } = progressCells(state.done, state.total, state.width ?? 30);
  const parts = [`${bar} ${done}/${total} ${percent}%`];
  parts.push(`${state.rate === null || state.rate === undefined || !Number.isFinite(state.rate) ? '--' : formatRate(state.rate)} ${state.unit ?? 'img'}/s`);
  parts.push(`ETA ${finished ? '0s' : state.etaSeconds === null || state.etaSeconds === undefined ? '--' : formatEta(state.etaSeconds)}`);
  if (state.failed !== undefined) parts.push(`${state.failed} failed`);
  return parts.join(' · ');
}

/**
 * The bar itself, `[██████░░░░]` in `width` cells, and the percentage: `done` is clamped to
 * 0..total, and neither reads full before everything is done.
 */
export function progressCells(done: number, total: number, width: number): { bar: string; done: number; total: number; percent: number; finished: boolean } {
  const cells = Math.max(1, Math.floor(width));
  const all = Math.max(0, total);
  const clamped = Math.max(0, Math.min(done, all));
  const finished = all > 0 && clamped >= all;
  const fraction = all > 0 ? clamped / all : 0;
  const filled = finished ? cells : Math.min(cells - 1, Math.floor(fraction * cells));
  const percent = finished ? 100 : Math.min(99, Math.round(fraction * 100));
  return { bar: `[${FULL.repeat(filled)}${EMPTY.repeat(cells - filled)}]`, done: clamped, total: all, percent, finished };
}

/** 45.2 · 3.14 · 1250 — enough digits to read, no more. */
export function formatRate(rate: number): string {
  if (rate >= 100) return String(Math.round(rate));
  if (rate >= 1) return rate.toFixed(1);
  return rate.toFixed(2);
}

/** 56s · 4m 05s · 2h 03m · 3d 04h */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d ${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

/** Streams a command that follows its work may draw on. */
export interface LiveProgressIo {
  /** Where the live progress goes; default process.stderr (redrawn in place when a TTY). */
  progress?: LiveLineOptions['stream'];
}

export interface LiveLineOptions {
  /** The terminal stream redrawn in place when it is a TTY (default process.stderr). */
  stream?: Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean; columns?: number };
  /** Where whole lines go when the stream is not a TTY (default: written to the stream). */
  printLine?: (text: string) => void;
  /** Not a TTY: the least time between two lines; default 5 s. */
  intervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * A status line that stays current: on a TTY it is redrawn in place (`\r`, clear to end of line,
 * cut to the terminal's width so it never wraps); elsewhere (logs, pipes, CI) it is printed as a
 * new line at most every `intervalMs`, so a run of days leaves a readable log, not a flood.
 */
export class LiveLine {
  private readonly stream: NonNullable<LiveLineOptions['stream']>;
  private readonly tty: boolean;
  private readonly printLine: (text: string) => void;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private lastPrintedAt = -Infinity;
  private lastText: string | undefined;
  private lastPrintedText: string | undefined;
  private drawn = false;

  constructor(options: LiveLineOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
    this.printLine = options.printLine ?? ((text) => this.stream.write(`${text}\n`));
    this.intervalMs = options.intervalMs ?? 5000;
    this.now = options.now ?? Date.now;
  }

  get isTTY(): boolean {
    return this.tty;
  }

  update(text: string): void {
    this.lastText = text;
    if (this.tty) {
      this.stream.write(`\r${this.fit(text)}\x1b[K`);
      this.drawn = true;
      return;
    }
    const now = this.now();
    if (now - this.lastPrintedAt >= this.intervalMs) {
      this.lastPrintedAt = now;
      this.lastPrintedText = text;
      this.printLine(text);
    }
  }

  /** Leaves the final state on screen (TTY) or prints it if the last line printed was older. */
  finish(text: string | undefined = this.lastText): void {
    if (this.tty) {
      if (text !== undefined) this.stream.write(`\r${this.fit(text)}\x1b[K\n`);
      else if (this.drawn) this.stream.write('\n');
    } else if (text !== undefined && text !== this.lastPrintedText) {
      this.printLine(text);
    }
    this.drawn = false;
    this.lastPrintedText = text;
  }

  /** Erases the line (TTY) without leaving anything behind. */
  clear(): void {
    if (this.tty && this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }

  private fit(text: string): string {
    const columns = this.stream.columns;
    return columns && columns > 1 && text.length >= columns ? text.slice(0, columns - 1) : text;
  }
}
