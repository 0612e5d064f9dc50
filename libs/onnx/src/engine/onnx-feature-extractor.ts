import * as os from 'node:os';
import * as path from 'node:path';
import type * as ortTypes from 'onnxruntime-node';
import {
  preprocessInto,
  pooledDim,
  type DecodedImage,
  type FeatureBatch,
  type FeatureExtractor,
  type Pooling,
  type Preprocessing,
} from '@featx/vision';
import type { FeatureLayout } from './pool';
import { WorkerSession } from './worker-session';

type Ort = typeof ortTypes;

/** How to feed an ONNX model and read its features. */
export interface OnnxModelSpec {
  /** Graph input to feed; default the model's first input. */
  inputName?: string;
  /**
   * Layout of the image input, and of a 4-D output (a PyTorch export is NCHW both ways, a
   * tf2onnx/Keras export NHWC). Images are preprocessed NHWC and transposed for NCHW.
   */
  layout: FeatureLayout;
  /** [height, width] images must have. */
  inputSize: [number, number];
  preprocessing: Preprocessing;
  /** Graph output holding the features; default the model's first output. */
  outputName?: string;
}

export interface OnnxFeatureExtractorOptions {
  /** A .onnx file, or its bytes. */
  modelPath: string | Uint8Array;
  spec: OnnxModelSpec;
  /** Default 'none' (flatten in NHWC order, like the TF.js engine). */
  pooling?: Pooling;
  /** ORT intra-op threads; default os.availableParallelism() (the cores this process may use). */
  threads?: number;
  /**
   * ORT execution providers in order of preference; default ['cpu']. GPU users pass ['cuda', 'cpu']
   * or ['tensorrt', 'cuda', 'cpu'] — these need the CUDA/TensorRT build of onnxruntime-node
   * (`npm install onnxruntime-node --onnxruntime-node-install=cuda`) and the CUDA libraries;
   * the npm package bundles the CPU provider only.
   */
  executionProviders?: string[];
  /** Name for `id`; default the file's base name (or 'onnx' for bytes). */
  name?: string;
  /** Feature name for `id` (`<name>:<featureName>:<pooling>`); default the output's name. */
  featureName?: string;
  /** Images per forward pass the pipeline should send; default ONNX_BATCH_SIZE. */
  batchSize?: number;
  /**
   * Let idle ORT threads spin for work; default false, so that between forward passes the cores go
   * to decoding (sharp) instead of busy-waiting.
   */
  allowSpinning?: boolean;
  /** ORT graph optimisation; default 'all'. */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

/** Images per forward pass by default (see the README's engine benchmark). */
export const ONNX_BATCH_SIZE = 8;

let ortModule: Ort | null | undefined;
let ortLoadError = '';

function loadOrt(): Ort | null {
  if (ortModule === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      ortModule = require('onnxruntime-node') as Ort;
    } catch (error) {
      ortModule = null;
      ortLoadError = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    }
  }
  return ortModule;
}

/** True when onnxruntime-node (its native binding) loads in this process; engines fall back otherwise. */
export function detectOnnxAvailable(): boolean {
  return loadOrt() !== null;
}

/** Why onnxruntime-node did not load ('' when it did, or was not tried yet). */
export function onnxUnavailableReason(): string {
  loadOrt();
  return ortLoadError;
}

interface TensorLike {
  shape: number[];
  rank: number;
  data(): Promise<Float32Array | Int32Array | Uint8Array>;
}

function isTensorLike(batch: unknown): batch is TensorLike {
  return !Array.isArray(batch) && typeof batch === 'object' && batch !== null && 'shape' in batch && typeof (batch as TensorLike).data === 'function';
}

export async function createOnnxFeatureExtractor(options: OnnxFeatureExtractorOptions): Promise<FeatureExtractor> {
  if (!loadOrt()) throw new Error(`onnxruntime-node is not available in this process: ${ortLoadError}`);
  const { spec } = options;
  const pooling: Pooling = options.pooling ?? 'none';
  const threads = options.threads ?? os.availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, got ${threads}`);
  const [height, width] = spec.inputSize;
  if (spec.layout !== 'NCHW' && spec.layout !== 'NHWC') throw new Error(`layout must be NCHW or NHWC, got ${String(spec.layout)}`);
  const executionProviders = options.executionProviders ?? ['cpu'];

  const sessionOptions: ortTypes.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    executionProviders,
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    extra: { session: { intra_op: { allow_spinning: options.allowSpinning ? '1' : '0' } } },
  };
  // The session runs on a worker thread; loading ORT here too tells whether its binding loads at all.
  const session = await WorkerSession.open(options.modelPath, sessionOptions);

  let featureShape: number[];
  let inputName: string;
  let outputName: string;
  try {
    inputName = spec.inputName ?? session.inputNames[0]!;
    outputName = spec.outputName ?? session.outputNames[0]!;
    if (!session.inputNames.includes(inputName)) {
      throw new Error(`ONNX model has no input '${inputName}' (inputs: ${session.inputNames.join(', ')})`);
    }
    if (!session.outputNames.includes(outputName)) {
      throw new Error(`ONNX model has no output '${outputName}' (outputs: ${session.outputNames.join(', ')})`);
    }
    // Feature shape: run one zero image (robust to dynamic dims in the model's metadata).
    const probe = await session.run({ inputName, outputName, nhwc: new Float32Array(height * width * 3), n: 1, height, width, layout: spec.layout, pooling: 'none' });
    const dims = probe.dims;
    if (dims.length === 4) {
      featureShape = spec.layout === 'NCHW' ? [dims[2]!, dims[3]!, dims[1]!] : [dims[1]!, dims[2]!, dims[3]!];
    } else if (dims.length === 2) {
      featureShape = [dims[1]!];
    } else {
      throw new Error(`output '${outputName}' is [${dims.join(',')}]; need [N,C,H,W], [N,H,W,C] or [N,D]`);
    }
    pooledDim(featureShape, pooling); // validates pooling against the shape
  } catch (error) {
    await session.release();
    throw error;
  }

  const dim = pooledDim(featureShape, pooling);
  const name = options.name ?? (typeof options.modelPath === 'string' ? path.basename(options.modelPath, '.onnx') : 'onnx');
  const provider = executionProviders[0] ?? 'cpu';
  const id = `${name}:${options.featureName ?? outputName}:${pooling}`;
  let disposed = false;
  const perImage = height * width * 3;
  // Input buffers come back from the worker after each pass and are reused: no 5 MB of garbage a batch.
  const spare: Float32Array[] = [];
  const takeBuffer = (n: number): Float32Array => {
    const index = spare.findIndex((b) => b.length === n * perImage);
    return index >= 0 ? spare.splice(index, 1)[0]! : new Float32Array(n * perImage);
  };

  return {
    id,
    inputSize: [height, width],
    preprocessing: spec.preprocessing,
    featureShape,
    pooling,
    dim,
    engine: 'onnx',
    backend: `onnxruntime-${provider}`,
    batchSize: options.batchSize ?? ONNX_BATCH_SIZE,
    async extract(batch): Promise<FeatureBatch> {
      if (disposed) throw new Error(`feature extractor ${id} is disposed`);
      let n: number;
      let nhwc: Float32Array;
      if (isTensorLike(batch)) {
        const [bn, bh, bw, bc] = batch.shape;
        if (batch.rank !== 4 || bh !== height || bw !== width || bc !== 3) {
          throw new Error(`input tensor is [${batch.shape.join(',')}]; ${id} needs [N,${height},${width},3]`);
        }
        n = bn!;
        nhwc = takeBuffer(n);
        nhwc.set((await batch.data()) as ArrayLike<number>);
      } else {
        const images = batch as readonly DecodedImage[];
        n = images.length;
        images.forEach((image, i) => {
          if (image.width !== width || image.height !== height || image.data.length !== perImage) {
            throw new Error(`image ${i} is ${image.width}x${image.height}; ${id} needs ${width}x${height} (decode with size [${height}, ${width}])`);
          }
        });
        nhwc = takeBuffer(n);
        images.forEach((image, i) => preprocessInto(image.data, spec.preprocessing, nhwc, i * perImage));
      }
      if (n === 0) return { data: new Float32Array(0), shape: [0, dim] };
      try {
        const result = await session.run({ inputName, outputName, nhwc, n, height, width, layout: spec.layout, pooling });
        if (spare.length < 4) spare.push(result.nhwc);
        return { data: result.data, shape: result.shape };
      } catch (error) {
        throw new Error(`${id}: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      void session.release();
    },
  };
}
