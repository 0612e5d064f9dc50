import type { RunCandidateView } from '@featx/contracts';
import { crossValidationLine, leaderboardTable, membersOf, searchedModelLine } from './runs.command';

const candidate = (rank: number, name: string, chosen = false): RunCandidateView => ({
  rank,
  name,
  settings: {},
  outcome: 'pruned',
  epochsTrained: 8,
  bestEpoch: 3,
  prunedAfter: 8,
  valAccuracy: 0.9 - rank / 100,
  valLoss: 0.3,
  trainAccuracy: null,
  trainLoss: null,
  cvAccuracy: null,
  cvLoss: null,
  sampleRows: null,
  splitRows: null,
  chosen,
});

describe('a searched run in the CLI', () => {
  const config = { head: 'logistic', search: { chosen: 'a', members: ['a', 'c'], testTimeAugment: 'hflip' } };

  it('marks the chosen candidate and the ensemble\'s other members on the leaderboard', () => {
    const lines = leaderboardTable([candidate(1, 'a', true), candidate(2, 'b'), candidate(3, 'c')], membersOf(config)).split('\n');
    expect(lines.find((l) => l.includes(' a '))).toMatch(/1 ◀ chosen/);
    expect(lines.find((l) => l.includes(' b '))).not.toMatch(/◀/);
    expect(lines.find((l) => l.includes(' c '))).toMatch(/3 ◀ member/);
  });

  it('says what a converged candidate was fit on: the whole split, or a sample of one too large to hold', () => {
    const fit = { ...candidate(1, 'logistic lbfgs l2=0.01 power'), outcome: 'fit' as const };
    expect(leaderboardTable([fit])).toMatch(/fit on the whole split \(L-BFGS\)/);
    expect(leaderboardTable([{ ...fit, sampleRows: 52428, splitRows: 1000000 }])).toMatch(/fit on a sample of 52,428 of 1,000,000 rows \(L-BFGS\)/);
    expect(leaderboardTable([{ ...fit, outcome: 'skipped' }])).toMatch(/skipped \(training split too large to hold, a sample too small\)/);
  });

  it('says what the model is: one candidate or a mean, with or without each image\'s mirror', () => {
    expect(searchedModelLine(config)).toBe("model: the mean of 2 candidates' probabilities (the chosen one and each ◀ member), each image averaged with its mirror (test-time augmentation; predict --tta none turns it off)");
    expect(searchedModelLine({ search: { chosen: 'a', members: ['a'], testTimeAugment: 'none' } })).toBe('model: the chosen candidate');
    // Runs searched before ensembles record no members.
    expect(searchedModelLine({ search: { chosen: 'a' } })).toBe('model: the chosen candidate');
    expect(membersOf({ head: 'mlp' })).toEqual([]);
  });

  it('says what cross-validation kept and how a step-trained leader fared against it', () => {
    const kept = { ...candidate(2, 'logistic lbfgs l2=0.01 power'), outcome: 'fit' as const, cvAccuracy: 0.866, cvLoss: 0.41 };
    const ruled = { ...candidate(3, 'logistic lbfgs l2=0.001 power'), outcome: 'ruled-out' as const, cvAccuracy: 0.852, cvLoss: 0.43 };
    const preference = { leader: 'mlp adam lr=0.001 dropout=0 raw', converged: kept.name, accuracyMargin: 0.012, standardError: 0.014, winner: kept.name };
    const search = { chosen: kept.name, convergedFolds: 5, convergedPreference: preference };
    expect(crossValidationLine({ search }, [candidate(1, preference.leader), kept, ruled]).split('\n')).toEqual([
      'cross-validation (5 folds of the training split) kept logistic lbfgs l2=0.01 power (86.6% held out)',
      'mlp adam lr=0.001 dropout=0 raw led validation by 1.2 points (standard error 1.4 points): within one standard error, so logistic lbfgs l2=0.01 power won',
    ]);
    const won = { ...search, convergedPreference: { ...preference, accuracyMargin: 0.03, winner: preference.leader } };
    expect(crossValidationLine({ search: won }, [kept]).split('\n')[1]).toMatch(/led validation by 3\.0 points \(standard error 1\.4 points\): more than one standard error, so it won$/);
    expect(crossValidationLine({ search: { chosen: 'a' } }, [kept])).toBe('');
  });
});
