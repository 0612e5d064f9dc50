import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { WeightsUnavailableError } from './errors';
import { decodeImage, type DecodedImage } from './image-decode';
import { createFeatureExtractor } from './network';
import { preprocessBatch } from './preprocess';
import { writeKerasH5 } from './test-support/keras-h5-writer';
import { resnet50KerasLayout } from './test-support/resnet50-keras-layout';
import { layersToWrite } from './test-support/resnet50-test-weights';
import { describeIf } from '@featx/testing';

const SHARED = path.resolve(__dirname, '../../../../shared');
const MOBILENET = path.join(SHARED, 'models', 'mobilenet_v2_1.0_224');
const IMAGES = path.join(SHARED, 'models', 'test_images');
const quiet = { log: () => undefined };

function noise(size: number, seed: number): DecodedImage {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + seed * 71) % 256;
  return { data, width: size, height: size };
}

describe('ResNet-50 feature extractor', () => {
  let dir: string;
  let weightsPath: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'featx-network-'));
    weightsPath = path.join(dir, 'resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5');
    await writeKerasH5(weightsPath, layersToWrite(resnet50KerasLayout(false)));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the tutorial 7x7x2048 = 100,352-dim vectors at 224x224 with caffe preprocessing', async () => {
    const extractor = await createFeatureExtractor({ model: 'resnet50', weightsPath, backend: 'wasm', ...quiet });
    try {
      expect(extractor).toMatchObject({ id: 'resnet50:conv5_block3_out:none', inputSize: [224, 224], featureShape: [7, 7, 2048], dim: 100_352, backend: 'wasm' });
      expect(extractor.preprocessing.mode).toBe('caffe');
      const image = noise(224, 1);
      const fromImages = await extractor.extract([image]);
      expect(fromImages.shape).toEqual([1, 100_352]);
      expect(fromImages.data.every(Number.isFinite)).toBe(true);
      // A preprocessed tensor gives the same features (and is left to the caller to dispose).
      const x = preprocessBatch([image], extractor.preprocessing);
      const fromTensor = await extractor.extract(x);
      expect(x.isDisposed).toBe(false);
      x.dispose();
      expect(Buffer.from(fromTensor.data.buffer).equals(Buffer.from(fromImages.data.buffer))).toBe(true);
    } finally {
      extractor.dispose();
    }
  });

  it('pools and cuts at other layers; input size is configurable', async () => {
    const before = tf.memory().numTensors;
    const extractor = await createFeatureExtractor({ model: 'resnet50', weightsPath, inputSize: [64, 64], pooling: 'avg', layer: 'conv4_block6_out', ...quiet });
    expect(extractor).toMatchObject({ featureShape: [4, 4, 1024], dim: 1024 });
    const out = await extractor.extract([noise(64, 2), noise(64, 3)]);
    expect(out.shape).toEqual([2, 1024]);
    await expect(extractor.extract([noise(32, 4)])).rejects.toThrow(/image 0 is 32x32; .* needs 64x64/);
    extractor.dispose();
    await expect(extractor.extract([noise(64, 2)])).rejects.toThrow(/disposed/);
    expect(tf.memory().numTensors).toBe(before); // nothing leaked per batch, all weights freed
  });

  it('without weights or network, says where to put the published file', async () => {
    const kerasCopy = path.join(os.homedir(), '.keras', 'models', 'resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5');
    if (existsSync(kerasCopy)) return; // a real copy is available on this machine: nothing to report
    const error = await createFeatureExtractor({ model: 'resnet50', weightsCacheDir: path.join(dir, 'cache'), download: false, ...quiet }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeightsUnavailableError);
    expect((error as Error).message).toContain(path.join(dir, 'cache', 'resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5'));
  });
});

const haveShared = existsSync(path.join(MOBILENET, 'model.json'));
describeIf(haveShared, `${MOBILENET} is absent`)('model-folder feature extractor (shared MobileNetV2)', () => {
  it('extracts 1280 (avg, max) or 62,720 (none) values per image', async () => {
    const avg = await createFeatureExtractor({ model: MOBILENET, pooling: 'avg', ...quiet });
    try {
      expect(avg).toMatchObject({ inputSize: [224, 224], featureShape: [7, 7, 1280], dim: 1280 });
      const images = await Promise.all(['parrot.jpg', 'cat.bmp'].map((f) => decodeImage(path.join(IMAGES, f), { size: avg.inputSize })));
      const features = await avg.extract(images);
      expect(features.shape).toEqual([2, 1280]);
      // ReLU6 features: bounded and not all zero.
      expect(Math.min(...features.data)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...features.data)).toBeLessThanOrEqual(6);
      expect(features.data.some((v) => v > 0)).toBe(true);
    } finally {
      avg.dispose();
    }
    const flat = await createFeatureExtractor({ model: MOBILENET, pooling: 'none', ...quiet });
    expect(flat.dim).toBe(62_720);
    flat.dispose();
    const max = await createFeatureExtractor({ model: MOBILENET, pooling: 'max', ...quiet });
    expect(max.dim).toBe(1280);
    max.dispose();
  });
});
