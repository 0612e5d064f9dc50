import { CandidateResult, compareCandidates, HeadSearchPlan } from './head-search';

/**
 * A `--head auto` search split into shares, each a child run any trainer can claim: the grid in
 * contiguous parts of grid order, so that with the default grid (ordered by input view, 12 heads
 * each) three shares are exactly the three views and six are view × optimizer. A share reads every
 * batch once for its candidates, as the whole search does for all of them, and prepares it once per
 * view it holds; its successive halving and early stopping run within the share.
 */

/** One share of a search: the candidates it trains (grid positions), its seed, whether it scores the kNN baseline. */
export interface SearchSharePart {
  index: number;
  of: number;
  positions: number[];
  seed: number;
  knn: boolean;
}

/**
 * `shares` parts of a grid of `candidates` heads (at most one per candidate), sizes differing by at
 * most one, the larger first. Every share keeps the run's seed: a candidate starts from the same
 * weights and sees the same batches in the same order as in the whole search, so a split changes
 * only which candidates successive halving compares it with. The first share scores the kNN
 * baseline (it needs the training split read once, which every share does).
 */
export function splitSearch(candidates: number, shares: number, seed: number): SearchSharePart[] {
  if (!Number.isInteger(candidates) || candidates < 1) throw new RangeError(`a search needs at least one candidate, got ${candidates}`);
  if (!Number.isInteger(shares) || shares < 1) throw new RangeError(`shares must be a positive integer, got ${shares}`);
  const of = Math.min(shares, candidates);
  const parts: SearchSharePart[] = [];
  let start = 0;
  for (let index = 0; index < of; index++) {
    const size = Math.floor(candidates / of) + (index < candidates % of ? 1 : 0);
    parts.push({ index, of, positions: Array.from({ length: size }, (_, k) => start + k), seed, knn: index === 0 });
    start += size;
  }
  return parts;
}

/** The plan a share trains: its candidates of `plan`, its seed, the kNN baseline only where it scores it. */
export function sharePlan(plan: HeadSearchPlan, share: Pick<SearchSharePart, 'positions' | 'seed' | 'knn'>): HeadSearchPlan {
  for (const position of share.positions) {
    if (!Number.isInteger(position) || position < 0 || position >= plan.candidates.length) {
      throw new RangeError(`share position ${position} is not in the grid of ${plan.candidates.length} candidates`);
    }
  }
  return { ...plan, candidates: share.positions.map((p) => plan.candidates[p]), knnK: share.knn ? plan.knnK : [], seed: share.seed };
}

/** A candidate as the shares' leaderboards keep it: where it is in the grid, how it ended, its best metrics. */
export type SharedCandidate = Pick<CandidateResult, 'valAccuracy' | 'valLoss'> & { position: number; outcome: CandidateResult['outcome'] | 'baseline' };

/**
 * The winner across the shares' candidates, by the rule the whole search uses: the best candidate
 * not pruned, ruled out or skipped (nor the kNN baseline), by validation accuracy, ties by log
 * loss, then grid order. The preference for the cross-validated converged candidate
 * (preferConverged) needs both candidates' validation probabilities, so it applies within a share,
 * not across shares.
 */
export function selectSharedWinner<C extends SharedCandidate>(candidates: readonly C[]): C {
  const standing = candidates.filter((c) => c.outcome !== 'pruned' && c.outcome !== 'ruled-out' && c.outcome !== 'skipped' && c.outcome !== 'baseline' && c.valAccuracy !== null);
  if (standing.length === 0) throw new Error(`no candidate reached a finite validation loss (tried ${candidates.filter((c) => c.outcome !== 'baseline').length})`);
  return [...standing].sort((a, b) => compareCandidates(a, b) || a.position - b.position)[0];
}
