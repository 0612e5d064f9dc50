import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { selectBackend } from '@featx/vision';
import { loadCheckpoint, readCheckpointManifest, saveCheckpoint } from './checkpoint';
import { TrainableHead, createHead } from './head';
import { HeadSpec } from './head-spec';
import { OptimizerSpec } from './optimizers';
import { clusters, slice } from './testing/synthetic';

const data = clusters(64, 20, 3, 8);
const batches = Array.from({ length: 8 }, (_, i) => slice(data, i * 8, 8));

function trainSteps(head: TrainableHead, from: number, count: number): number[] {
  const losses: number[] = [];
  for (let i = from; i < from + count; i++) losses.push(head.trainBatch(batches[i % 8].features, batches[i % 8].labels).loss);
  return losses;
}

function snapshot(head: TrainableHead): number[][] {
  return [...head.parameters(), ...head.optimizer.state()].map((p) => Array.from(p.tensor.dataSync()));
}

describe('checkpoints', () => {
  let dir: string;

  beforeAll(async () => {
    await selectBackend('wasm', { log: () => undefined });
  });
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'featx-checkpoint-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it.each<[string, HeadSpec, OptimizerSpec]>([
    ['MLP with dropout, SGD with momentum and decay', { kind: 'mlp', inputDim: 20, classes: 3, hidden: [12, 6], dropout: 0.3 }, { kind: 'sgd', learningRate: 0.05, momentum: 0.9, decay: 0.01 }],
    ['logistic with L2, Adam', { kind: 'logistic', inputDim: 20, classes: 3, l2: 0.01 }, { kind: 'adam', learningRate: 0.01, decay: 0.001 }],
  ])('save → load → continue gives exactly the steps of the uninterrupted run: %s', async (_, spec, optimizer) => {
    const original = createHead(spec, 5, optimizer);
    trainSteps(original, 0, 5);
    const manifest = await saveCheckpoint(original, dir, { epoch: 2 });
    expect(manifest.step).toBe(5);

    const restored = await loadCheckpoint(dir);
    expect(restored.step).toBe(5);
    expect(restored.spec).toEqual(original.spec);
    expect(restored.optimizer.spec).toEqual(original.optimizer.spec);
    expect(restored.learningRate).toBe(original.learningRate);
    expect(snapshot(restored)).toEqual(snapshot(original));

    expect(trainSteps(restored, 5, 6)).toEqual(trainSteps(original, 5, 6));
    expect(snapshot(restored)).toEqual(snapshot(original));
    expect((await readCheckpointManifest(dir))?.metadata).toEqual({ epoch: 2 });
    original.dispose();
    restored.dispose();
  });

  it('replaces the previous checkpoint atomically and removes its data file', async () => {
    const head = createHead({ kind: 'mlp', inputDim: 20, classes: 3, hidden: [4] }, 1);
    expect(await readCheckpointManifest(dir)).toBeUndefined();
    await expect(loadCheckpoint(dir)).rejects.toThrow(/no checkpoint/);
    const first = await saveCheckpoint(head, dir);
    trainSteps(head, 0, 2);
    const second = await saveCheckpoint(head, dir);
    const files = (await fs.readdir(dir)).sort();
    expect(files).toEqual(['checkpoint.json', second.data].sort());
    expect(second.data).not.toBe(first.data);
    const bytes = (await fs.stat(path.join(dir, second.data))).size;
    expect(bytes).toBe(second.tensors.reduce((sum, t) => sum + t.length * 4, 0));

    // A data file cut short (disk full, say) is reported, not silently zero-filled.
    await fs.truncate(path.join(dir, second.data), bytes - 4);
    await expect(loadCheckpoint(dir)).rejects.toThrow(/ends at byte/);
    head.dispose();
  });
});
