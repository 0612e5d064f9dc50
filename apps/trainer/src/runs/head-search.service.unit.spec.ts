import { trainingConfigSchema } from '@featx/contracts';
import { CandidateResult, candidateName, CandidateSettings, defaultSearchPlan } from '@featx/learning';
import { winnerConfig } from './head-search.service';

const requested = trainingConfigSchema.parse({ featureSetId: '7f0c1a52-6a0e-4c1b-9a51-2f8f1e5b0c3d', head: 'auto', seed: 7 });

function winner(settings: CandidateSettings): CandidateResult {
  return { settings, name: candidateName(settings), epochsTrained: 12, bestEpoch: 7, valAccuracy: 0.9, valLoss: 0.3, trainAccuracy: 0.95, trainLoss: 0.2, outcome: 'early-stopped', prunedAfter: null, history: [] };
}

describe('winnerConfig', () => {
  const plan = defaultSearchPlan(1280);
  const search = { chosen: 'x', candidates: 36, epochs: 25, patience: 5, rungs: plan.rungs };

  it('is the run configuration of the winner: its head, optimizer and inputs, the epochs it trained, and the search that chose it', () => {
    const config = winnerConfig(requested, plan, winner({ kind: 'logistic', input: 'power', optimizer: 'adam', learningRate: 1e-3, l2: 1e-4, dropout: 0 }), search);
    expect(trainingConfigSchema.parse(config)).toEqual(config);
    expect(config).toMatchObject({ head: 'logistic', l2: 1e-4, optimizer: 'adam', learningRate: 1e-3, decay: 0, normalize: 'power', standardize: false, epochs: 12, earlyStoppingPatience: 5, seed: 7, search });
  });

  it('keeps the tutorial SGD’s momentum and decay over the search’s epochs, and standardization where the winner had it', () => {
    const config = winnerConfig(requested, plan, winner({ kind: 'mlp', input: 'standardized', optimizer: 'sgd', learningRate: 1e-3, l2: 0, dropout: 0.5 }), search);
    expect(trainingConfigSchema.parse(config)).toEqual(config);
    expect(config).toMatchObject({ head: 'mlp', dropout: 0.5, momentum: 0.9, decay: 1e-3 / 25, standardize: true, normalize: 'none' });
  });

  it('records a converged winner as lbfgs, which only a chosen configuration may hold', () => {
    const config = winnerConfig(requested, plan, { ...winner({ kind: 'logistic', input: 'power', optimizer: 'lbfgs', learningRate: 1, l2: 3e-3, dropout: 0 }), epochsTrained: 1 }, search);
    expect(trainingConfigSchema.parse(config)).toEqual(config);
    expect(config).toMatchObject({ head: 'logistic', optimizer: 'lbfgs', l2: 3e-3, normalize: 'power', epochs: 1, decay: 0 });
    const asked = trainingConfigSchema.safeParse({ featureSetId: requested.featureSetId, head: 'logistic', optimizer: 'lbfgs' });
    expect(asked.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(['optimizer: lbfgs is chosen by head auto only (its converged logistic candidates); ask for sgd or adam']);
  });

  it('refuses, for head auto, the settings auto chooses itself', () => {
    const result = trainingConfigSchema.safeParse({ featureSetId: requested.featureSetId, head: 'auto', l2: 0.1, standardize: true });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message)).toEqual(['head auto chooses l2 itself: leave it out', 'head auto chooses standardize itself: leave it out']);
  });
});
