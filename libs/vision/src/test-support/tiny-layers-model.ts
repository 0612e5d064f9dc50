import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';

/**
 * Saves a small layers model (8x8x3 → conv 'feat' [8,8,4] → GAP → dense 'probs' [2]) as a TF.js
 * model folder: model.json + one weights shard, the same files tfjs-converter writes.
 */
export async function writeTinyLayersModel(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const input = tf.input({ shape: [8, 8, 3], name: 'image' });
  const feat = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'feat' }).apply(input) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(feat) as tf.SymbolicTensor;
  const probs = tf.layers.dense({ units: 2, activation: 'softmax', name: 'probs' }).apply(pooled) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: probs });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = tf.io.CompositeArrayBuffer.join(
        Array.isArray(artifacts.weightData) ? artifacts.weightData : artifacts.weightData ? [artifacts.weightData] : [],
      );
      writeFileSync(path.join(dir, 'group1-shard1of1.bin'), Buffer.from(weightData));
      writeFileSync(
        path.join(dir, 'model.json'),
        JSON.stringify({
          format: 'layers-model',
          generatedBy: 'featx test',
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: artifacts.weightSpecs }],
        }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
}
