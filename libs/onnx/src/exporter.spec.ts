import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { decodeImage, loadModelFolder, preprocessBatch, selectBackend } from '@featx/vision';
import { exportLayersModelToOnnx, UnsupportedLayerError, type ExportLayersModelOptions } from './exporter';
import { itIf, typedArraysAcrossRealms } from '@featx/testing';
import { chain, randomizeWeights } from './test-support/layers-models';

const SHARED = path.resolve(__dirname, '../../../../shared/models');
const MOBILENET = path.join(SHARED, 'mobilenet_v2_1.0_224');

async function runOnnx(bytes: Uint8Array, inputName: string, x: tf.Tensor): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    // A plain array: onnxruntime-common's `instanceof Float32Array` check fails across jest's realms.
    const feeds = { [inputName]: new ort.Tensor('float32', Array.from(x.dataSync()), x.shape) };
    const out = await session.run(feeds);
    const t = out[session.outputNames[0]!]!;
    return { data: t.data as Float32Array, dims: t.dims };
  } finally {
    await session.release();
  }
}

/** Exports `model`, runs it on ORT and on TF.js with random input; returns the max abs difference. */
async function maxDiff(model: tf.LayersModel, batch = 2, options: ExportLayersModelOptions = {}): Promise<number> {
  const inShape = model.inputs[0]!.shape.slice(1) as number[];
  const x = tf.randomNormal([batch, ...inShape]);
  const expected = model.predict(x) as tf.Tensor;
  const exported = exportLayersModelToOnnx(model, options);
  const onnxIn = options.inputLayout === 'NCHW' ? tf.transpose(x, [0, 3, 1, 2]) : x;
  const actual = await runOnnx(exported.bytes, exported.inputName, onnxIn);
  expect([...actual.dims]).toEqual(expected.shape);
  const want = expected.dataSync();
  let diff = 0;
  for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(want[i]! - actual.data[i]!));
  tf.dispose([x, expected, onnxIn]);
  return diff;
}

const diffs: Record<string, number> = {};

describe('exportLayersModelToOnnx', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { log: () => undefined });
    typedArraysAcrossRealms();
  });
  afterAll(() => {
    console.info(`ONNX export max abs diffs: ${JSON.stringify(diffs, null, 1)}`);
  });

  const cases: Array<[string, () => tf.LayersModel]> = [
    ['Conv2D same stride 1 relu', () => chain([9, 9, 3], [tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu' })])],
    ['Conv2D same stride 2 (asymmetric pads)', () => chain([9, 8, 3], [tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' })])],
    ['Conv2D same stride 2 even kernel', () => chain([8, 8, 2], [tf.layers.conv2d({ filters: 3, kernelSize: [2, 4], strides: 2, padding: 'same' })])],
    ['Conv2D valid stride 2 no bias', () => chain([11, 10, 3], [tf.layers.conv2d({ filters: 4, kernelSize: [3, 2], strides: [2, 1], padding: 'valid', useBias: false })])],
    ['Conv2D activation relu6', () => chain([7, 7, 3], [tf.layers.conv2d({ filters: 4, kernelSize: 1, activation: 'relu6' })])],
    ['DepthwiseConv2D same stride 2', () => chain([9, 9, 4], [tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same' })])],
    ['DepthwiseConv2D valid multiplier 2', () => chain([8, 8, 3], [tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, activation: 'relu' })])],
    ['BatchNormalization 4-D', () => chain([5, 5, 4], [tf.layers.batchNormalization({ epsilon: 0.01 })])],
    ['BatchNormalization 2-D', () => chain([6], [tf.layers.batchNormalization({})])],
    ['ReLU', () => chain([4, 4, 3], [tf.layers.reLU({})])],
    ['ReLU max 6 (Clip)', () => chain([4, 4, 3], [tf.layers.conv2d({ filters: 3, kernelSize: 1 }), tf.layers.reLU({ maxValue: 6 })])],
    ['Activation relu/relu6/linear', () =>
      chain([4, 4, 3], [
        tf.layers.activation({ activation: 'relu' }),
        tf.layers.conv2d({ filters: 3, kernelSize: 1 }),
        tf.layers.activation({ activation: 'relu6' }),
        tf.layers.activation({ activation: 'linear' }),
      ])],
    ['Activation softmax on 4-D', () => chain([3, 3, 5], [tf.layers.conv2d({ filters: 4, kernelSize: 1 }), tf.layers.activation({ activation: 'softmax' })])],
    ['ZeroPadding2D', () => chain([5, 6, 2], [tf.layers.zeroPadding2d({ padding: [[1, 2], [0, 3]] }), tf.layers.conv2d({ filters: 2, kernelSize: 3, strides: 2 })])],
    ['MaxPooling2D valid', () => chain([8, 8, 3], [tf.layers.maxPooling2d({ poolSize: 2 })])],
    ['MaxPooling2D same stride 2', () => chain([7, 7, 3], [tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' })])],
    ['AveragePooling2D valid', () => chain([8, 6, 3], [tf.layers.averagePooling2d({ poolSize: [2, 3] })])],
    ['AveragePooling2D same (padding not counted)', () => chain([7, 7, 3], [tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' })])],
    ['GlobalAveragePooling2D + Dense softmax', () =>
      chain([6, 6, 3], [tf.layers.conv2d({ filters: 8, kernelSize: 3 }), tf.layers.globalAveragePooling2d({}), tf.layers.dense({ units: 5, activation: 'softmax' })])],
    ['Flatten (NHWC order) + Dense relu', () => chain([4, 5, 3], [tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same' }), tf.layers.flatten(), tf.layers.dense({ units: 7, activation: 'relu' })])],
    ['Dense without bias', () => chain([10], [tf.layers.dense({ units: 4, useBias: false })])],
    ['Reshape to 4-D then conv, back to 2-D', () =>
      chain([48], [tf.layers.reshape({ targetShape: [4, 4, 3] }), tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same' }), tf.layers.flatten()])],
    ['Softmax layer (MobileNet head)', () =>
      chain([4, 4, 3], [tf.layers.globalAveragePooling2d({}), tf.layers.reshape({ targetShape: [1, 1, 3] }), tf.layers.reshape({ targetShape: [3] }), tf.layers.softmax()])],
    ['Sequential model', () => {
      const m = tf.sequential({
        layers: [tf.layers.conv2d({ inputShape: [6, 6, 3], filters: 4, kernelSize: 3, activation: 'relu' }), tf.layers.maxPooling2d({ poolSize: 2 }), tf.layers.flatten(), tf.layers.dense({ units: 3 })],
      });
      randomizeWeights(m);
      return m;
    }],
    ['functional residual block (Add, BN, ReLU6)', () => {
      const input = tf.input({ shape: [8, 8, 4] });
      const a = tf.layers.conv2d({ filters: 8, kernelSize: 1, useBias: false }).apply(input) as tf.SymbolicTensor;
      const b = tf.layers.batchNormalization({}).apply(a) as tf.SymbolicTensor;
      const c = tf.layers.reLU({ maxValue: 6 }).apply(b) as tf.SymbolicTensor;
      const d = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same' }).apply(c) as tf.SymbolicTensor;
      const e = tf.layers.conv2d({ filters: 4, kernelSize: 1 }).apply(d) as tf.SymbolicTensor;
      const sum = tf.layers.add().apply([input, e]) as tf.SymbolicTensor;
      const out = tf.layers.zeroPadding2d({ padding: 1 }).apply(sum) as tf.SymbolicTensor;
      const model = tf.model({ inputs: input, outputs: out });
      randomizeWeights(model);
      return model;
    }],
  ];

  it.each(cases)('%s matches TF.js within 1e-4', async (label, build) => {
    const model = build();
    const diff = await maxDiff(model);
    diffs[label] = diff;
    expect(diff).toBeLessThan(1e-4);
    model.dispose();
  });

  it('takes NCHW input when asked and exports up to a named layer', async () => {
    const input = tf.input({ shape: [6, 6, 3] });
    const a = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'feat' }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.globalAveragePooling2d({}).apply(a) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: b });
    randomizeWeights(model);
    const exported = exportLayersModelToOnnx(model, { outputLayer: 'feat', inputName: 'pixels', inputLayout: 'NCHW' });
    expect(exported).toMatchObject({ inputName: 'pixels', outputName: 'feat', inputLayout: 'NCHW', inputShape: [-1, 3, 6, 6], outputShape: [-1, 6, 6, 4] });
    const feat = tf.model({ inputs: input, outputs: a });
    diffs['outputLayer + NCHW input'] = await maxDiff(feat, 1, { inputLayout: 'NCHW' });
    expect(diffs['outputLayer + NCHW input']).toBeLessThan(1e-4);
    model.dispose();
  });

  it('names the layer and class of what it cannot export', () => {
    const lstm = tf.sequential({ layers: [tf.layers.lstm({ units: 2, inputShape: [3, 4], name: 'my_lstm' })] });
    expect(() => exportLayersModelToOnnx(lstm)).toThrow(UnsupportedLayerError);
    expect(() => exportLayersModelToOnnx(lstm)).toThrow(/'my_lstm' \(LSTM\)/);
    const dilated = chain([8, 8, 3], [tf.layers.conv2d({ filters: 2, kernelSize: 3, dilationRate: 2, name: 'dilated' })]);
    expect(() => exportLayersModelToOnnx(dilated)).toThrow(/'dilated' \(Conv2D\).*dilationRate/);
    const elu = chain([4], [tf.layers.dense({ units: 2, activation: 'selu', name: 'd' })]);
    expect(() => exportLayersModelToOnnx(elu)).toThrow(/'d' \(Dense\).*selu/);
    tf.dispose([lstm, dilated, elu].flatMap((m) => m.weights.map((w) => w.read())));
  });

  itIf(existsSync(path.join(MOBILENET, 'model.json')), `${MOBILENET} is absent`)('exports the shared MobileNetV2 whole, with the same top-5 classes on every shared test image', async () => {
    const folder = await loadModelFolder(MOBILENET);
    try {
      const model = folder.model as tf.LayersModel;
      const exported = exportLayersModelToOnnx(model);
      const names = readdirSync(path.join(SHARED, 'test_images')).filter((f) => /\.(jpg|bmp)$/.test(f)).sort();
      expect(names.length).toBe(8);
      const images = await Promise.all(names.map((f) => decodeImage(readFileSync(path.join(SHARED, 'test_images', f)), { size: folder.spec.inputSize })));
      const x = preprocessBatch(images, folder.preprocessing);
      const expected = model.predict(x) as tf.Tensor;
      const actual = await runOnnx(exported.bytes, exported.inputName, x);
      const classes = expected.shape[1]!;
      const want = Array.from(expected.dataSync());
      const got = Array.from(actual.data);
      const top5 = (p: number[]) => p.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 5).map(([, i]) => i);
      let diff = 0;
      names.forEach((name, k) => {
        const row = (p: number[]) => p.slice(k * classes, (k + 1) * classes);
        expect([name, top5(row(got))]).toEqual([name, top5(row(want))]);
        console.info(`MobileNetV2 ${name}: top-1 ${folder.labels?.[top5(row(want))[0]!] ?? top5(row(want))[0]}`);
      });
      for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(want[i]! - got[i]!));
      diffs['MobileNetV2 probabilities (8 images)'] = diff;
      expect(diff).toBeLessThan(1e-3);
      tf.dispose([x, expected]);
    } finally {
      folder.dispose();
    }
  }, 120000);
});
