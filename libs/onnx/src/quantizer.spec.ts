import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { selectBackend, type DecodedImage } from '@featx/vision';
import { typedArraysAcrossRealms } from '@featx/testing';
import { exportLayersModelToOnnx } from './exporter';
import { cosineSimilarity, QuantizationMismatchError, QuantizationParityError, quantizeFeatureNetwork } from './engine';
import { activationQuantization, calibrateRanges, countOpTypes, EditableGraph, quantizeOnnxModel, quantizeWeightsPerChannel, type CalibrationBatch } from './quantizer';
import { onnxModelBytes, onnxNode, onnxValueInfo } from './engine/test-models';
import { chain as randomChain, randomizeWeights } from './test-support/layers-models';


let dir: string;

function seededNormal(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
  for (let i = 0; i < count; i++) out[i] = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return out;
}

const SEED = 7;
const chain = (inputShape: number[], layers: tf.layers.Layer[]) => randomChain(inputShape, layers, SEED);

function residual(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3] });
  const a = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same' }).apply(input) as tf.SymbolicTensor;
  const b = tf.layers.conv2d({ filters: 8, kernelSize: 1 }).apply(input) as tf.SymbolicTensor;
  const sum = tf.layers.add().apply([a, b]) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: tf.layers.reLU().apply(sum) as tf.SymbolicTensor });
  randomizeWeights(model, SEED);
  return model;
}

function batches(inputShape: number[], count: number, seed: number, batch = 4): () => AsyncIterable<CalibrationBatch> {
  const per = inputShape.reduce((a, b) => a * b, 1);
  return async function* () {
    for (let start = 0; start < count; start += batch) {
      const n = Math.min(batch, count - start);
      yield { data: seededNormal(n * per, seed + start), dims: [n, ...inputShape] };
    }
  };
}

async function run(bytes: Uint8Array, input: CalibrationBatch): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input.data, input.dims) });
    return Float32Array.from(out[session.outputNames[0]!]!.data as Float32Array);
  } finally {
    await session.release();
  }
}

/** The node types ONNX Runtime actually runs the model with (its optimised graph, as it saves it). */
async function optimizedOps(bytes: Uint8Array, name: string): Promise<Record<string, number>> {
  const file = path.join(dir, `${name.replace(/\W+/g, '_')}.optimized.onnx`);
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, graphOptimizationLevel: 'extended', optimizedModelFilePath: file });
  await session.release();
  return countOpTypes(readFileSync(file));
}

describe('int8 quantization (QDQ)', () => {
  beforeAll(async () => {
    await selectBackend('cpu', { log: () => undefined });
    typedArraysAcrossRealms();
    dir = mkdtempSync(path.join(os.tmpdir(), 'featx-quantizer-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: Array<{ layer: string; model: () => tf.LayersModel; inputShape: number[]; int8Kernels: Record<string, number>; folded?: { batchNorms?: number; pads?: number }; absorbed?: number }> = [
    {
      layer: 'Conv2D + BatchNormalization + ReLU',
      model: () => chain([8, 8, 3], [tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false }), tf.layers.batchNormalization(), tf.layers.reLU()]),
      inputShape: [8, 8, 3],
      int8Kernels: { QLinearConv: 1 },
      folded: { batchNorms: 1 },
      absorbed: 1,
    },
    {
      layer: 'ZeroPadding2D + strided Conv2D',
      model: () => chain([9, 9, 3], [tf.layers.zeroPadding2d({ padding: [[1, 2], [0, 1]] }), tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2 })]),
      inputShape: [9, 9, 3],
      int8Kernels: { QLinearConv: 1 },
      folded: { pads: 1 },
    },
    {
      layer: 'DepthwiseConv2D + ReLU6',
      model: () => chain([8, 8, 3], [tf.layers.conv2d({ filters: 8, kernelSize: 1 }), tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same' }), tf.layers.reLU({ maxValue: 6 })]),
      inputShape: [8, 8, 3],
      int8Kernels: { QLinearConv: 2 },
      absorbed: 1,
    },
    { layer: 'Add (residual) + ReLU', model: residual, inputShape: [8, 8, 3], int8Kernels: { QLinearConv: 2, QLinearAdd: 1 }, absorbed: 1 },
    {
      layer: 'Dense (Gemm) + ReLU',
      model: () => chain([16], [tf.layers.dense({ units: 8 }), tf.layers.reLU(), tf.layers.dense({ units: 4 })]),
      inputShape: [16],
      int8Kernels: { QGemm: 2 },
      absorbed: 1,
    },
    {
      layer: 'Dense on a 3-D input (MatMul)',
      model: () => chain([4, 16], [tf.layers.dense({ units: 8, useBias: false })]),
      inputShape: [4, 16],
      int8Kernels: { QLinearMatMul: 1 },
    },
  ];

  for (const c of cases) {
    it(`quantizes ${c.layer} into ONNX Runtime's int8 kernels, close to fp32`, async () => {
      const model = c.model();
      const fp32 = exportLayersModelToOnnx(model, { outputName: 'features' }).bytes;
      model.dispose();
      const quantized = await quantizeOnnxModel(fp32, batches(c.inputShape, 32, 1));
      expect(quantized.foldedBatchNorms).toBe(c.folded?.batchNorms ?? 0);
      expect(quantized.foldedPads).toBe(c.folded?.pads ?? 0);
      expect(quantized.absorbedActivations).toBe(c.absorbed ?? 0);

      const ops = await optimizedOps(quantized.bytes, c.layer);
      for (const [op, count] of Object.entries(c.int8Kernels)) expect([op, ops[op] ?? 0]).toEqual([op, count]);
      // No fp32 compute left: what is not an int8 kernel only moves or (de)quantizes data.
      for (const fp32Op of ['Conv', 'Gemm', 'MatMul', 'BatchNormalization', 'Relu', 'Clip', 'Pad']) expect([fp32Op, ops[fp32Op] ?? 0]).toEqual([fp32Op, 0]);

      const probe = (await batches(c.inputShape, 8, 99, 8)()[Symbol.asyncIterator]().next()).value as CalibrationBatch;
      const [want, got] = [await run(fp32, probe), await run(quantized.bytes, probe)];
      expect(cosineSimilarity(want, got)).toBeGreaterThan(0.99);
    });
  }

  it('calibrates min/max exactly, and percentile cuts an outlier', async () => {
    // input → Relu → out: the range of 'x' is the inputs', of 'y' their positive part's.
    const bytes = onnxModelBytes({ nodes: [onnxNode('Relu', ['x'], ['y'])], initializers: [], inputs: [onnxValueInfo('x', ['N', 1000])], outputs: [onnxValueInfo('y', ['N', 1000])] });
    const data = seededNormal(4000, 3);
    data[17] = 50; // one outlier among 4,000 values
    const feed = async function* () {
      yield { data: data.subarray(0, 2000), dims: [2, 1000] };
      yield { data: data.subarray(2000), dims: [2, 1000] };
    };
    const minmax = await calibrateRanges(bytes, ['x', 'y'], feed, { method: 'minmax' });
    const min = data.reduce((a, b) => Math.min(a, b));
    expect(minmax.get('x')).toEqual({ min, max: 50 });
    expect(minmax.get('y')).toEqual({ min: 0, max: 50 });
    const percentile = await calibrateRanges(bytes, ['x', 'y'], feed, { method: 'percentile', percentile: 0.999 });
    expect(percentile.get('x')!.max).toBeLessThan(6);
    expect(percentile.get('x')!.min).toBeGreaterThan(min - 1e-6);
    expect(percentile.get('y')!.min).toBe(0);
  });

  it('maps ranges and weights as ONNX Runtime expects: uint8 activations with 0.0 exact, int8 weights per output channel', () => {
    expect(activationQuantization({ min: 0, max: 6 })).toEqual({ scale: Math.fround(6 / 255), zeroPoint: 0 });
    const mixed = activationQuantization({ min: -1, max: 3 });
    expect(mixed.zeroPoint).toBe(64);
    expect(Math.abs(-mixed.zeroPoint * mixed.scale + 1)).toBeLessThan(1e-2);
    // Two output channels of 3 values (axis 0), the second all zero.
    const { values, scales } = quantizeWeightsPerChannel(Float32Array.of(0.5, -1, 0.25, 0, 0, 0), [2, 3], 0);
    expect(Array.from(scales)).toEqual([Math.fround(1 / 127), 1]);
    expect(Array.from(values)).toEqual([64, -127, 32, 0, 0, 0]);
    // Per column (axis 1), as a Gemm's B [K, N].
    expect(Array.from(quantizeWeightsPerChannel(Float32Array.of(1, 2, -1, 4), [2, 2], 1).scales)).toEqual([Math.fround(1 / 127), Math.fround(4 / 127)]);
  });

  describe('quantizeFeatureNetwork', () => {
    let fp32Path: string;
    const image = (seed: number): DecodedImage => {
      const data = new Uint8Array(8 * 8 * 3);
      seededNormal(data.length, seed).forEach((v, i) => (data[i] = Math.max(0, Math.min(255, Math.round(128 + 60 * v)))));
      return { data, width: 8, height: 8 };
    };
    const calibration = Array.from({ length: 16 }, (_, i) => image(100 + i));
    const heldBack = Array.from({ length: 8 }, (_, i) => image(200 + i));
    const options = () => ({
      cacheDir: path.join(dir, 'cache'),
      fp32Path,
      fp32Key: 'test-network',
      name: 'test',
      inputSize: [8, 8] as [number, number],
      preprocessing: { mode: 'tf' as const },
      pooling: 'avg' as const,
      calibrationImages: async () => calibration,
      heldBackImages: async () => heldBack,
    });

    beforeAll(() => {
      const model = residual();
      fp32Path = path.join(dir, 'residual.onnx');
      writeFileSync(fp32Path, exportLayersModelToOnnx(model, { outputName: 'features' }).bytes);
      model.dispose();
    });

    it('records parity on the held-back images and caches the model by content', async () => {
      const first = await quantizeFeatureNetwork(options());
      expect(first.report.cached).toBe(false);
      expect(first.report.parity).toMatchObject({ pooling: 'avg', images: 8, threshold: 0.99 });
      expect(first.report.parity.meanCosine).toBeGreaterThanOrEqual(0.99);
      expect(first.report.parity.minCosine).toBeLessThanOrEqual(first.report.parity.meanCosine);
      expect(first.report.quantizedOps).toEqual({ Conv: 2, Add: 1 });
      expect(existsSync(first.path)).toBe(true);

      const again = await quantizeFeatureNetwork(options());
      expect(again.report.cached).toBe(true);
      expect(again.path).toBe(first.path);
      expect(again.report.parity).toEqual(first.report.parity); // measured once, from the record

      // Other calibration images (by content) are another model.
      const other = await quantizeFeatureNetwork({ ...options(), calibrationImages: async () => calibration.slice(0, 8) });
      expect(other.report.cached).toBe(false);
      expect(other.path).not.toBe(first.path);
      expect(new EditableGraph(readFileSync(other.path)).nodes.some((n) => n.opType === 'QuantizeLinear')).toBe(true);
    });

    it('with an expected key: the cached model without decoding calibration images, else the same model made again, else a refusal', async () => {
      const first = await quantizeFeatureNetwork(options());
      const bytes = readFileSync(first.path);
      const neverRead = async (): Promise<DecodedImage[]> => {
        throw new Error('calibration images read although the expected model is cached');
      };
      const fromCache = await quantizeFeatureNetwork({ ...options(), calibrationImages: neverRead, expectedKey: first.report.key });
      expect(fromCache).toMatchObject({ path: first.path, report: { cached: true, key: first.report.key } });

      // The cache lost it: the recorded calibration images make the same model, byte for byte.
      rmSync(first.path);
      const remade = await quantizeFeatureNetwork({ ...options(), expectedKey: first.report.key });
      expect(remade).toMatchObject({ path: first.path, report: { cached: false, key: first.report.key } });
      expect(readFileSync(remade.path).equals(bytes)).toBe(true);

      // A changed calibration image gives another model: refused, naming both keys.
      rmSync(first.path);
      const changed = quantizeFeatureNetwork({ ...options(), calibrationImages: async () => [image(999), ...calibration.slice(1)], expectedKey: first.report.key });
      await expect(changed).rejects.toThrow(QuantizationMismatchError);
      await expect(changed).rejects.toThrow(new RegExp(`the int8 model ${first.report.key} of test is not in the cache .*gives another one \\([0-9a-f]{32}\\)`));
      expect(existsSync(first.path)).toBe(false);
    });

    it('refuses an int8 network below the parity threshold, with the numbers', async () => {
      // Calibrated on black images only: every range collapses, the features are lost.
      const black = Array.from({ length: 8 }, () => ({ data: new Uint8Array(8 * 8 * 3), width: 8, height: 8 }));
      const attempt = quantizeFeatureNetwork({ ...options(), calibrationImages: async () => black });
      await expect(attempt).rejects.toThrow(QuantizationParityError);
      await expect(attempt).rejects.toThrow(/int8 features of test are too far from fp32: mean cosine 0\.\d+ \(min -?\d\.\d+\) to fp32 on 8 held-back images, pooling avg, below the threshold 0\.99/);
      // The threshold is the caller's: the same model passes a lower one.
      await expect(quantizeFeatureNetwork({ ...options(), calibrationImages: async () => black, threshold: 0 })).resolves.toMatchObject({ report: { cached: true } });
    });
  });
});
