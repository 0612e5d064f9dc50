import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHead } from '@featx/learning';
import { selectBackend } from '@featx/vision';
import { RunArtifacts } from './artifacts';
import { loadRunMembers, saveRunMembers } from './run-members';

describe('ensemble members kept with the run', () => {
  let root: string;
  beforeAll(async () => {
    await selectBackend('cpu');
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'featx-run-members-'));
  });
  afterAll(() => fs.rm(root, { recursive: true, force: true }));

  it('rebuilds each member with its weights, input view and the statistics where standardized', async () => {
    const artifacts = new RunArtifacts(root, 'run-a');
    await fs.mkdir(artifacts.dir, { recursive: true });
    const heads = [createHead({ kind: 'logistic', inputDim: 4, classes: 3 }, 1, { kind: 'adam', learningRate: 0.01 }), createHead({ kind: 'mlp', inputDim: 4, classes: 3, hidden: [5] }, 2, { kind: 'sgd', learningRate: 0.01 })];
    const statistics = { mean: new Float32Array(4).fill(1), std: new Float32Array(4).fill(2) };
    await saveRunMembers(artifacts, [
      { head: heads[0], input: 'standardized', standardization: statistics },
      { head: heads[1], input: 'power', standardization: null },
    ]);
    const loaded = await loadRunMembers(artifacts, 2, 'tfjs', statistics);
    expect(loaded.map((m) => [m.input, m.standardization])).toEqual([
      ['standardized', statistics],
      ['power', null],
    ]);
    const x = Float32Array.from([0.1, -0.4, 2, 0.3]);
    loaded.forEach((member, k) => Array.from(member.head.predictProba(x)).forEach((p, i) => expect(p).toBeCloseTo(heads[k].predictProba(x)[i], 6)));
    loaded.forEach((m) => m.head.dispose());

    // A standardized member needs the statistics; a missing member says where it was looked for.
    await expect(loadRunMembers(artifacts, 1, 'tfjs', null)).rejects.toThrow(/cannot rebuild the run's ensemble from .*ensemble: ensemble member 1 is standardized, and the run has no training statistics/);
    await expect(loadRunMembers(artifacts, 3, 'tfjs', statistics)).rejects.toThrow(/cannot rebuild the run's ensemble from .*member-3/);
    heads.forEach((h) => h.dispose());
  });
});
