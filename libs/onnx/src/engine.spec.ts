import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { decodeImage, poolFeatures, selectBackend, preprocessBatch, preprocessPixels, type DecodedImage, type Pooling, type Preprocessing } from '@featx/vision';
import { createOnnxFeatureExtractor, detectOnnxAvailable, pointwiseConvModel, type PointwiseConvModel } from './engine';

const SIZE: [number, number] = [8, 8];

function noise(height: number, width: number, seed: number): DecodedImage {
  const data = new Uint8Array(height * width * 3);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width, height };
}

/** Plain-JS reference: preprocess → 1x1 conv → relu → NHWC map → pooling. */
function reference(images: DecodedImage[], pre: Preprocessing, model: PointwiseConvModel, pooling: Pooling | 'gap'): number[][] {
  const c = model.outChannels;
  return images.map((image) => {
    const x = preprocessPixels(image.data, pre);
    const pixels = image.width * image.height;
    const map: number[] = new Array(pixels * c);
    for (let p = 0; p < pixels; p++) {
      for (let o = 0; o < c; o++) {
        let sum = model.bias[o]!;
        for (let i = 0; i < 3; i++) sum += model.weights[o * 3 + i]! * x[p * 3 + i]!;
        map[p * c + o] = Math.max(0, sum);
      }
    }
    if (pooling === 'none') return map;
    return Array.from({ length: c }, (_, o) => {
      const column = Array.from({ length: pixels }, (_, p) => map[p * c + o]!);
      return pooling === 'max' ? Math.max(...column) : column.reduce((a, b) => a + b, 0) / pixels;
    });
  });
}

function expectClose(actual: Float32Array, shape: [number, number], expected: number[][]): void {
  expect(shape).toEqual([expected.length, expected[0]!.length]);
  let worst = 0;
  expected.forEach((row, r) =>
    row.forEach((value, i) => {
      worst = Math.max(worst, Math.abs(actual[r * shape[1] + i]! - value) / Math.max(1, Math.abs(value)));
    }),
  );
  expect(worst).toBeLessThan(1e-5);
}

describe('ONNX Runtime feature engine', () => {
  let dir: string;
  const images = [noise(8, 8, 1), noise(8, 8, 2), noise(8, 8, 3), noise(8, 8, 4), noise(8, 8, 5)];
  beforeAll(async () => {
    await selectBackend('cpu');
    dir = mkdtempSync(path.join(os.tmpdir(), 'featx-onnx-engine-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('detects onnxruntime-node', () => {
    expect(detectOnnxAvailable()).toBe(true);
  });

  const cases: Array<{ layout: 'NCHW' | 'NHWC'; pooling: Pooling; pre: Preprocessing }> = [
    { layout: 'NCHW', pooling: 'none', pre: { mode: 'caffe' } },
    { layout: 'NCHW', pooling: 'avg', pre: { mode: 'tf' } },
    { layout: 'NCHW', pooling: 'max', pre: { mode: 'torch' } },
    { layout: 'NHWC', pooling: 'none', pre: { mode: { mean: 127, std: 127.5 } } },
    { layout: 'NHWC', pooling: 'avg', pre: { mode: 'caffe' } },
    { layout: 'NHWC', pooling: 'max', pre: { mode: { mean: [120, 110, 100], std: [50, 60, 70] }, channelOrder: 'bgr' } },
  ];
  it.each(cases)('matches the plain-JS reference: $layout, pooling $pooling', async ({ layout, pooling, pre }) => {
    const model = pointwiseConvModel({ size: SIZE, layout, outChannels: 4 });
    const file = path.join(dir, `pw-${layout}.onnx`);
    writeFileSync(file, model.bytes);
    const extractor = await createOnnxFeatureExtractor({ modelPath: file, spec: { layout, inputSize: SIZE, preprocessing: pre }, pooling, threads: 1 });
    try {
      expect(extractor.featureShape).toEqual([8, 8, 4]);
      expect(extractor.dim).toBe(pooling === 'none' ? 256 : 4);
      expect(extractor.id).toBe(`pw-${layout}:features:${pooling}`);
      expect(extractor.backend).toBe('onnxruntime-cpu');
      expect(extractor.inputSize).toEqual(SIZE);
      expect(extractor.pooling).toBe(pooling);
      expect(extractor.preprocessing).toEqual(pre);
      const out = await extractor.extract(images);
      expectClose(out.data, out.shape, reference(images, pre, model, pooling));
    } finally {
      extractor.dispose();
    }
  });

  it('flattens and pools exactly like the TF.js engine (poolFeatures)', async () => {
    const model = pointwiseConvModel({ size: SIZE, layout: 'NCHW', outChannels: 5 });
    const pre: Preprocessing = { mode: 'tf' };
    for (const pooling of ['none', 'avg', 'max'] as const) {
      const extractor = await createOnnxFeatureExtractor({ modelPath: model.bytes, spec: { layout: 'NCHW', inputSize: SIZE, preprocessing: pre }, pooling });
      const out = await extractor.extract(images);
      extractor.dispose();
      const expected = tf.tidy(() => {
        // Same network in TF.js, NHWC: 1x1 conv as a matmul over channels.
        const x = preprocessBatch(images, pre);
        const w = tf.tensor2d(model.weights, [5, 3]).transpose();
        const map = tf.relu(tf.add(tf.matMul(x.reshape([-1, 3]), w), tf.tensor1d(model.bias))).reshape([images.length, 8, 8, 5]);
        return poolFeatures(map, pooling).arraySync() as number[][];
      });
      expectClose(out.data, out.shape, expected);
    }
  });

  it('takes a preprocessed NHWC tf tensor and leaves it undisposed', async () => {
    const model = pointwiseConvModel({ size: SIZE, layout: 'NCHW' });
    const pre: Preprocessing = { mode: 'caffe' };
    const extractor = await createOnnxFeatureExtractor({ modelPath: model.bytes, spec: { layout: 'NCHW', inputSize: SIZE, preprocessing: pre }, pooling: 'avg' });
    const input = preprocessBatch(images, pre);
    try {
      const out = await extractor.extract(input);
      expect(input.isDisposed).toBe(false);
      expectClose(out.data, out.shape, reference(images, pre, model, 'avg'));
      await expect(extractor.extract(tf.zeros([1, 4, 4, 3]) as tf.Tensor4D)).rejects.toThrow(/needs \[N,8,8,3\]/);
    } finally {
      input.dispose();
      extractor.dispose();
    }
  });

  it('works on images decoded with sharp', async () => {
    const png = await sharp({ create: { width: 20, height: 12, channels: 3, background: { r: 200, g: 40, b: 90 } } })
      .composite([{ input: Buffer.from(noise(6, 6, 9).data), raw: { width: 6, height: 6, channels: 3 }, left: 3, top: 2 }])
      .png()
      .toBuffer();
    const decoded = [await decodeImage(png, { size: SIZE }), await decodeImage(png, { size: SIZE, fit: 'cover' })];
    const model = pointwiseConvModel({ size: SIZE, layout: 'NHWC' });
    const pre: Preprocessing = { mode: 'caffe' };
    const extractor = await createOnnxFeatureExtractor({ modelPath: model.bytes, spec: { layout: 'NHWC', inputSize: SIZE, preprocessing: pre }, pooling: 'max' });
    try {
      const out = await extractor.extract(decoded);
      expectClose(out.data, out.shape, reference(decoded, pre, model, 'max'));
    } finally {
      extractor.dispose();
    }
  });

  it('uses a 2-D [N,D] output as is', async () => {
    const model = pointwiseConvModel({ size: SIZE, layout: 'NCHW', head: 'gap' });
    const pre: Preprocessing = { mode: 'torch' };
    const extractor = await createOnnxFeatureExtractor({ modelPath: model.bytes, spec: { layout: 'NCHW', inputSize: SIZE, preprocessing: pre } });
    try {
      expect(extractor.featureShape).toEqual([4]);
      expect(extractor.dim).toBe(4);
      const out = await extractor.extract(images);
      expectClose(out.data, out.shape, reference(images, pre, model, 'avg'));
    } finally {
      extractor.dispose();
    }
    await expect(
      createOnnxFeatureExtractor({ modelPath: model.bytes, spec: { layout: 'NCHW', inputSize: SIZE, preprocessing: pre }, pooling: 'avg' }),
    ).rejects.toThrow(/pooling 'avg' needs/);
  });

  it('gives the same features with 1 and 2 threads, batch by batch or all at once', async () => {
    const model = pointwiseConvModel({ size: SIZE, layout: 'NCHW', outChannels: 8 });
    const spec = { layout: 'NCHW' as const, inputSize: SIZE, preprocessing: { mode: 'caffe' } as Preprocessing };
    const one = await createOnnxFeatureExtractor({ modelPath: model.bytes, spec, pooling: 'none', threads: 1 });
    const two = await createOnnxFeatureExtractor({ modelPath: model.bytes, spec, pooling: 'none', threads: 2 });
    try {
      const all = await one.extract(images);
      const allTwo = await two.extract(images);
      expect(Array.from(allTwo.data)).toEqual(Array.from(all.data));
      const single = await two.extract(images.slice(2, 3));
      expect(single.shape).toEqual([1, 512]);
      expect(Array.from(single.data)).toEqual(Array.from(all.data.subarray(2 * 512, 3 * 512)));
    } finally {
      one.dispose();
      two.dispose();
    }
    await expect(createOnnxFeatureExtractor({ modelPath: model.bytes, spec, threads: 0 })).rejects.toThrow(/threads/);
  });

  it('names a missing input or output, and rejects wrong-size images and use after dispose', async () => {
    const model = pointwiseConvModel({ size: SIZE, layout: 'NCHW', inputName: 'pixels' });
    const spec = { layout: 'NCHW' as const, inputSize: SIZE, preprocessing: { mode: 'tf' } as Preprocessing };
    await expect(createOnnxFeatureExtractor({ modelPath: model.bytes, spec: { ...spec, inputName: 'input' } })).rejects.toThrow(
      /no input 'input' \(inputs: pixels\)/,
    );
    await expect(createOnnxFeatureExtractor({ modelPath: model.bytes, spec: { ...spec, outputName: 'logits' } })).rejects.toThrow(
      /no output 'logits' \(outputs: features\)/,
    );
    await expect(createOnnxFeatureExtractor({ modelPath: path.join(dir, 'missing.onnx'), spec })).rejects.toThrow();
    const extractor = await createOnnxFeatureExtractor({ modelPath: model.bytes, spec: { ...spec, inputName: 'pixels' } });
    expect(extractor.id).toBe('onnx:features:none');
    await expect(extractor.extract([noise(4, 8, 1)])).rejects.toThrow(/image 0 is 8x4; .* needs 8x8/);
    extractor.dispose();
    await expect(extractor.extract(images)).rejects.toThrow(/disposed/);
  });
});
