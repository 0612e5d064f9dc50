import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@featx/vision';
import { fileLoadHandler } from './file-io-handler';
import { createHead } from './head';
import { exportTfjsModel, loadTrainedHead } from './tfjs-export';
import { clusters } from './testing/synthetic';

function maxDifference(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

describe('TF.js layers export', () => {
  let dir: string;

  beforeAll(async () => {
    await selectBackend('wasm', { log: () => undefined });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'featx-export-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('writes a model tf.loadLayersModel reads, predicting the head\'s probabilities', async () => {
    const head = createHead({ kind: 'mlp', inputDim: 24, classes: 3, hidden: [10, 6], dropout: 0.25 }, 2, { kind: 'adam', learningRate: 0.01 });
    const data = clusters(30, 24, 3, 4);
    for (let i = 0; i < 5; i++) head.trainBatch(data.features, data.labels);
    const expected = head.predictProba(data.features);

    const written = await exportTfjsModel(head, dir, { metadata: { classes: ['a', 'b', 'c'] } });
    const modelJson = JSON.parse(await fs.readFile(written.modelJson, 'utf8'));
    expect(modelJson.format).toBe('layers-model');
    expect(modelJson.modelTopology.class_name).toBe('Sequential');
    const specs = modelJson.weightsManifest[0].weights as Array<{ name: string; shape: number[] }>;
    // Keras layout: kernels [inputs, units].
    expect(specs.map((s) => [s.name, s.shape])).toEqual([
      ['dense_1/kernel', [24, 10]],
      ['dense_1/bias', [10]],
      ['dense_2/kernel', [10, 6]],
      ['dense_2/bias', [6]],
      ['dense_3/kernel', [6, 3]],
      ['dense_3/bias', [3]],
    ]);

    const model = await tf.loadLayersModel(fileLoadHandler(written.modelJson));
    expect(model.layers.map((l) => l.getClassName())).toEqual(['Dense', 'Dropout', 'Dense', 'Dropout', 'Dense']);
    const predicted = tf.tidy(() => (model.predict(tf.tensor2d(data.features, [30, 24])) as tf.Tensor).dataSync() as Float32Array);
    expect(maxDifference(predicted, expected)).toBeLessThan(1e-6);
    model.dispose();

    const trained = await loadTrainedHead(dir);
    expect([trained.inputDim, trained.classes]).toEqual([24, 3]);
    expect(maxDifference(trained.predictProba(data.features), expected)).toBeLessThan(1e-6);
    expect(trained.metadata).toMatchObject({ classes: ['a', 'b', 'c'], featx: { step: 5, spec: head.spec } });
    trained.dispose();

    // Exporting again replaces the model and leaves one weights file.
    const again = await exportTfjsModel(head, dir);
    expect((await fs.readdir(dir)).sort()).toEqual(['model.json', path.basename(again.weights)].sort());
    head.dispose();
  });

  it('exports a logistic head as one softmax Dense layer', async () => {
    const head = createHead({ kind: 'logistic', inputDim: 5, classes: 2 }, 1);
    const out = path.join(dir, 'logistic');
    await exportTfjsModel(head, out);
    const trained = await loadTrainedHead(out);
    const x = clusters(4, 5, 2, 1).features;
    expect(maxDifference(trained.predictProba(x), head.predictProba(x))).toBeLessThan(1e-6);
    trained.dispose();
    head.dispose();
  });
});
