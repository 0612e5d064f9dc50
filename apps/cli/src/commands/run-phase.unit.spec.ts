import type { RunDetails, RunPhase } from '@featx/contracts';
import { phaseText } from './run-phase';
import { describeRun } from './runs.command';
import { liveText } from './train.command';

const search: RunPhase = { step: 'choosing-l2', unit: 'rows', done: 9307, total: 31021, rowsPerSecond: 1480.4, candidates: 5, epoch: 3, epochs: 10 };
const standardizing: RunPhase = { step: 'standardizing', unit: 'rows', done: 1024, total: 3068, rowsPerSecond: 2100 };

describe('phaseText', () => {
  it('the L2 search: candidates, the epoch they are in, and the rows of all its passes as the bar', () => {
    // (31,021 - 9,307) rows left at 1,480.4 rows/s: 14.7 s.
    expect(phaseText(search, { width: 10 })).toBe('choosing L2 (5 candidates): epoch 3/10 [███░░░░░░░] 30% · 1,480 rows/s · ETA 15s');
    expect(phaseText({ ...search, done: 0, rowsPerSecond: null, epoch: 1 }, { width: 10 })).toBe('choosing L2 (5 candidates): epoch 1/10 [░░░░░░░░░░] 0% · -- rows/s · ETA --');
  });

  it('a head auto run waiting for its search shares: shares done of total, and how many train now', () => {
    expect(phaseText({ step: 'waiting-for-shares', unit: 'shares', done: 1, total: 3, rowsPerSecond: null, training: 2 }, { width: 6 })).toBe(
      'waiting for its search shares (2 training): [██░░░░] 1/3 shares done 33%',
    );
  });

  it('the statistics pass and the evaluation: rows done of total', () => {
    expect(phaseText(standardizing, { width: 6 })).toBe('standardizing [██░░░░] 1,024/3,068 rows 33% · 2,100 rows/s · ETA 1s');
    expect(phaseText({ step: 'evaluating', unit: 'rows', done: 713, total: 713, rowsPerSecond: 2000 }, { width: 6 })).toBe('evaluating [██████] 713/713 rows 100% · 2,000 rows/s · ETA 0s');
  });

  it('the epochs, without an ETA (the epochs’ times give a better one)', () => {
    expect(phaseText({ step: 'training', unit: 'epochs', done: 3, total: 25, rowsPerSecond: 1460 }, { width: 10 })).toBe('training [█░░░░░░░░░] 3/25 epochs 12% · 1,460 rows/s');
  });

  it('says when a cancel was asked for, and is 20 cells wide by default', () => {
    expect(phaseText(standardizing, { cancelling: true })).toBe(`standardizing (cancelling) [${'█'.repeat(6)}${'░'.repeat(14)}] 1,024/3,068 rows 33% · 2,100 rows/s · ETA 1s`);
    expect(phaseText(search, { cancelling: true })).toMatch(/^choosing L2 \(5 candidates\) \(cancelling\): epoch 3\/10 \[/);
  });
});

describe('the run as the CLI shows it', () => {
  const run: RunDetails = {
    id: '0123abcd-0000-4000-8000-000000000001',
    featureSetId: 'f',
    kind: 'model',
    parentRunId: null,
    status: 'running',
    error: null,
    config: { head: 'logistic', optimizer: 'sgd', learningRate: 0.001, momentum: 0.9, epochs: 25, batchSize: 32 },
    classes: [],
    epochs: 25,
    epochsDone: 0,
    bestEpoch: null,
    bestValLoss: null,
    resumes: 0,
    cancelRequested: false,
    worker: 'w',
    heartbeatAt: null,
    phase: null,
    createdAt: '',
    startedAt: null,
    finishedAt: null,
    epochMetrics: [],
  };

  it('featx train’s live line: the phase before the first epoch and after the last, the epoch bar in between', () => {
    expect(liveText({ ...run, phase: search })).toBe('choosing L2 (5 candidates): epoch 3/10 [██████░░░░░░░░░░░░░░] 30% · 1,480 rows/s · ETA 15s');
    expect(liveText({ ...run, phase: standardizing, cancelRequested: true })).toMatch(/^standardizing \(cancelling\) \[██████░/);
    expect(liveText({ ...run, phase: { step: 'training', unit: 'epochs', done: 0, total: 25, rowsPerSecond: null } })).toBe('epoch 1/25 [░░░░░░░░░░░░░░░░░░░░] 0/25 0% · -- rows/s · ETA --');
    expect(liveText({ ...run, epochsDone: 25, phase: { step: 'evaluating', unit: 'rows', done: 100, total: 713, rowsPerSecond: 2000 } })).toMatch(/^evaluating \[██░+\] 100\/713 rows 14% · 2,000 rows\/s · ETA 1s$/);
    // No phase on record yet (the trainer is preparing the run): the epoch bar, as before.
    expect(liveText(run)).toBe('epoch 1/25 [░░░░░░░░░░░░░░░░░░░░] 0/25 0% · -- rows/s · ETA --');
  });

  it('featx runs show: what a running run is doing now, under its status', () => {
    expect(describeRun({ ...run, phase: search }).split('\n')[2]).toBe('now: choosing L2 (5 candidates): epoch 3/10 [██████░░░░░░░░░░░░░░] 30% · 1,480 rows/s · ETA 15s');
    expect(describeRun(run)).not.toContain('now:');
    // A finished run keeps no phase; should one be shown, it would not be what the run does.
    expect(describeRun({ ...run, status: 'failed', phase: search })).not.toContain('now:');
  });
});

describe('a run waiting for a feature store', () => {
  const waitingFor = { store: 'store-b', since: '2026-12-02T03:40:00.123Z', reason: 'no answer for shard 1234: 503' };

  it('ends the phase line, runs show and the live line of the epochs with the store and since when', () => {
    expect(phaseText({ ...standardizing, waitingFor }, { width: 6 })).toBe(
      'standardizing [██░░░░] 1,024/3,068 rows 33% · 2,100 rows/s · ETA 1s · waiting for feature store "store-b" (since 2026-12-02T03:40:00Z)',
    );
    const run = {
      id: '6f1c1a52-0000-4000-8000-000000000001',
      status: 'running',
      epochs: 25,
      epochsDone: 3,
      epochMetrics: [],
      cancelRequested: false,
      phase: { step: 'training', unit: 'epochs', done: 3, total: 25, rowsPerSecond: 1460, waitingFor },
    } as unknown as RunDetails;
    expect(liveText(run)).toMatch(/^epoch 4\/25 .* · waiting for feature store "store-b" \(since 2026-12-02T03:40:00Z\)$/);
    expect(liveText({ ...run, phase: { ...run.phase!, waitingFor: undefined } } as RunDetails)).not.toContain('waiting');
  });
});
