/**
 * Throughput of the vision pieces on this machine:
 *   node -r ./tools/register.js libs/vision/bench/bench-vision.ts [--backend auto|wasm|cpu] [--seconds 5]
 * ResNet-50 runs with random weights (speed does not depend on the values); MobileNetV2 needs ../shared.
 */
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BackendPreferenceSchema, createFeatureExtractor, decodeImage, selectBackend, type DecodedImage, type FeatureExtractor } from '../src';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const backend = BackendPreferenceSchema.parse(option('backend', 'auto'));
const seconds = Number(option('seconds', '5'));
const SHARED = path.resolve(__dirname, '../../../../shared/models');

async function timeLoop(label: string, perCall: number, fn: () => Promise<unknown>): Promise<void> {
  await fn(); // warm-up: kernels compile, buffers allocate
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    await fn();
    calls++;
  }
  const elapsed = (performance.now() - start) / 1000;
  console.log(`${label.padEnd(44)} ${((calls * perCall) / elapsed).toFixed(1).padStart(7)} img/s  (${calls} calls, ${elapsed.toFixed(1)} s)`);
}

async function benchExtractor(name: string, extractor: FeatureExtractor, images: DecodedImage[], batches: number[]): Promise<void> {
  for (const batch of batches) {
    const input = Array.from({ length: batch }, (_, i) => images[i % images.length]!);
    await timeLoop(`${name} batch ${batch} (${extractor.id})`, batch, () => extractor.extract(input));
  }
}

async function main(): Promise<void> {
  const choice = await selectBackend(backend);
  const imageDir = path.join(SHARED, 'test_images');
  const files = existsSync(imageDir) ? readdirSync(imageDir).filter((f) => /\.(jpe?g|bmp|png)$/i.test(f)).map((f) => path.join(imageDir, f)) : [];
  let images: DecodedImage[] = [];
  if (files.length > 0) {
    let next = 0;
    await timeLoop('decode+resize 224 (sharp / BMP decoder)', 1, () => decodeImage(files[next++ % files.length]!, { size: [224, 224] }));
    images = await Promise.all(files.map((f) => decodeImage(f, { size: [224, 224] })));
  } else {
    images = [{ data: new Uint8Array(224 * 224 * 3).map((_, i) => i % 251), width: 224, height: 224 }];
  }

  if (existsSync(path.join(SHARED, 'mobilenet_v2_1.0_224', 'model.json'))) {
    const mobilenet = await createFeatureExtractor({ model: path.join(SHARED, 'mobilenet_v2_1.0_224'), pooling: 'avg', backend });
    await benchExtractor('MobileNetV2', mobilenet, images, [1, 8]);
    mobilenet.dispose();
  }
  const resnet = await createFeatureExtractor({ model: 'resnet50', weights: 'random', pooling: 'none', backend });
  await benchExtractor('ResNet-50', resnet, images, [1, 8]);
  resnet.dispose();
  console.log(`backend: ${choice.backend}${choice.simd ? ' (SIMD)' : ''}; tensors left: ${tf.memory().numTensors}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
