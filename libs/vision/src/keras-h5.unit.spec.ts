import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from './backend';
import { WeightsMismatchError } from './errors';
import { loadKerasH5Weights, readKerasH5Weights } from './keras-h5';
import { resnet50LegacyLayerName } from './resnet50';
import { writeKerasH5, type LayerToWrite } from './test-support/keras-h5-writer';
import { seededValues } from './test-support/seeded-values';

/** conv (3x3, 3→4) + batch norm, small enough to write many variants of. */
function tinyModel(convName = 'c1', bnName = 'b1'): tf.LayersModel {
  const input = tf.input({ shape: [5, 5, 3] });
  const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: convName }).apply(input) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({ name: bnName }).apply(conv) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: bn });
}

function tinyLayers(convName = 'c1', bnName = 'b1'): LayerToWrite[] {
  const w = (layer: string, kind: string, shape: number[]) => ({
    name: `${layer}/${kind}:0`,
    shape,
    values: seededValues(`${layer}/${kind}`, shape.reduce((a, b) => a * b, 1), 0.1, 1),
  });
  return [
    { name: 'input_1', weights: [] },
    { name: convName, weights: [w(convName, 'kernel', [3, 3, 3, 4]), w(convName, 'bias', [4])] },
    { name: bnName, weights: ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((k) => w(bnName, k, [4])) },
  ];
}

describe('Keras HDF5 weights loader', () => {
  let dir: string;
  const file = (name: string) => path.join(dir, name);

  beforeAll(async () => {
    await selectBackend('wasm', { log: () => undefined });
    dir = mkdtempSync(path.join(os.tmpdir(), 'featx-h5-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads matching weights by layer name', async () => {
    await writeKerasH5(file('ok.h5'), tinyLayers());
    const model = tinyModel();
    const report = await loadKerasH5Weights(model, file('ok.h5'));
    expect(report).toMatchObject({ assignedLayers: 2, assignedTensors: 6, assignedValues: 108 + 4 + 16, unusedFileLayers: [] });
    const gamma = model.getLayer('b1').getWeights()[0]!;
    expect(Array.from(gamma.dataSync())).toEqual(Array.from(seededValues('b1/gamma', 4, 0.1, 1)));
    model.dispose();
  });

  it('names the layer and both shapes when a shape differs, and writes nothing', async () => {
    const layers = tinyLayers();
    layers[1]!.weights[0] = { name: 'c1/kernel:0', shape: [3, 3, 3, 5], values: new Float32Array(135) };
    await writeKerasH5(file('shape.h5'), layers);
    const model = tinyModel();
    const before = model.getLayer('b1').getWeights()[0]!.dataSync().slice();
    await expect(loadKerasH5Weights(model, file('shape.h5'))).rejects.toThrow(/c1\/kernel: file shape \[3,3,3,5\], model shape \[3,3,3,4\]/);
    // The valid BN layer was not written either: all checks run before any assignment.
    expect(Array.from(model.getLayer('b1').getWeights()[0]!.dataSync())).toEqual(Array.from(before));
    model.dispose();
  });

  it('reports a layer missing from the file', async () => {
    await writeKerasH5(file('missing.h5'), tinyLayers().slice(0, 2));
    const model = tinyModel();
    const error = await loadKerasH5Weights(model, file('missing.h5')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeightsMismatchError);
    expect((error as WeightsMismatchError).problems).toEqual(["layer 'b1' (4 weights) is missing from the file"]);
    model.dispose();
  });

  it('refuses weights stored in the wrong slot (beta where gamma belongs)', async () => {
    const layers = tinyLayers();
    const bn = layers[2]!.weights;
    [bn[0], bn[1]] = [bn[1]!, bn[0]!];
    await writeKerasH5(file('order.h5'), layers);
    const model = tinyModel();
    await expect(loadKerasH5Weights(model, file('order.h5'))).rejects.toThrow(/file has 'b1\/beta:0' where the model has 'gamma'/);
    model.dispose();
  });

  it('finds layers under their legacy Keras 2.0 names through an alias', async () => {
    await writeKerasH5(file('legacy.h5'), tinyLayers('conv1', 'bn_conv1'));
    const model = tinyModel('conv1_conv', 'conv1_bn');
    const report = await loadKerasH5Weights(model, file('legacy.h5'), { layerAlias: resnet50LegacyLayerName });
    expect(report).toMatchObject({ assignedLayers: 2, aliasedLayers: 2 });
    model.dispose();
  });

  it('explains a missing file and a file that is not HDF5', async () => {
    await expect(readKerasH5Weights(file('nope.h5'))).rejects.toThrow(/weights file not found: .*nope\.h5/);
    writeFileSync(file('page.h5'), '<html>404 Not Found</html>');
    await expect(readKerasH5Weights(file('page.h5'))).rejects.toThrow(/is not an HDF5 file/);
  });
});
