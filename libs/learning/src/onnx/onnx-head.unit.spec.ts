import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { selectBackend } from '@featx/vision';
import { createHead } from '../head';
import { resolveHeadSpec } from '../head-spec';
import { OptimizerSpec } from '../optimizers';
import { PARITY_CASES, PARITY_CLASS_WEIGHTS, PARITY_DIM, expectClose, expectNear, expectCheckpointContinues, expectSameStepsAsTfjs, parityBatches, snapshot } from '../testing/engine-parity';
import { OnnxHead } from './onnx-head';

// The ONNX Runtime engine against the TF.js one (the reference), step by step on fixed seeds.
const DIM = PARITY_DIM;
const batches = parityBatches;
const CLASS_WEIGHTS = PARITY_CLASS_WEIGHTS;




describe('ONNX Runtime head (engine onnx) against the TF.js head', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { log: () => undefined });
  });

  it.each(PARITY_CASES)('takes the same steps: %s', (_, spec, optimizer, weighted) => {
    const head = expectSameStepsAsTfjs('onnx', spec, optimizer, weighted);
    expect(head).toBeInstanceOf(OnnxHead);
    head.dispose();
  });

  it('splits a big kernel into row parts without changing a step (the parts are ≤ 16 MiB at full size)', () => {
    const spec = resolveHeadSpec({ kind: 'mlp', inputDim: DIM, classes: 3, hidden: [10, 4], dropout: 0.2, l2: 0.01 });
    for (const optimizer of [{ kind: 'sgd', learningRate: 0.05, momentum: 0.9, decay: 0.01 }, { kind: 'adam', learningRate: 0.01 }] as OptimizerSpec[]) {
      const whole = createHead(spec, 3, optimizer, undefined, { engine: 'onnx' });
      const inParts = new OnnxHead(spec, 3, optimizer, undefined, 3 * DIM); // first kernel in 4 parts of ≤ 3 rows
      for (const batch of batches.slice(0, 6)) {
        const [a, b] = [whole, inParts].map((head) => head.trainBatch(batch.features, batch.labels, { classWeights: CLASS_WEIGHTS }));
        expectNear(b.loss, a.loss, 1e-6);
      }
      expectClose(snapshot(inParts), snapshot(whole), 1e-6);
      whole.dispose();
      inParts.dispose();
    }
  });

  describe('checkpoints', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'featx-onnx-checkpoint-'));
    });
    afterEach(async () => {
      await fs.rm(dir, { recursive: true, force: true });
    });

    it('save → load → continue gives exactly the steps of the uninterrupted run, and either engine reads the checkpoint', async () => {
      const restored = await expectCheckpointContinues('onnx', dir);
      expect(restored).toBeInstanceOf(OnnxHead);
      restored.dispose();
    });

    it('names a checkpoint tensor of the wrong size', () => {
      const spec = resolveHeadSpec({ kind: 'logistic', inputDim: 4, classes: 2 });
      const values = new Map([
        ['dense_1/kernelT', new Float32Array(7)],
        ['dense_1/bias', new Float32Array(2)],
      ]);
      expect(() => new OnnxHead(spec, 1, { kind: 'sgd', learningRate: 0.1 }, { step: 0, values })).toThrow(/'dense_1\/kernelT' has 7 values, expected 8/);
    });
  });

  it('rejects an unknown engine by name', () => {
    expect(() => createHead({ kind: 'logistic', inputDim: 4, classes: 2 }, 1, undefined, undefined, { engine: 'cuda' as never })).toThrow(/engine must be one of auto, tfjs, onnx, onednn, got 'cuda'/);
  });
});
