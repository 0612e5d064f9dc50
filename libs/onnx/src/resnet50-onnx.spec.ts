import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createFeatureExtractor, decodeImage, selectBackend, type DecodedImage } from '@featx/vision';
import { writeKerasH5 } from '../../vision/src/test-support/keras-h5-writer';
import { resnet50KerasLayout } from '../../vision/src/test-support/resnet50-keras-layout';
import { layersToWrite } from '../../vision/src/test-support/resnet50-test-weights';
import { createEngineFeatureExtractor, type OnnxExportRecord } from './engine';

const TEST_IMAGES = path.resolve(__dirname, '../../../../shared/models/test_images');

/** ResNet-50 as Keras lays out its no-top weights file (generated values), exported and run on ONNX Runtime. */
describe('ResNet-50 on the onnx engine', () => {
  let dir: string;
  let weightsPath: string;
  let images: DecodedImage[];

  beforeAll(async () => {
    await selectBackend('wasm', { log: () => undefined });
    dir = mkdtempSync(path.join(os.tmpdir(), 'featx-resnet50-onnx-'));
    weightsPath = path.join(dir, 'resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5');
    await writeKerasH5(weightsPath, layersToWrite(resnet50KerasLayout(false)));
    // Real photos when the shared folder is there, else the same seeded noise the export check uses.
    const files = existsSync(TEST_IMAGES) ? readdirSync(TEST_IMAGES).filter((f) => /\.(jpg|bmp)$/.test(f)).sort().slice(0, 4) : [];
    images = await Promise.all(files.map((f) => decodeImage(readFileSync(path.join(TEST_IMAGES, f)), { size: [224, 224] })));
  }, 120000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('whole network: export checked against TF.js, then the same features on both engines', async () => {
    const lines: string[] = [];
    const onnx = await createEngineFeatureExtractor({
      model: 'resnet50',
      weightsPath,
      pooling: 'avg',
      engine: 'onnx',
      onnx: { cacheDir: path.join(dir, 'cache') },
      parityImages: async () => images,
      log: (l) => lines.push(l),
    });
    const tfjs = await createFeatureExtractor({ model: 'resnet50', weightsPath, pooling: 'avg' });
    try {
      expect(onnx).toMatchObject({ engine: 'onnx', id: 'resnet50:conv5_block3_out:avg', dim: 2048, featureShape: [7, 7, 2048] });
      const record = JSON.parse(
        readFileSync(path.join(dir, 'cache', readdirSync(path.join(dir, 'cache')).find((f) => f.endsWith('.json') && !f.endsWith('.source.json'))!), 'utf8'),
      ) as OnnxExportRecord;
      console.info(`ResNet-50 export: ${lines.find((l) => l.startsWith('ONNX export'))}`);
      expect(record.maxAbsDiff).toBeLessThanOrEqual(record.tolerance * Math.max(1, record.maxAbsValue));

      const batch = images.length > 0 ? images : [0, 1].map((k) => ({ width: 224, height: 224, data: Uint8Array.from({ length: 224 * 224 * 3 }, (_, i) => (i * (k + 3)) % 251) }));
      const a = (await onnx.extract(batch)).data;
      const b = (await tfjs.extract(batch)).data;
      let worst = 0;
      let scale = 0;
      for (let i = 0; i < a.length; i++) {
        worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
        scale = Math.max(scale, Math.abs(b[i]!));
      }
      console.info(`ResNet-50 pooled features, ${batch.length} images: max abs diff ${worst.toExponential(2)} (largest value ${scale.toExponential(2)})`);
      expect(worst).toBeLessThan(1e-4 * Math.max(1, scale));
    } finally {
      onnx.dispose();
      tfjs.dispose();
    }
  }, 240000);
});
