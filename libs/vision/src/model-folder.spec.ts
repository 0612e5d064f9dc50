import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from './backend';
import { ModelFolderError } from './errors';
import { decodeImage } from './image-decode';
import { loadModelFolder } from './model-folder';
import { BUILTIN_MODEL_SPECS, parseModelSpec } from './model-spec';
import { topK } from './predictions';
import { preprocessBatch } from './preprocess';
import { writeTinyGraphModel } from './test-support/tiny-graph-model';
import { writeTinyLayersModel } from './test-support/tiny-layers-model';
import { conv2d, featureMap, relu } from './test-support/reference-ops';
import { seededValues } from './test-support/seeded-values';
import { describeIf } from '@featx/testing';

const SHARED = path.resolve(__dirname, '../../../../shared');
const MOBILENET = path.join(SHARED, 'models', 'mobilenet_v2_1.0_224');
const IMAGES = path.join(SHARED, 'models', 'test_images');

describe('model spec', () => {
  it('fills defaults and normalises a square input size', () => {
    const spec = parseModelSpec(BUILTIN_MODEL_SPECS['mobilenet_v2_1.0_224'], 'builtin');
    expect(spec).toMatchObject({ inputSize: [224, 224], labelOffset: 0, modelFile: 'model.json', preprocessing: { mean: 127, std: 127.5 } });
    expect(parseModelSpec({ format: 'graph', inputSize: 299, preprocessing: 'tf', featureLayer: 'x' }, 'code').inputSize).toEqual([299, 299]);
  });

  it('rejects contradictions and missing fields with the path of each issue', () => {
    expect(() => parseModelSpec({ format: 'layers', inputSize: 224, preprocessing: 'caffe', channelOrder: 'rgb', featureLayer: 'f' }, 'x.json')).toThrow(
      /invalid model spec \(x\.json\): channelOrder: preprocessing 'caffe' implies channelOrder 'bgr'/,
    );
    expect(() => parseModelSpec({ format: 'layers', inputSize: [224], preprocessing: 'tf' }, 'x.json')).toThrow(/inputSize.*featureLayer|featureLayer/);
    expect(() => parseModelSpec({ format: 'layers', inputSize: 8, preprocessing: { mean: [1, 2], std: 1 }, featureLayer: 'f' }, 'x')).toThrow(/preprocessing/);
  });
});

describe('loadModelFolder with a featx-model.json', () => {
  let dir: string;
  beforeAll(async () => {
    await selectBackend('wasm', { log: () => undefined });
    dir = mkdtempSync(path.join(os.tmpdir(), 'featx-folder-'));
    await writeTinyLayersModel(path.join(dir, 'tiny'));
    writeFileSync(
      path.join(dir, 'tiny', 'featx-model.json'),
      JSON.stringify({ format: 'layers', inputSize: 8, preprocessing: 'tf', featureLayer: 'feat', labels: ['cat', 'dog'] }),
    );
    await writeTinyLayersModel(path.join(dir, 'bare'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the spec, the model files and builds the feature model', async () => {
    const folder = await loadModelFolder(path.join(dir, 'tiny'));
    expect(folder.specSource).toBe(path.join(dir, 'tiny', 'featx-model.json'));
    expect(folder.featureShape).toEqual([8, 8, 4]);
    expect(folder.labels).toEqual(['cat', 'dog']);
    expect(folder.preprocessing).toEqual({ mode: 'tf', channelOrder: undefined });
    const x = tf.zeros([2, 8, 8, 3]) as tf.Tensor4D;
    const features = folder.features(x);
    expect(features.shape).toEqual([2, 8, 8, 4]);
    tf.dispose([x, features]);
    folder.dispose();
  });

  it('lets code override fields, e.g. the feature layer', async () => {
    const folder = await loadModelFolder(path.join(dir, 'tiny'), { featureLayer: 'gap' });
    expect(folder.featureShape).toEqual([4]);
    folder.dispose();
  });

  it('takes the whole spec from code when the folder has none', async () => {
    await expect(loadModelFolder(path.join(dir, 'bare'))).rejects.toThrow(/has no featx-model\.json and no built-in spec/);
    const folder = await loadModelFolder(path.join(dir, 'bare'), { format: 'layers', inputSize: [8, 8], preprocessing: 'torch', featureLayer: 'feat' });
    expect(folder.specSource).toBe('code');
    expect(folder.featureShape).toEqual([8, 8, 4]);
    folder.dispose();
  });

  it('explains an unknown feature layer and a missing weight shard', async () => {
    const error = await loadModelFolder(path.join(dir, 'tiny'), { featureLayer: 'conv5_block3_out' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFolderError);
    expect((error as Error).message).toMatch(/no layer 'conv5_block3_out' in .*tiny; last layers are: .*feat, gap, probs/);
    rmSync(path.join(dir, 'bare', 'group1-shard1of1.bin'));
    await expect(loadModelFolder(path.join(dir, 'bare'), { format: 'layers', inputSize: 8, preprocessing: 'tf', featureLayer: 'feat' })).rejects.toThrow(
      /cannot read weight shard .*group1-shard1of1\.bin/,
    );
  });
});

describe('loadModelFolder with a graph model', () => {
  let dir: string;
  beforeAll(async () => {
    await selectBackend('wasm', { log: () => undefined });
    dir = mkdtempSync(path.join(os.tmpdir(), 'featx-graph-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('executes up to the named node and finds the feature shape by a probe pass', async () => {
    const kernel = seededValues('graph-kernel', 3 * 3 * 3 * 4, -1, 1);
    writeTinyGraphModel(dir, kernel);
    const folder = await loadModelFolder(dir, { format: 'graph', inputSize: 8, preprocessing: 'tf', featureLayer: 'feat' });
    try {
      expect(folder.featureShape).toEqual([8, 8, 4]);
      const pixels = seededValues('graph-input', 8 * 8 * 3, -1, 1);
      const x = tf.tensor4d(pixels, [1, 8, 8, 3]);
      const features = folder.features(x);
      const expected = relu(conv2d(featureMap(8, 8, 3, pixels), kernel, [0, 0, 0, 0], 3, 4, 1, 'same'));
      const actual = features.dataSync();
      expected.data.forEach((v, i) => expect(actual[i]).toBeCloseTo(v, 4));
      tf.dispose([x, features]);
    } finally {
      folder.dispose();
    }
  });
});

const haveShared = existsSync(path.join(MOBILENET, 'model.json'));
describeIf(haveShared, `${MOBILENET} is absent (the shared folder is not checked out)`)('shared MobileNetV2 folder (built-in spec)', () => {
  beforeAll(() => selectBackend('wasm', { log: () => undefined }));

  it('classifies the test photos (macaw, Egyptian cat) and exposes 7x7x1280 features', async () => {
    const folder = await loadModelFolder(MOBILENET);
    try {
      expect(folder.specSource).toBe("built-in spec 'mobilenet_v2_1.0_224'");
      expect(folder.labels).toHaveLength(1001);
      expect(folder.featureShape).toEqual([7, 7, 1280]);
      const images = await Promise.all(['parrot.jpg', 'cat.bmp'].map((f) => decodeImage(path.join(IMAGES, f), { size: folder.spec.inputSize })));
      const x = preprocessBatch(images, folder.preprocessing);
      const probs = (folder.model as tf.LayersModel).predict(x) as tf.Tensor2D;
      const rows = (await probs.array()) as number[][];
      expect(topK(rows[0]!, 1, folder.labels, folder.spec.labelOffset)[0]).toMatchObject({ label: 'macaw' });
      expect(rows[0]![topK(rows[0]!, 1)[0]!.index]).toBeGreaterThan(0.8);
      expect(topK(rows[1]!, 1, folder.labels, folder.spec.labelOffset)[0]).toMatchObject({ label: 'Egyptian cat' });

      const features = folder.features(x);
      expect(features.shape).toEqual([2, 7, 7, 1280]);
      // Our average pooling of the feature map equals the network's own GlobalAveragePooling layer.
      const gap = tf.model({ inputs: (folder.model as tf.LayersModel).inputs, outputs: (folder.model as tf.LayersModel).getLayer('gap_MobileNetV2_top_Reshape_Reshape').output as tf.SymbolicTensor });
      const expected = gap.predict(x) as tf.Tensor;
      const ours = tf.mean(features, [1, 2]);
      expect(tf.max(tf.abs(tf.sub(ours, expected))).dataSync()[0]).toBeLessThan(1e-4);
      tf.dispose([x, probs, features, expected, ours]);
    } finally {
      folder.dispose();
    }
  });
});
