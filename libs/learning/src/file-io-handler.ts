import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';

/**
 * Reads a TF.js model.json and its weight files from disk: @tensorflow/tfjs has no file:// loader
 * in Node (that lives in tfjs-node, which cannot be installed here).
 */
export function fileLoadHandler(modelJsonPath: string): tf.io.IOHandler {
  const dir = path.dirname(modelJsonPath);
  return {
    load: async () => {
      const modelJson = JSON.parse(await readFile(modelJsonPath, 'utf8')) as tf.io.ModelJSON;
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const shards: ArrayBuffer[] = [];
        for (const group of manifest) {
          for (const shard of group.paths) {
            const bytes = await readFile(path.resolve(dir, shard));
            shards.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
          }
        }
        return [tf.io.getWeightSpecs(manifest), tf.io.CompositeArrayBuffer.join(shards)];
      });
    },
  };
}
