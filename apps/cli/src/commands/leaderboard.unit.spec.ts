import type { RunCandidateView } from '@featx/contracts';
import { leaderboardTable, membersOf, searchedModelLine } from './runs.command';

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

  it('says what the model is: one candidate or a mean, with or without each image\'s mirror', () => {
    expect(searchedModelLine(config)).toBe("model: the mean of its best 2 candidates' probabilities, each image averaged with its mirror (test-time augmentation; predict --tta none turns it off)");
    expect(searchedModelLine({ search: { chosen: 'a', members: ['a'], testTimeAugment: 'none' } })).toBe('model: the chosen candidate');
    // Runs searched before ensembles record no members.
    expect(searchedModelLine({ search: { chosen: 'a' } })).toBe('model: the chosen candidate');
    expect(membersOf({ head: 'mlp' })).toEqual([]);
  });
});
