import * as os from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { Tensor } from 'onnxruntime-node';
import { binding } from 'onnxruntime-node/dist/binding';

/**
 * An ONNX Runtime session run synchronously on the calling thread.
 *
 * Why the native binding rather than `InferenceSession`: the public `run()` only defers the very
 * same synchronous native call to a `setImmediate` and returns a Promise, while `TrainableHead`'s
 * `trainBatch` is synchronous (as the TF.js step it replaces). The binding is onnxruntime-node's
 * own `dist/binding` module, what `InferenceSession` itself calls; this file is its only user.
 *
 * `run(feeds, fetches)`: a fetch given as a Tensor is written in place (ORT's pre-allocated
 * outputs), so weights can live in JavaScript Float32Arrays that ORT reads and writes directly.
 */
export interface SyncSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Readonly<Record<string, Tensor>>, fetches: Readonly<Record<string, Tensor | null>>): Record<string, Tensor>;
  dispose(): void;
}

export interface SyncSessionOptions {
  /** Intra-op threads (the GEMM's); default every core. */
  threads?: number;
}

export function openSyncSession(model: Uint8Array, options: SyncSessionOptions = {}): SyncSession {
  const threads = options.threads ?? os.availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
  initialize();
  const session = new binding.InferenceSession();
  session.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    // Spinning threads between steps would take the cores the data pipeline needs.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  return {
    inputNames: session.inputMetadata.map((m) => m.name),
    outputNames: session.outputMetadata.map((m) => m.name),
    run: (feeds, fetches) => session.run(feeds, fetches, {}) as Record<string, Tensor>,
    dispose: () => session.dispose(),
  };
}

/**
 * The class the binding builds outputs with. It views the output's buffer as a Float32Array of this
 * module's realm (no copy): under jest the binding's arrays come from another realm, which the plain
 * Tensor constructor rejects.
 */
function OutputTensor(type: 'float32', data: ArrayBufferView & { length: number }, dims: readonly number[]): Tensor {
  return new Tensor(type, data instanceof Float32Array ? data : new Float32Array(data.buffer, data.byteOffset, data.length), dims);
}

let initialized = false;

/** What onnxruntime-node's initOrt() does (log level: warnings), with OutputTensor. */
function initialize(): void {
  if (initialized) return;
  binding.initOrtOnce(2, OutputTensor as unknown as typeof Tensor, isMainThread); // called with `new`
  initialized = true;
}

/** A float32 tensor over `data` itself (no copy). */
export function floatTensor(data: Float32Array, dims: readonly number[]): Tensor {
  return new Tensor('float32', data, dims);
}
