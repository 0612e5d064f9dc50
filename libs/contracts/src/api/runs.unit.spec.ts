import { parseRunPhase, RunPhase } from './runs';

describe('parseRunPhase', () => {
  const search: RunPhase = { step: 'choosing-l2', unit: 'rows', done: 300, total: 1000, rowsPerSecond: 1480.2, candidates: 5, epoch: 3, epochs: 10 };

  it('takes every step as the trainer records it', () => {
    const phases: RunPhase[] = [
      { step: 'standardizing', unit: 'rows', done: 0, total: 3068, rowsPerSecond: null },
      search,
      { step: 'training', unit: 'epochs', done: 3, total: 25, rowsPerSecond: 1460 },
      { step: 'evaluating', unit: 'rows', done: 713, total: 713, rowsPerSecond: 2000 },
    ];
    for (const phase of phases) expect(parseRunPhase(phase)).toEqual(phase);
  });

  it.each<[string, unknown, string]>([
    ['an unknown step', { ...search, step: 'resting' }, 'run phase: field "step": Invalid discriminator value'],
    ['a step in the wrong unit', { ...search, step: 'training' }, 'run phase: field "unit": Invalid input: expected "epochs"'],
    ['done past total', { ...search, done: 1001 }, 'run phase: field "done": 1001 is more than total (1000)'],
    ['an epoch past epochs', { ...search, epoch: 11 }, 'run phase: field "epoch": 11 is past epochs (10)'],
    ['a fraction of a row', { ...search, done: 1.5 }, 'run phase: field "done": Invalid input: expected int'],
    ['an endless rate', { ...search, rowsPerSecond: Infinity }, 'run phase: field "rowsPerSecond": Invalid input: expected number, received Infinity'],
    ['the search without its candidates', { ...search, candidates: undefined }, 'run phase: field "candidates": Invalid input: expected number'],
    ['a field no step has', { ...search, eta: 40 }, 'run phase: message: Unrecognized key: "eta"'],
  ])('refuses %s, naming the field', (_case, phase, message) => {
    expect(() => parseRunPhase(phase)).toThrow(message);
  });
});
