import { RunPhase, runPhaseSchema, Split, trainingConfigSchema } from '@featx/contracts';
import { FeatureSetRow, RunRow } from '@featx/db';
import { standIn } from '@featx/db/testing';
import { L2_GRID } from '@featx/learning';
import { JsonLogger, loadConfig } from '@featx/runtime';
import { inMemoryBackend, suiteTempDir } from '@featx/testing';
import { selectBackend } from '@featx/vision';
import { StreamBatch } from '../data/feature-stream';
import { RunArtifacts } from './artifacts';
import { CandidateTraining } from './candidate-training.service';
import { L2Search } from './l2-search.service';
import { RunContext, RunFlags } from './run-context';
import { RunPhaseReporter } from './run-phase';
import { RunPreparation } from './run-preparation.service';
import type { SplitPass, SplitStreams } from './split-streams.service';

const DIM = 4;
const BATCH = 8;
const ROWS: Record<Split, number> = { training: 40, validation: 16, evaluation: 0 };
/** The clock moves this much per batch read: 8 rows per 250 ms = 32 rows/s. */
const BATCH_MS = 250;

/** A split's rows in batches of BATCH, the clock moved per batch; every microtask settled before each one (so the reporter's writes end in between). */
class ClockedStreams implements Pick<SplitStreams, 'stream'> {
  readonly passes: Array<{ split: Split; pass: SplitPass }> = [];

  constructor(private readonly clock: { now: number }) {}

  async *stream(_context: RunContext, split: Split, pass: SplitPass): AsyncGenerator<StreamBatch> {
    this.passes.push({ split, pass });
    for (let start = 0; start < ROWS[split]; start += BATCH) {
      await new Promise((resolve) => setImmediate(resolve));
      this.clock.now += BATCH_MS;
      const rows = Math.min(BATCH, ROWS[split] - start);
      const labels = Int32Array.from({ length: rows }, (_, r) => (start + r) % 2);
      yield { features: Float32Array.from({ length: rows * DIM }, (_, i) => labels[Math.floor(i / DIM)] * 2 - 1 + Math.sin(start + i)), labels, imageIds: Float64Array.from({ length: rows }, (_, r) => start + r + 1), rows };
    }
  }
}

/** A reporter on the test's clock, recording every phase it writes. */
function recordingReporter(clock: { now: number }): { reporter: RunPhaseReporter; written: RunPhase[] } {
  const written: RunPhase[] = [];
  const reporter = new RunPhaseReporter(async (phase) => void written.push(phase), { intervalMs: 1000, now: () => clock.now });
  return { reporter, written };
}

const shard = (split: Split) => ({ id: `${split}-shard`, writer: 'store', path: `set/${split}/store-00000`, rows: ROWS[split] });
const flags = (): RunFlags => ({ cancelled: false, lost: false, signal: new AbortController().signal });
const FEATURE_SET_ID = '5e7a0c1d-0000-4000-8000-000000000001';

describe('the phases a run records', () => {
  const backend = inMemoryBackend();
  const artifactsDir = suiteTempDir('featx-run-phases-');

  beforeAll(async () => {
    await selectBackend('wasm', { log: () => undefined });
  });

  it('standardizing: rows of the training split read by the statistics pass, at most once a second', async () => {
    const clock = { now: 0 };
    const { reporter, written } = recordingReporter(clock);
    const set = backend.featureSets.add({ datasetId: 'd', dim: DIM, status: 'complete' });
    backend.featureSets.shardRows.push({ ...shard('training'), featureSetId: set.id, split: 'training', augment: 'none', index: 0, bytes: 0, checksum: null, status: 'sealed', createdAt: new Date(), updatedAt: new Date() });
    const run = await backend.runs.createQueued({ id: '5e7a0c1d-0000-4000-8000-0000000000aa', featureSetId: set.id, config: { featureSetId: set.id, standardize: true }, classes: ['a', 'b'] });
    const config = loadConfig('trainer', { FEATX_TF_BACKEND: 'wasm', FEATX_ARTIFACTS_DIR: artifactsDir.path() });
    const preparation = new RunPreparation(standIn(backend.featureSets), standIn(new ClockedStreams(clock)), config, new JsonLogger('trainer', 'error'));

    const context = await preparation.prepare(run, flags(), reporter);
    await reporter.settled();
    expect(context.standardization).not.toBeNull();
    const begun: RunPhase = { step: 'standardizing', unit: 'rows', done: 0, total: 40, rowsPerSecond: null };
    // Five batches, 250 ms each: one write when the pass began, one a second later (4 batches read).
    expect(written).toEqual([begun, { ...begun, done: 32, rowsPerSecond: 32 }]);
    expect(reporter.current).toEqual({ ...begun, done: 40, rowsPerSecond: 32 });
  });

  it('choosing-l2: the candidates’ epoch and the rows of every pass of the search, training and validation', async () => {
    const clock = { now: 0 };
    const { reporter, written } = recordingReporter(clock);
    const streams = new ClockedStreams(clock);
    const context: RunContext = {
      run: { id: '5e7a0c1d-0000-4000-8000-0000000000bb' } as RunRow,
      config: trainingConfigSchema.parse({ featureSetId: FEATURE_SET_ID, head: 'logistic', epochs: 3, batchSize: BATCH }),
      set: { id: FEATURE_SET_ID, dtype: 'float32' } as FeatureSetRow,
      dim: DIM,
      classes: ['a', 'b'],
      shards: { training: [shard('training')], validation: [shard('validation')], evaluation: [] },
      mirrors: null,
      holdout: null,
      artifacts: new RunArtifacts(artifactsDir.path(), 'unused'),
      standardization: null,
      statistics: null,
      members: [],
      engine: 'tfjs',
      flags: flags(),
      phase: reporter,
    };
    const search = new L2Search(new CandidateTraining(standIn(streams)), new JsonLogger('trainer', 'error'));

    expect(L2_GRID).toContain(await search.choose(context));
    await reporter.settled();
    expect(streams.passes.map((p) => p.split)).toEqual(['training', 'training', 'training', 'validation']);
    // 3 epochs of 40 training rows, then 16 validation rows, for all five candidates at once.
    const begun: RunPhase = { step: 'choosing-l2', unit: 'rows', done: 0, total: 3 * 40 + 16, rowsPerSecond: null, candidates: L2_GRID.length, epoch: 1, epochs: 3 };
    // Each epoch's start on record, and rows within an epoch every 4 batches of 8 rows (1 s) after
    // the last write; epochs are 5 batches each.
    expect(written).toEqual([
      begun,
      { ...begun, done: 32, rowsPerSecond: 32, epoch: 1 },
      { ...begun, done: 40, rowsPerSecond: 32, epoch: 2 },
      { ...begun, done: 72, rowsPerSecond: 32, epoch: 2 },
      { ...begun, done: 80, rowsPerSecond: 32, epoch: 3 },
      { ...begun, done: 112, rowsPerSecond: 32, epoch: 3 },
    ]);
    expect(reporter.current).toEqual({ ...begun, done: 136, rowsPerSecond: 32, epoch: 3 });
    for (const phase of written) expect(runPhaseSchema.parse(phase)).toEqual(phase);
  });
});
