import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';

/**
 * A TF.js IOHandler that reads `model.json` and its weight shards from the local disk.
 * @tensorflow/tfjs alone has no file:// loader in Node (that lives in tfjs-node), and the
 * http loader would need fetch and a server; this keeps model loading offline and dependency-free.
 */
export function fileSystemLoadHandler(modelJsonPath: string): tf.io.IOHandler {
  const dir = path.dirname(modelJsonPath);
  return {
    load: async () => {
      let modelJson: tf.io.ModelJSON;
      try {
        modelJson = JSON.parse(await readFile(modelJsonPath, 'utf8')) as tf.io.ModelJSON;
      } catch (error) {
        throw new Error(`cannot read TF.js model ${modelJsonPath}: ${error instanceof Error ? error.message : String(error)}`);
      }
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs = tf.io.getWeightSpecs(manifest);
        const shards: ArrayBuffer[] = [];
        for (const group of manifest) {
          for (const shardPath of group.paths) {
            const file = path.resolve(dir, shardPath);
            try {
              const bytes = await readFile(file);
              shards.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
            } catch (error) {
              throw new Error(`cannot read weight shard ${file} of ${modelJsonPath}: ${error instanceof Error ? error.message : String(error)}`);
            }
          }
        }
        return [specs, tf.io.CompositeArrayBuffer.join(shards)];
      });
    },
  };
}
