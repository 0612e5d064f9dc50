import { selectBackend } from '@featx/vision';
import { FeatureBatch } from './batches';
import { CandidateSettings, defaultSearchPlan, HeadSearchPlan, HeadSearchResult, searchHeads } from './head-search';
import { selectSharedWinner, sharePlan, splitSearch } from './search-shares';
import { RunningStats } from './stats';
import { batchesOf, clusters, LabelledRows, slice } from './testing/synthetic';

describe('splitSearch', () => {
  it('splits the grid into contiguous parts in grid order, sizes within one, the run seed kept, the kNN baseline in the first', () => {
    expect(splitSearch(36, 3, 42).map((s) => [s.index, s.of, s.positions[0], s.positions.length, s.seed, s.knn])).toEqual([
      [0, 3, 0, 12, 42, true],
      [1, 3, 12, 12, 42, false],
      [2, 3, 24, 12, 42, false],
    ]);
    const five = splitSearch(36, 5, 7);
    expect(five.map((s) => s.positions.length)).toEqual([8, 7, 7, 7, 7]);
    expect(five.flatMap((s) => s.positions)).toEqual(Array.from({ length: 36 }, (_, i) => i));
    // No more shares than candidates.
    expect(splitSearch(2, 4, 1).map((s) => s.positions)).toEqual([[0], [1]]);
    expect(() => splitSearch(36, 0, 1)).toThrow(/shares must be a positive integer, got 0/);
  });

  it('refuses a position outside the grid, naming it', () => {
    expect(() => sharePlan(defaultSearchPlan(8), { positions: [3, 44], seed: 1, knn: false })).toThrow(/share position 44 is not in the grid of 44 candidates/);
  });
});

describe('selectSharedWinner', () => {
  it('takes the best candidate not pruned by accuracy, then loss, then grid order; never the baseline', () => {
    const c = (position: number, outcome: 'trained' | 'pruned' | 'early-stopped' | 'baseline', valAccuracy: number | null, valLoss: number | null) => ({ position, outcome, valAccuracy, valLoss });
    const rows = [c(0, 'pruned', 0.99, 0.1), c(1, 'trained', 0.9, 0.3), c(2, 'early-stopped', 0.9, 0.2), c(3, 'baseline', 0.95, null), c(4, 'trained', 0.9, 0.2)];
    expect(selectSharedWinner(rows).position).toBe(2);
    expect(() => selectSharedWinner([c(0, 'pruned', 0.5, 1)])).toThrow(/no candidate reached a finite validation loss \(tried 1\)/);
  });
});

describe('a search in shares', () => {
  beforeAll(() => selectBackend('cpu'));

  async function* epochOrder(data: LabelledRows, batchRows: number, epoch: number): AsyncGenerator<FeatureBatch> {
    const batches = Math.ceil(data.rows / batchRows);
    for (let b = 0; b < batches; b++) {
      const start = ((b + epoch * 3) % batches) * batchRows;
      yield slice(data, start, Math.min(batchRows, data.rows - start));
    }
  }

  it('trains each candidate exactly as the whole search does until successive halving first compares it', async () => {
    const training = clusters(96, 8, 3, 11, 0, 0.6);
    const validation = clusters(48, 8, 3, 11, 1, 0.6);
    const stats = new RunningStats(8);
    stats.add(training.features, training.rows);
    const sources = { training: (epoch: number) => epochOrder(training, 16, epoch), validation: () => batchesOf(validation, 16) };
    const options = { dim: 8, classes: 3, standardization: stats.result() };
    const settings = (over: Partial<CandidateSettings>): CandidateSettings => ({ kind: 'logistic', input: 'raw', optimizer: 'sgd', learningRate: 0.05, l2: 0, dropout: 0, ...over });
    const plan: HeadSearchPlan = {
      candidates: [settings({}), settings({ input: 'standardized' }), settings({ kind: 'mlp', input: 'power' }), settings({ optimizer: 'adam', learningRate: 0.01 })],
      epochs: 3,
      patience: 10,
      rungs: [{ epoch: 2, keep: 0.5 }],
      knnK: [1],
      seed: 5,
    };
    const whole = await searchHeads(plan, sources, options);
    const shares = splitSearch(plan.candidates.length, 2, plan.seed);
    const parts: HeadSearchResult[] = [];
    for (const share of shares) parts.push(await searchHeads(sharePlan(plan, share), sources, options));
    const byPosition = shares.flatMap((share, s) => share.positions.map((position, k) => ({ position, result: parts[s].candidates[k] })));
    for (const { position, result } of byPosition) {
      // The epochs before the first rung are the same, to the bit.
      expect(result.history.slice(0, 2)).toEqual(whole.candidates[position].history.slice(0, 2));
    }
    expect(parts[0].knn).not.toBeNull();
    expect(parts[1].knn).toBeNull();
    [whole, ...parts].forEach((r) => r.head.dispose());
  });
});
