import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from './backend';
import { assignKerasWeights, readKerasH5Weights, type KerasWeightsFile } from './keras-h5';
import { buildResNet50, RESNET50_FEATURE_LAYER, resnet50LegacyLayerName } from './resnet50';
import { writeKerasH5 } from './test-support/keras-h5-writer';
import { at, featureMap, type FeatureMap } from './test-support/reference-ops';
import { resnet50KerasLayout } from './test-support/resnet50-keras-layout';
import { referenceResNet50, type ReferenceOutputs } from './test-support/resnet50-reference';
import { layersToWrite, testWeightValues } from './test-support/resnet50-test-weights';
import { seededValues } from './test-support/seeded-values';

// Known totals Keras reports for ResNet50 (model.summary / count_params).
const KERAS_PARAMS_NOTOP = 23_587_712;
const KERAS_PARAMS_TOP = 25_636_712;
const SMALL = 32; // input side for forward checks: 16x16 after conv1, 1x1 at conv5

describe('ResNet-50 (Keras applications layout)', () => {
  let dir: string;
  let weightsFile: KerasWeightsFile;
  let input: FeatureMap;
  let reference: ReferenceOutputs;

  beforeAll(async () => {
    await selectBackend('wasm', { log: () => undefined });
    dir = mkdtempSync(path.join(os.tmpdir(), 'featx-resnet50-'));
    const file = path.join(dir, 'resnet50_weights_tf_dim_ordering_tf_kernels.h5');
    // A full-size file (25.6M values, ~100 MB) exactly as Keras lays out resnet50_..._kernels.h5.
    await writeKerasH5(file, layersToWrite(resnet50KerasLayout(true)));
    weightsFile = await readKerasH5Weights(file);
    input = featureMap(SMALL, SMALL, 3, seededValues('input', SMALL * SMALL * 3, -1.5, 1.5));
    reference = referenceResNet50(input, true);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has the layer names, weight shapes and parameter count Keras has', () => {
    const layout = resnet50KerasLayout(false);
    const model = buildResNet50({ initialization: 'zeros' });
    try {
      expect(model.layers).toHaveLength(175);
      expect(model.layers.map((l) => l.name).sort()).toEqual(layout.map((l) => l.name).sort());
      for (const expected of layout) {
        const shapes = model.getLayer(expected.name).weights.map((w) => w.shape);
        expect({ layer: expected.name, shapes }).toEqual({ layer: expected.name, shapes: expected.weights.map((w) => w.shape) });
      }
      expect(model.countParams()).toBe(KERAS_PARAMS_NOTOP);
      expect(model.outputs[0]!.shape).toEqual([null, 7, 7, 2048]);
      expect(model.outputs[0]!.sourceLayer.name).toBe(RESNET50_FEATURE_LAYER);
      const bn = model.getLayer('conv3_block2_2_bn').getConfig();
      expect(bn['epsilon']).toBeCloseTo(1.001e-5, 10);
    } finally {
      model.dispose();
    }
    const top = buildResNet50({ includeTop: true, initialization: 'zeros' });
    try {
      expect(top.layers).toHaveLength(177);
      expect(top.countParams()).toBe(KERAS_PARAMS_TOP);
      expect(top.outputs[0]!.shape).toEqual([null, 1000]);
    } finally {
      top.dispose();
    }
  });

  it('reads the Keras HDF5 layout: layer_names in model order, weight_names per layer', () => {
    expect(weightsFile.layerNames).toEqual(resnet50KerasLayout(true).map((l) => l.name));
    expect(weightsFile.layers.get('conv1_bn')!.weights.map((w) => w.name)).toEqual([
      'conv1_bn/gamma:0', 'conv1_bn/beta:0', 'conv1_bn/moving_mean:0', 'conv1_bn/moving_variance:0',
    ]);
    expect(weightsFile.layers.get('conv1_pad')!.weights).toEqual([]);
    expect(weightsFile.kerasVersion).toBe('2.13.1');
  });

  it('puts every stored weight into the right variable and matches an independent forward pass', async () => {
    const model = buildResNet50({ inputShape: [SMALL, SMALL, 3], initialization: 'zeros' });
    try {
      const report = assignKerasWeights(model, weightsFile);
      expect(report.assignedLayers).toBe(106); // 53 conv + 53 batch-norm layers
      expect(report.assignedValues).toBe(KERAS_PARAMS_NOTOP);
      expect(report.unusedFileLayers).toEqual(['predictions']);

      for (const layer of model.layers) {
        layer.weights.forEach((variable) => {
          const kind = variable.originalName.slice(variable.originalName.lastIndexOf('/') + 1);
          const expected = testWeightValues(layer.name, kind, variable.shape as number[]);
          const actual = variable.read().dataSync() as Float32Array;
          // Exact: the loader must copy, not transform, and must not mix up layers or slots.
          if (!Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(Buffer.from(expected.buffer))) {
            throw new Error(`${variable.originalName} does not hold the stored values`);
          }
        });
      }

      const probe = tf.model({
        inputs: model.inputs,
        outputs: ['conv1_relu', 'pool1_pool', 'conv2_block1_out', RESNET50_FEATURE_LAYER].map((n) => model.getLayer(n).output as tf.SymbolicTensor),
      });
      const x = tf.tensor4d(Float32Array.from(input.data), [1, SMALL, SMALL, 3]);
      const outputs = probe.predict(x) as tf.Tensor[];
      const [conv1, pool1, block1, conv5] = await Promise.all(outputs.map((t) => t.data() as Promise<Float32Array>));
      tf.dispose([x, ...outputs]);

      expect(outputs.map((t) => t.shape)).toEqual([[1, 16, 16, 64], [1, 8, 8, 64], [1, 8, 8, 256], [1, 1, 1, 2048]]);
      // conv1_conv + conv1_bn + relu at a few positions (corners exercise the zero padding).
      for (const [y, xx, c] of [[0, 0, 0], [0, 15, 7], [7, 9, 33], [15, 15, 63], [15, 0, 12]] as const) {
        expect(conv1![(y * 16 + xx) * 64 + c]).toBeCloseTo(at(reference.conv1_relu, y, xx, c), 4);
      }
      expectClose(pool1!, reference.pool1_pool.data, 1e-5);
      expectClose(block1!, reference.conv2_block1_out.data, 1e-4);
      expectClose(conv5!, reference.conv5_block3_out.data, 1e-3);
    } finally {
      model.dispose();
    }
  });

  it('with includeTop, loads predictions and matches the reference softmax', async () => {
    const model = buildResNet50({ includeTop: true, inputShape: [SMALL, SMALL, 3], initialization: 'zeros' });
    try {
      const report = assignKerasWeights(model, weightsFile);
      expect(report.assignedValues).toBe(KERAS_PARAMS_TOP);
      expect(report.unusedFileLayers).toEqual([]);
      const x = tf.tensor4d(Float32Array.from(input.data), [1, SMALL, SMALL, 3]);
      const y = model.predict(x) as tf.Tensor;
      const probs = (await y.data()) as Float32Array;
      tf.dispose([x, y]);
      expectClose(probs, reference.predictions!, 1e-3);
    } finally {
      model.dispose();
    }
  });

  it('maps current layer names to the original Keras 2.0 ResNet50 names', () => {
    expect(resnet50LegacyLayerName('conv1_conv')).toBe('conv1');
    expect(resnet50LegacyLayerName('conv1_bn')).toBe('bn_conv1');
    expect(resnet50LegacyLayerName('conv2_block1_0_conv')).toBe('res2a_branch1');
    expect(resnet50LegacyLayerName('conv2_block1_1_bn')).toBe('bn2a_branch2a');
    expect(resnet50LegacyLayerName('conv4_block6_3_conv')).toBe('res4f_branch2c');
    expect(resnet50LegacyLayerName('predictions')).toBe('fc1000');
    expect(resnet50LegacyLayerName('conv1_pad')).toBeUndefined();
  });
});

/** Max abs difference relative to the reference's largest magnitude. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, relTolerance: number): void {
  expect(actual.length).toBe(expected.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  }
  expect(scale).toBeGreaterThan(0);
  expect(worst / scale).toBeLessThan(relTolerance);
}
