'use strict';
/**
 * An ONNX Runtime session on a worker thread. onnxruntime-node's run() is synchronous under its
 * promise, so on the main thread it would block the event loop for a whole forward pass: no NATS
 * messages, no decoded images picked up, no acks. Plain JavaScript so that it loads as is in any
 * runner (jest, the swc hook, a container).
 *
 * Transposing the input for NCHW models and pooling the output happen here too, so that the main
 * thread gets [N, D] vectors (8 KB an image for pooled ResNet-50 instead of a 400 KB map) and its
 * input buffer back for the next batch: far less garbage to collect beside the event loop.
 *
 * Messages in:  { type: 'run', id, inputName, outputName, nhwc: Float32Array, n, height, width, layout, pooling }
 * Messages out: { type: 'ready', inputNames, outputNames } | { type: 'failed', message }
 *               { type: 'result', id, data, shape, dims, nhwc } | { type: 'error', id, message, nhwc }
 */
const { parentPort, workerData } = require('node:worker_threads');
const ort = require('onnxruntime-node');
const { nhwcToNchw, poolOutput } = require('./pool.js');

async function main() {
  let session;
  try {
    const { model, options } = workerData;
    session = await ort.InferenceSession.create(model, options);
  } catch (error) {
    parentPort.postMessage({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
    return;
  }
  parentPort.postMessage({ type: 'ready', inputNames: session.inputNames, outputNames: session.outputNames });
  parentPort.on('message', async (message) => {
    if (message.type === 'release') {
      await session.release();
      parentPort.close();
      return;
    }
    const { id, inputName, outputName, nhwc, n, height, width, layout, pooling } = message;
    let input;
    try {
      const data = layout === 'NCHW' ? nhwcToNchw(nhwc, n, height, width, 3) : nhwc;
      input = new ort.Tensor('float32', data, layout === 'NCHW' ? [n, 3, height, width] : [n, height, width, 3]);
      const results = await session.run({ [inputName]: input }, [outputName]);
      const output = results[outputName];
      if (!output) throw new Error(`ONNX run returned no '${outputName}'`);
      try {
        if (output.type !== 'float32') throw new Error(`output '${outputName}' is ${output.type}; need float32`);
        const dims = Array.from(output.dims);
        // poolOutput always returns a fresh array: transferable, unlike the tensor's own memory.
        const pooled = poolOutput(output.data, dims, layout, pooling);
        parentPort.postMessage({ type: 'result', id, data: pooled.data, shape: pooled.shape, dims, nhwc }, [pooled.data.buffer, nhwc.buffer]);
      } finally {
        output.dispose();
      }
    } catch (error) {
      parentPort.postMessage({ type: 'error', id, message: error instanceof Error ? error.message : String(error), nhwc }, [nhwc.buffer]);
    } finally {
      input?.dispose();
    }
  });
}

void main();
