'use strict';
/**
 * An ONNX Runtime session on a worker thread. onnxruntime-node's run() is synchronous under its
 * promise, so on the main thread it would block the event loop for a whole forward pass: no NATS
 * messages, no decoded images picked up, no acks. Plain JavaScript so that it loads as is in any
 * runner (jest, the swc hook, a container).
 *
 * Messages in:  { type: 'run', id, inputName, outputName, data: Float32Array, dims }
 * Messages out: { type: 'ready', inputNames, outputNames } | { type: 'failed', message }
 *               { type: 'result', id, data, dims, dtype } | { type: 'error', id, message }
 */
const { parentPort, workerData } = require('node:worker_threads');
const ort = require('onnxruntime-node');

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
    const { id, inputName, outputName, data, dims } = message;
    let input;
    try {
      input = new ort.Tensor('float32', data, dims);
      const results = await session.run({ [inputName]: input }, [outputName]);
      const output = results[outputName];
      if (!output) throw new Error(`ONNX run returned no '${outputName}'`);
      // A copy into a fresh buffer that can be transferred (the tensor's own memory belongs to ORT).
      const values = output.type === 'float32' ? new Float32Array(output.data) : undefined;
      parentPort.postMessage({ type: 'result', id, data: values, dims: Array.from(output.dims), dtype: output.type }, values ? [values.buffer] : []);
      output.dispose();
    } catch (error) {
      parentPort.postMessage({ type: 'error', id, message: error instanceof Error ? error.message : String(error) });
    } finally {
      input?.dispose();
    }
  });
}

void main();
