import { RunPhase, runPhaseSchema } from '@featx/contracts';
import { countRows, RunPhaseReporter } from './run-phase';

/** Lets the reporter's write chain (a few promise steps) run. */
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A reporter on a clock the test moves, recording what it writes; `hold` keeps writes in flight until released. */
function reporterOnClock(options: { hold?: boolean; fail?: Error } = {}) {
  let now = 10_000;
  const written: RunPhase[] = [];
  const errors: Error[] = [];
  const pending: Array<() => void> = [];
  const reporter = new RunPhaseReporter(
    async (phase) => {
      written.push(phase);
      if (options.hold) await new Promise<void>((resolve) => pending.push(resolve));
      if (options.fail) throw options.fail;
    },
    { intervalMs: 1000, now: () => now, onError: (error) => errors.push(error) },
  );
  return {
    reporter,
    written,
    errors,
    advance: (ms: number) => (now += ms),
    releaseOne: async () => {
      pending.shift()?.();
      await tick();
    },
  };
}

const standardizing: RunPhase = { step: 'standardizing', unit: 'rows', done: 0, total: 3068, rowsPerSecond: null };

describe('RunPhaseReporter', () => {
  it('writes a step when it begins, then its progress at most once per interval, with rows/s since the step began', async () => {
    const { reporter, written, advance } = reporterOnClock();
    reporter.begin(standardizing);
    await tick();
    expect(written).toEqual([standardizing]);

    for (let batch = 0; batch < 10; batch++) {
      advance(250);
      reporter.addRows(32);
      await tick();
    }
    // 10 batches of 32 rows, 250 ms each: writes after 1 s and after 2 s, both at 128 rows/s.
    expect(written.slice(1)).toEqual([
      { ...standardizing, done: 128, rowsPerSecond: 128 },
      { ...standardizing, done: 256, rowsPerSecond: 128 },
    ]);
    expect(reporter.current).toEqual({ ...standardizing, done: 320, rowsPerSecond: 128 });
  });

  it('a new step goes on record at once, however recent the last write', async () => {
    const { reporter, written, advance } = reporterOnClock();
    reporter.begin(standardizing);
    advance(10);
    reporter.addRows(3068);
    const training: RunPhase = { step: 'training', unit: 'epochs', done: 0, total: 25, rowsPerSecond: null };
    reporter.begin(training);
    await reporter.settled();
    expect(written).toEqual([standardizing, training]);
  });

  it('keeps one write in flight; what came meanwhile is written after it, the latest state last', async () => {
    const { reporter, written, advance, releaseOne } = reporterOnClock({ hold: true });
    const search: RunPhase = { step: 'choosing-l2', unit: 'rows', done: 0, total: 1000, rowsPerSecond: null, candidates: 5, epoch: 1, epochs: 10 };
    reporter.begin(search);
    await tick();
    advance(1500);
    reporter.addRows(100); // due, but the first write has not ended
    advance(1500);
    reporter.candidatesEpoch(2);
    await tick();
    expect(written).toEqual([search]);
    await releaseOne();
    expect(written).toHaveLength(2);
    expect(written[1]).toEqual({ ...search, done: 100, epoch: 2, rowsPerSecond: 100 / 1.5 });
    await releaseOne();
    await reporter.settled();
    expect(written).toHaveLength(2);
  });

  it('settled() waits for the writes in flight, so nothing is written after a run ends', async () => {
    const { reporter, written, releaseOne } = reporterOnClock({ hold: true });
    reporter.begin(standardizing);
    reporter.begin({ ...standardizing, step: 'evaluating', total: 713 });
    let settled = false;
    const done = reporter.settled().then(() => (settled = true));
    await tick();
    expect(settled).toBe(false);
    await releaseOne();
    expect(settled).toBe(false); // the second write is now in flight
    await releaseOne();
    await done;
    expect(written.map((p) => p.step)).toEqual(['standardizing', 'evaluating']);
  });

  it('reports a failed write and goes on: the phase is for watching, not the run’s record', async () => {
    const { reporter, errors, advance } = reporterOnClock({ fail: new Error('connection terminated') });
    reporter.begin(standardizing);
    advance(2000);
    reporter.addRows(10);
    await reporter.settled();
    expect(errors.map((e) => e.message)).toEqual(['connection terminated', 'connection terminated']);
  });

  it('never lets done pass total (a bar past 100%), and epoch stays within epochs', async () => {
    const { reporter, written, advance } = reporterOnClock();
    reporter.begin({ ...standardizing, total: 10 });
    await tick();
    advance(1000);
    reporter.addRows(12);
    await reporter.settled();
    reporter.begin({ step: 'choosing-l2', unit: 'rows', done: 0, total: 10, rowsPerSecond: null, candidates: 5, epoch: 1, epochs: 2 });
    advance(1000);
    reporter.candidatesEpoch(3);
    await reporter.settled();
    expect(reporter.current).toMatchObject({ epoch: 2, epochs: 2 });
    expect(written[1]).toMatchObject({ done: 12, total: 12 });
    for (const phase of [...written, reporter.current]) expect(runPhaseSchema.safeParse(phase).success).toBe(true);
  });

  it('training: epochs done and the last epoch’s rows/s', async () => {
    const { reporter, written, advance } = reporterOnClock();
    reporter.begin({ step: 'training', unit: 'epochs', done: 2, total: 25, rowsPerSecond: null });
    advance(1000);
    reporter.epochsDone(3, 1460.4);
    await reporter.settled();
    expect(written[1]).toEqual({ step: 'training', unit: 'epochs', done: 3, total: 25, rowsPerSecond: 1460.4 });
  });

  it('refuses a call that does not fit the step, naming both', () => {
    const { reporter } = reporterOnClock();
    expect(() => reporter.addRows(1)).toThrow('run phase: addRows before any step began');
    reporter.begin({ step: 'training', unit: 'epochs', done: 0, total: 25, rowsPerSecond: null });
    expect(() => reporter.addRows(1)).toThrow('run phase: addRows does not apply to the training step (counted in epochs)');
    expect(() => reporter.candidatesEpoch(2)).toThrow('run phase: candidatesEpoch does not apply to the training step');
    reporter.begin(standardizing);
    expect(() => reporter.epochsDone(1, 100)).toThrow('run phase: epochsDone does not apply to the standardizing step (counted in rows)');
  });
});

describe('RunPhaseReporter while the reads wait for a feature store', () => {
  const wait = { store: 'store-b', since: new Date('2026-12-02T03:40:00Z'), reason: 'no answer for shard 1: 503' };
  const waitingFor = { store: 'store-b', since: '2026-12-02T03:40:00.000Z', reason: 'no answer for shard 1: 503' };

  it('writes the wait at once, keeps it on every write of the step until the store answers, then writes it away', async () => {
    const { reporter, written, advance } = reporterOnClock();
    reporter.begin(standardizing);
    await tick();
    reporter.waiting(wait); // within the interval: written anyway
    await tick();
    expect(written[1]).toEqual({ ...standardizing, waitingFor });
    expect(runPhaseSchema.parse(written[1])).toEqual(written[1]);
    advance(1000);
    reporter.addRows(10);
    await tick();
    expect(written[2]).toMatchObject({ done: 10, waitingFor });
    reporter.waiting(null);
    await tick();
    expect(written[3]).toMatchObject({ done: 10 });
    expect(written[3]).not.toHaveProperty('waitingFor');
    expect(reporter.current).not.toHaveProperty('waitingFor');
  });

  it('holds a wait that comes before any step and writes it with the step', async () => {
    const { reporter, written } = reporterOnClock();
    reporter.waiting(wait);
    await tick();
    expect(written).toEqual([]);
    reporter.begin({ step: 'evaluating', unit: 'rows', done: 0, total: 10, rowsPerSecond: null });
    await tick();
    expect(written).toEqual([{ step: 'evaluating', unit: 'rows', done: 0, total: 10, rowsPerSecond: null, waitingFor }]);
  });
});

describe('countRows', () => {
  it('tells each batch’s rows once the consumer has used it', async () => {
    async function* batches() {
      yield { rows: 3 };
      yield { rows: 2 };
    }
    const counted: number[] = [];
    const seen: number[] = [];
    for await (const batch of countRows(batches(), (rows) => counted.push(rows))) {
      seen.push(batch.rows);
      expect(counted).toHaveLength(seen.length - 1);
    }
    expect(counted).toEqual([3, 2]);
  });
});
