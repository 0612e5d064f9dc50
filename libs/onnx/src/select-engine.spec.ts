import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createFeatureExtractor, selectBackend, type DecodedImage, type FeatureExtractor } from '@featx/vision';
import { writeTinyLayersModel } from '../../vision/src/test-support/tiny-layers-model';
import { createEngineFeatureExtractor, OnnxParityError, pointwiseConvModel, type OnnxExportRecord } from './engine';

function noise(size: number, seed: number): DecodedImage {
  const data = new Uint8Array(size * size * 3);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width: size, height: size };
}

const images = [noise(8, 1), noise(8, 2), noise(8, 3)];

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('engine selection (createEngineFeatureExtractor)', () => {
  let dir: string;
  let modelDir: string;
  let cacheDir: string;
  let lines: string[];
  const log = (line: string) => lines.push(line);
  const open: FeatureExtractor[] = [];
  const track = (e: FeatureExtractor) => (open.push(e), e);

  beforeAll(async () => {
    await selectBackend('cpu', { log: () => undefined });
    dir = mkdtempSync(path.join(os.tmpdir(), 'featx-engines-'));
    modelDir = path.join(dir, 'tiny');
    await writeTinyLayersModel(modelDir);
    writeFileSync(path.join(modelDir, 'featx-model.json'), JSON.stringify({ format: 'layers', inputSize: 8, preprocessing: 'tf', featureLayer: 'feat' }));
  });
  beforeEach(() => {
    lines = [];
    cacheDir = mkdtempSync(path.join(dir, 'cache-'));
  });
  afterEach(() => open.splice(0).forEach((e) => e.dispose()));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('auto picks onnx for a TF.js model, exports it once (checked on the given images) and matches the tfjs engine', async () => {
    const reference = track(await createFeatureExtractor({ model: modelDir, pooling: 'avg' }));
    const onnx = track(
      await createEngineFeatureExtractor({ model: modelDir, pooling: 'avg', onnx: { cacheDir, threads: 1 }, parityImages: async () => images, log }),
    );
    expect(onnx).toMatchObject({ engine: 'onnx', backend: 'onnxruntime-cpu', id: reference.id, dim: reference.dim, inputSize: [8, 8] });
    expect(maxAbsDiff((await onnx.extract(images)).data, (await reference.extract(images)).data)).toBeLessThan(1e-5);
    expect(lines.some((l) => /^ONNX export of tiny:feat: .* max abs diff vs TF\.js .* on 3 given image\(s\)/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/^engine: onnx \(onnxruntime-cpu, 1 thread\(s\), batch \d+\) for tiny:feat:avg \[requested auto\]$/);

    const exports = () => readdirSync(cacheDir).filter((f) => f.endsWith('.onnx'));
    const records = () => readdirSync(cacheDir).filter((f) => f.endsWith('.json') && !f.endsWith('.source.json'));
    expect(exports()).toHaveLength(1);
    const record = JSON.parse(readFileSync(path.join(cacheDir, records()[0]!), 'utf8')) as OnnxExportRecord;
    expect(record).toMatchObject({ network: 'tiny', layer: 'feat', inputSize: [8, 8], preprocessing: { mode: 'tf' }, parityInputs: 'images', parityCount: 3 });
    expect(record.maxAbsDiff).toBeLessThan(1e-5);
    expect(exports()[0]).toBe(`${record.key}.onnx`);

    // The same files (here: a copy of the folder) → the cache, without loading the TF.js network;
    // different weights → a new export.
    lines = [];
    const copyDir = path.join(dir, 'tiny-copy');
    mkdirSync(copyDir);
    for (const f of readdirSync(modelDir)) writeFileSync(path.join(copyDir, f), readFileSync(path.join(modelDir, f)));
    const fromCache = track(await createEngineFeatureExtractor({ model: copyDir, pooling: 'avg', onnx: { cacheDir }, log }));
    expect(lines[0]).toBe(`ONNX export of tiny:feat from cache ${path.join(cacheDir, `${record.key}.onnx`)} by its source files (max abs diff ${record.maxAbsDiff.toExponential(2)} at export)`);
    expect(fromCache).toMatchObject({ engine: 'onnx', id: 'tiny-copy:feat:avg', dim: reference.dim, inputSize: [8, 8] });
    expect(maxAbsDiff((await fromCache.extract(images)).data, (await reference.extract(images)).data)).toBeLessThan(1e-5);
    const changedDir = path.join(dir, 'tiny-changed');
    await writeTinyLayersModel(changedDir); // fresh random weights
    writeFileSync(path.join(changedDir, 'featx-model.json'), readFileSync(path.join(modelDir, 'featx-model.json')));
    track(await createEngineFeatureExtractor({ model: changedDir, onnx: { cacheDir }, log }));
    expect(exports()).toHaveLength(2);
    expect(records().map((f) => JSON.parse(readFileSync(path.join(cacheDir, f), 'utf8')).parityInputs).sort()).toEqual(['images', 'synthetic']);
  });

  it('engine tfjs is honoured', async () => {
    const e = track(await createEngineFeatureExtractor({ model: modelDir, engine: 'tfjs', onnx: { cacheDir }, log }));
    expect(e).toMatchObject({ engine: 'tfjs', backend: 'cpu', batchSize: 8 });
    expect(readdirSync(cacheDir)).toHaveLength(0);
    expect(lines).toEqual(['engine: tfjs (cpu, batch 8) for tiny:feat:none [requested tfjs]']);
  });

  it('a layer the exporter lacks: auto falls back to tfjs and says why, onnx fails naming the layer', async () => {
    const odd = path.join(dir, 'upsampling');
    mkdirSync(odd);
    const input = tf.input({ shape: [8, 8, 3] });
    const up = tf.layers.upSampling2d({ size: [2, 2], name: 'up' }).apply(input) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: up });
    await model.save(`file://${odd}`).catch(async () => {
      // tfjs (no tfjs-node) has no file:// handler: write model.json + weights by hand.
      await model.save(
        tf.io.withSaveHandler(async (artifacts) => {
          writeFileSync(path.join(odd, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: artifacts.modelTopology, weightsManifest: [{ paths: [], weights: [] }] }));
          return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
        }),
      );
    });
    writeFileSync(path.join(odd, 'featx-model.json'), JSON.stringify({ format: 'layers', inputSize: 8, preprocessing: 'tf', featureLayer: 'up' }));
    const e = track(await createEngineFeatureExtractor({ model: odd, onnx: { cacheDir }, log }));
    expect(e.engine).toBe('tfjs');
    expect(lines.join('\n')).toMatch(/engine auto: upsampling:up cannot run on onnx \(cannot export layer 'up' \(UpSampling2D\).*\); using tfjs/);
    await expect(createEngineFeatureExtractor({ model: odd, engine: 'onnx', onnx: { cacheDir }, log })).rejects.toThrow(/cannot export layer 'up' \(UpSampling2D\)/);
    model.dispose();
  });

  it('an export that fails the parity check is refused (onnx) or falls back (auto), and is not cached', async () => {
    await expect(
      createEngineFeatureExtractor({ model: modelDir, engine: 'onnx', onnx: { cacheDir, parityTolerance: -1 }, parityImages: async () => images, log }),
    ).rejects.toThrow(OnnxParityError);
    await expect(createEngineFeatureExtractor({ model: modelDir, engine: 'onnx', onnx: { cacheDir, parityTolerance: -1 }, log })).rejects.toThrow(
      /ONNX export of tiny:feat differs from TF\.js by .* on 2 synthetic image\(s\)/,
    );
    const e = track(await createEngineFeatureExtractor({ model: modelDir, onnx: { cacheDir, parityTolerance: -1 }, log }));
    expect(e.engine).toBe('tfjs');
    expect(readdirSync(cacheDir)).toHaveLength(0);
  });

  it('runs a .onnx file with its spec (NCHW, as torchvision exports) and only on onnx', async () => {
    const onnxDir = path.join(dir, 'torch-like');
    mkdirSync(onnxDir);
    const model = pointwiseConvModel({ size: [8, 8], outChannels: 5, layout: 'NCHW', inputName: 'pixel_values', outputName: 'embedding' });
    writeFileSync(path.join(onnxDir, 'model.onnx'), model.bytes);
    writeFileSync(
      path.join(onnxDir, 'featx-model.json'),
      JSON.stringify({ format: 'onnx', layout: 'NCHW', inputSize: 8, preprocessing: 'torch', featureLayer: 'embedding', inputName: 'pixel_values' }),
    );
    const byFolder = track(await createEngineFeatureExtractor({ model: onnxDir, pooling: 'max', log }));
    expect(byFolder).toMatchObject({ engine: 'onnx', id: 'torch-like:embedding:max', featureShape: [8, 8, 5], dim: 5 });
    const byFile = track(await createEngineFeatureExtractor({ model: path.join(onnxDir, 'model.onnx'), engine: 'onnx', pooling: 'max', log }));
    expect(byFile.id).toBe('model:embedding:max');
    expect(maxAbsDiff((await byFolder.extract(images)).data, (await byFile.extract(images)).data)).toBe(0);

    await expect(createEngineFeatureExtractor({ model: onnxDir, engine: 'tfjs', log })).rejects.toThrow(/is an ONNX model; engine 'tfjs' cannot run it/);
    await expect(createFeatureExtractor({ model: onnxDir })).rejects.toThrow(/is an ONNX model .* runs on the onnx engine only/);
    writeFileSync(path.join(onnxDir, 'featx-model.json'), JSON.stringify({ format: 'onnx', inputSize: 8, preprocessing: 'torch', featureLayer: 'embedding' }));
    await expect(createEngineFeatureExtractor({ model: onnxDir, log })).rejects.toThrow(/layout: the onnx format needs layout 'NCHW' or 'NHWC'/);
    await expect(createEngineFeatureExtractor({ model: path.join(dir, 'nowhere', 'x.onnx'), log })).rejects.toThrow(/invalid model spec/);
  });
});

describe('engine selection without onnxruntime-node', () => {
  it('auto falls back to tfjs and logs why; onnx and .onnx models fail saying the runtime is missing', async () => {
    jest.resetModules();
    jest.doMock('onnxruntime-node', () => {
      throw new Error("Cannot find module 'onnxruntime-node'");
    });
    const { createEngineFeatureExtractor: create, detectOnnxAvailable } = jest.requireActual<typeof import('./engine')>('./engine');
    const vision = jest.requireActual<typeof import('@featx/vision')>('@featx/vision');
    await vision.selectBackend('cpu', { log: () => undefined });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'featx-no-ort-'));
    try {
      await writeTinyLayersModel(dir);
      writeFileSync(path.join(dir, 'featx-model.json'), JSON.stringify({ format: 'layers', inputSize: 8, preprocessing: 'tf', featureLayer: 'feat' }));
      expect(detectOnnxAvailable()).toBe(false);
      const lines: string[] = [];
      const e = await create({ model: dir, log: (l) => lines.push(l) });
      expect(e.engine).toBe('tfjs');
      expect(lines[0]).toMatch(/^engine auto: not onnx \(onnxruntime-node is unavailable: Cannot find module 'onnxruntime-node'\); using tfjs$/);
      e.dispose();
      await expect(create({ model: dir, engine: 'onnx', log: () => undefined })).rejects.toThrow(/engine 'onnx' was requested for .* but onnxruntime-node is unavailable/);
      writeFileSync(path.join(dir, 'model.onnx'), pointwiseConvModel({ size: [8, 8] }).bytes);
      await expect(create({ model: path.join(dir, 'model.onnx'), spec: { layout: 'NCHW' }, log: () => undefined })).rejects.toThrow(
        /is an ONNX model but onnxruntime-node is unavailable/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
      jest.dontMock('onnxruntime-node');
    }
  });
});
