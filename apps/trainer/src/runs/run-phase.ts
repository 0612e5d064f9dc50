import { RunPhase, StoreWaitView } from '@featx/contracts';
import type { StoreWait } from '@featx/shard-reads';

/** How often a step's progress goes on record: often enough for a live line, rare enough to cost Postgres nothing. */
export const PHASE_WRITE_INTERVAL_MS = 1000;

export interface RunPhaseReporterOptions {
  /** The least time between two writes while a step makes progress; default PHASE_WRITE_INTERVAL_MS. */
  intervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
  /** A write that failed. The run goes on: the phase is there to watch it, its record is elsewhere. */
  onError?: (error: Error) => void;
}

/**
 * What a run is doing now, put on record for `GET /runs/:id` and the CLI (RunsRepository.setPhase).
 * The training calls it per batch, so a call never waits and costs a few additions and a clock
 * read: a write goes out when a step begins and at each new epoch, and rows within an epoch at most
 * once per `intervalMs`. One write is in flight at a time, and the latest state is always the last one written
 * (a state that comes while a write is in flight goes out after it).
 */
export class RunPhaseReporter {
  private phase: RunPhase | null = null;
  /** The feature store the reads wait for, written with whatever step is on. */
  private waitingFor: StoreWaitView | null = null;
  private stepStartedAt = 0;
  /** `done` when the step began: rows/s counts this trainer's rows only. */
  private doneAtStart = 0;
  private lastWriteAt = -Infinity;
  private inFlight: Promise<void> | null = null;
  private stale = false;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly onError: (error: Error) => void;

  constructor(
    private readonly write: (phase: RunPhase) => Promise<unknown>,
    options: RunPhaseReporterOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? PHASE_WRITE_INTERVAL_MS;
    this.now = options.now ?? Date.now;
    this.onError = options.onError ?? (() => undefined);
  }

  /** A reporter that records nothing, for code that runs a run's parts outside a trainer (a benchmark). */
  static discarding(): RunPhaseReporter {
    return new RunPhaseReporter(async () => undefined);
  }

  /** The state last reported (written or about to be). */
  get current(): RunPhase | null {
    if (!this.phase) return null;
    const { waitingFor: _, ...phase } = this.phase;
    return this.waitingFor ? { ...phase, waitingFor: this.waitingFor } : phase;
  }

  /**
   * The reads wait for a feature store (or, null, no longer): on record at once, so that a run
   * stuck on a store says so within a write, and cleared as soon as the store answers.
   */
  waiting(wait: StoreWait | null): void {
    this.waitingFor = wait && { store: wait.store, since: wait.since.toISOString(), reason: wait.reason };
    if (this.phase) this.flush();
  }

  /** A step begins: on record at once (after the write in flight, if any). */
  begin(phase: RunPhase): void {
    this.phase = phase;
    this.stepStartedAt = this.now();
    this.doneAtStart = phase.done;
    this.flush();
  }

  /** Rows read in the current step (one counted in rows): done and rows/s move on. */
  addRows(rows: number): void {
    const phase = this.expect('addRows', (p) => p.unit === 'rows');
    const now = this.now();
    const done = phase.done + rows;
    const seconds = (now - this.stepStartedAt) / 1000;
    // The shards' committed rows are the total; a bar must never pass 100% should a count disagree.
    this.phase = { ...phase, done, total: Math.max(phase.total, done), rowsPerSecond: seconds > 0 ? (done - this.doneAtStart) / seconds : phase.rowsPerSecond };
    this.flushIfDue(now);
  }

  /** choosing-l2: the epoch (1-based) the candidates have begun. */
  candidatesEpoch(epoch: number): void {
    const phase = this.expect('candidatesEpoch', (p): p is Extract<RunPhase, { step: 'choosing-l2' }> => p.step === 'choosing-l2');
    const next = Math.min(Math.max(1, epoch), phase.epochs);
    this.phase = { ...phase, epoch: next };
    // A new epoch goes on record whenever it comes (a few a run); only rows are throttled.
    if (next !== phase.epoch) this.flush();
    else this.flushIfDue(this.now());
  }

  /** choosing-head: epochs done, candidates still training, and the rows/s of the epoch that just finished. */
  searchEpochsDone(done: number, candidates: number, rowsPerSecond: number): void {
    const phase = this.expect('searchEpochsDone', (p): p is Extract<RunPhase, { step: 'choosing-head' }> => p.step === 'choosing-head');
    this.phase = { ...phase, done, total: Math.max(phase.total, done), candidates, rowsPerSecond: Number.isFinite(rowsPerSecond) ? Math.max(0, rowsPerSecond) : null };
    this.flush();
  }

  /** training: epochs done of planned, and the rows/s of the epoch that just finished. */
  epochsDone(done: number, rowsPerSecond: number): void {
    const phase = this.expect('epochsDone', (p) => p.step === 'training');
    this.phase = { ...phase, done, total: Math.max(phase.total, done), rowsPerSecond: Number.isFinite(rowsPerSecond) ? Math.max(0, rowsPerSecond) : null };
    this.flush();
  }

  /** Resolves once every write asked for has ended (written or failed): nothing comes after a run's end. */
  async settled(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private expect<P extends RunPhase>(call: string, fits: (phase: RunPhase) => phase is P): P;
  private expect(call: string, fits: (phase: RunPhase) => boolean): RunPhase;
  private expect(call: string, fits: (phase: RunPhase) => boolean): RunPhase {
    if (!this.phase) throw new Error(`run phase: ${call} before any step began`);
    if (!fits(this.phase)) throw new Error(`run phase: ${call} does not apply to the ${this.phase.step} step (counted in ${this.phase.unit})`);
    return this.phase;
  }

  private flushIfDue(now: number): void {
    if (now - this.lastWriteAt >= this.intervalMs) this.flush();
  }

  private flush(): void {
    if (this.inFlight) {
      this.stale = true;
      return;
    }
    const phase = this.current!;
    this.lastWriteAt = this.now();
    // Through a promise even should `write` throw at once: a write never throws into the training.
    this.inFlight = Promise.resolve()
      .then(() => this.write(phase))
      .then(
        () => undefined,
        (error: Error) => this.onError(error),
      )
      .finally(() => {
        this.inFlight = null;
        if (this.stale) {
          this.stale = false;
          this.flush();
        }
      });
  }
}

/** The batches as they come, `onRows` told each one's rows once it has been used (the consumer asked for the next). */
export async function* countRows<B extends { rows: number }>(batches: AsyncIterable<B>, onRows: ((rows: number) => void) | undefined): AsyncGenerator<B> {
  for await (const batch of batches) {
    yield batch;
    onRows?.(batch.rows);
  }
}
