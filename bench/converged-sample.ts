/**
 * `npm run bench:converged-sample`: the `--head auto` search's converged
 * (L-BFGS) candidates on training splits past what they may hold (CONVERGED_MAX_BYTES, 256 MiB:
 * 52,428 rows of 1,280 float32 values), each split in a fresh process: the search's wall time,
 * the rows the fits held (a seeded uniform sample), the validation accuracy of the best converged
 * candidate, and the process's peak RSS. The memory must stay flat once the split outgrows the
 * sample; before the sample, such splits skipped these candidates.
 *
 * Rows are pooled-feature-like synthetic clusters (10 classes, 1,280 values, non-negative, shifted
 * as CNN features are) made batch by batch as the search reads them: nothing but the search holds
 * them. The plan is the default grid's eight converged candidates alone, one epoch.
 *
 *   npm run bench:converged-sample            # 26,000, 52,000, 104,000 and 208,000 rows
 *   BENCH_ROWS=30000,120000 npm run bench:converged-sample
 */
import { execFileSync } from 'node:child_process';
import { CONVERGED_L2_GRID, CONVERGED_INPUTS, FeatureBatch, HeadSearchPlan, RunningStats, searchHeads } from '@featx/learning';
import { selectBackend } from '@featx/vision';
import { seededRandom } from '../libs/learning/src/seeded-random';
import { runBenchMain } from './bench-main';

const DIM = 1280;
const CLASSES = 10;
const BATCH = 32;
const VALIDATION_ROWS = 2000;

/** Rows start..start+rows of the synthetic split `stream`: class centres shared by every stream, uniform noise. */
function* rowsOf(stream: number, total: number): Generator<FeatureBatch> {
  const centres = seededRandom(1, 7);
  const centre = Array.from({ length: CLASSES }, () => Float32Array.from({ length: DIM }, () => (centres() < 0.5 ? 0.5 : 0.6)));
  const noise = seededRandom(1, 11, stream);
  for (let start = 0; start < total; start += BATCH) {
    const rows = Math.min(BATCH, total - start);
    const features = new Float32Array(rows * DIM);
    const labels = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      const label = (start + r) % CLASSES;
      labels[r] = label;
      for (let d = 0; d < DIM; d++) features[r * DIM + d] = centre[label][d] + 3 * noise();
    }
    yield { features, labels, rows };
  }
}

async function* asAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

/** One split size, in this process: prints one JSON line. */
async function child(rows: number): Promise<void> {
  await selectBackend('auto', { log: () => undefined });
  const stats = new RunningStats(DIM);
  for (const batch of rowsOf(0, rows)) stats.add(batch.features, batch.rows);
  const plan: HeadSearchPlan = {
    candidates: CONVERGED_INPUTS.flatMap((input) => CONVERGED_L2_GRID.map((l2) => ({ kind: 'logistic' as const, input, optimizer: 'lbfgs' as const, learningRate: 1, l2, dropout: 0 }))),
    epochs: 1,
    patience: 5,
    rungs: [],
    knnK: [],
    seed: 42,
  };
  const started = performance.now();
  const result = await searchHeads(plan, { training: () => asAsync(rowsOf(0, rows)), validation: () => asAsync(rowsOf(1, VALIDATION_ROWS)) }, { dim: DIM, classes: CLASSES, standardization: stats.result() });
  const seconds = (performance.now() - started) / 1000;
  const best = Math.max(...result.candidates.map((c) => c.valAccuracy ?? 0));
  result.head.dispose();
  console.log(JSON.stringify({ rows, seconds, sample: result.convergedSample, skipped: result.convergedSkipped, best, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }));
}

async function main(): Promise<void> {
  if (process.env.BENCH_CHILD_ROWS) return child(Number(process.env.BENCH_CHILD_ROWS));
  const sizes = (process.env.BENCH_ROWS ?? '26000,52000,104000,208000').split(',').map(Number);
  console.log('| training rows | held by the fits | search (s) | best converged val accuracy | peak RSS (MiB) |\n|---|---|---|---|---|');
  for (const rows of sizes) {
    const out = execFileSync(process.execPath, ['-r', './tools/register.js', __filename], { env: { ...process.env, BENCH_CHILD_ROWS: String(rows) }, encoding: 'utf8', maxBuffer: 1 << 24 });
    const line = JSON.parse(out.trim().split('\n').pop()!);
    const held = line.skipped ? `skipped: ${line.skipped}` : line.sample ? `a sample of ${line.sample.rows.toLocaleString('en-US')}` : 'all';
    console.log(`| ${rows.toLocaleString('en-US')} | ${held} | ${line.seconds.toFixed(1)} | ${(line.best * 100).toFixed(1)}% | ${line.peakRssMiB} |`);
  }
}

runBenchMain(main);
