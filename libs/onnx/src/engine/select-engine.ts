import { existsSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EngineChoice, Precision } from '@featx/contracts';
import {
  currentBackend,
  ensureBackend,
  loadFeatureNetwork,
  MODEL_SPEC_FILE,
  resolveModelSpec,
  tfjsFeatureExtractor,
  type DecodedImage,
  type FeatureExtractor,
  type FeatureExtractorOptions,
  type FeatureNetwork,
  type ModelSpec,
} from '@featx/vision';
import { cachedExportForSource, exportSource, rememberExportSource } from './export-sources';
import { defaultOnnxCacheDir, exportFeatureNetwork } from './exported-network';
import { createOnnxFeatureExtractor, detectOnnxAvailable, onnxUnavailableReason } from './onnx-feature-extractor';
import { quantizeFeatureNetwork, type QuantizationReport } from './quantized-network';
import type { CalibrationMethod } from '../quantizer';

/** How this process runs ONNX Runtime (from its configuration, not per feature set). */
export interface OnnxRuntimeOptions {
  /** Intra-op threads; default the cores this process may use (os.availableParallelism()). */
  threads?: number;
  /** e.g. ['cuda', 'cpu']; default ['cpu']. See the README for the CUDA/TensorRT build. */
  executionProviders?: string[];
  /** Where TF.js networks exported to ONNX are cached; default defaultOnnxCacheDir(). */
  cacheDir?: string;
  /** Images per forward pass; default ONNX_BATCH_SIZE. */
  batchSize?: number;
  /** Relative tolerance of the export parity check; default DEFAULT_PARITY_TOLERANCE. */
  parityTolerance?: number;
}

export interface EngineFeatureExtractorOptions extends FeatureExtractorOptions {
  /** Default 'auto'. */
  engine?: EngineChoice;
  onnx?: OnnxRuntimeOptions;
  /** Real images (of inputSize) to check a fresh ONNX export against TF.js on; seeded noise when absent. */
  parityImages?: (inputSize: [number, number]) => Promise<readonly DecodedImage[]>;
  /** Default fp32; int8 runs on ONNX Runtime only, quantized with `int8`. */
  precision?: Precision;
  int8?: Int8Options;
}

/** How to quantize a network to int8 (see quantizeFeatureNetwork). */
export interface Int8Options {
  /** Images (of inputSize) to calibrate activations on: a sample of the dataset's training split. */
  calibrationImages: (inputSize: [number, number]) => Promise<readonly DecodedImage[]>;
  /** Other images to compare int8 with fp32 features on. */
  heldBackImages: (inputSize: [number, number]) => Promise<readonly DecodedImage[]>;
  /** Lowest accepted mean cosine similarity; default DEFAULT_PARITY_THRESHOLD. */
  threshold?: number;
  method?: CalibrationMethod;
  /** The content key the int8 model must have (see QuantizeFeatureNetworkOptions.expectedKey). */
  expectedKey?: string;
}

/** A feature extractor, and for int8 what its quantization measured. */
export type EngineFeatureExtractor = FeatureExtractor & { readonly quantization?: QuantizationReport };

const GPU_PROVIDERS = ['cuda', 'tensorrt', 'dml', 'coreml', 'webgpu'];

/**
 * A feature extractor on the engine the options ask for. `auto` picks ONNX Runtime when its binding
 * loads (several times faster than TF.js on CPU), unless TF.js runs on a GPU (tfjs-node-gpu) and ONNX
 * Runtime is configured for CPU only; when the network cannot be exported (a layer the exporter lacks,
 * a graph model, a parity failure) `auto` falls back to TF.js and logs why. An explicit engine never
 * falls back: it fails with the reason. `.onnx` models run on ONNX Runtime only.
 */
export async function createEngineFeatureExtractor(options: EngineFeatureExtractorOptions): Promise<EngineFeatureExtractor> {
  const log = options.log ?? ((line: string) => console.info(line));
  const preference = options.engine ?? 'auto';
  const int8 = options.precision === 'int8';
  if (int8 && preference === 'tfjs') throw new Error(`precision int8 runs on ONNX Runtime; engine 'tfjs' was requested for ${options.model}`);
  if (int8 && !options.int8) throw new Error(`precision int8 needs calibration and held-back images for ${options.model}`);
  const onnxModel = await findOnnxModel(options);
  if (onnxModel) {
    if (int8) throw new Error(`${onnxModel.file} is an ONNX model; precision int8 is available for TF.js networks that featx exports to ONNX`);
    if (preference === 'tfjs') throw new Error(`${onnxModel.file} is an ONNX model; engine 'tfjs' cannot run it (use onnx or auto)`);
    requireOnnxRuntime(options.model);
    const extractor = await createOnnxFeatureExtractor({
      modelPath: onnxModel.file,
      spec: {
        layout: onnxModel.spec.layout!,
        inputSize: onnxModel.spec.inputSize,
        preprocessing: { mode: onnxModel.spec.preprocessing, channelOrder: onnxModel.spec.channelOrder },
        inputName: onnxModel.spec.inputName,
        outputName: onnxModel.spec.featureLayer,
      },
      pooling: options.pooling,
      name: onnxModel.name,
      ...runtimeOptions(options.onnx),
    });
    return logged(extractor);
  }

  const backend = await ensureBackend(options);
  const onnxChoice = preference === 'tfjs' ? undefined : onnxUsable(preference, options.onnx);
  if (preference === 'onnx' && onnxChoice !== true) throw new Error(`engine 'onnx' was requested for ${options.model} but ${onnxChoice}`);
  if (int8 && onnxChoice !== true) throw new Error(`precision int8 runs on ONNX Runtime, but for ${options.model} ${onnxChoice}`);
  const pooling = options.pooling ?? 'none';
  const onTfjs = (network: FeatureNetwork) => logged(tfjsFeatureExtractor(network, pooling, backend));
  const cacheDir = options.onnx?.cacheDir ?? defaultOnnxCacheDir();
  const onOnnx = async (file: string, key: string, network: Pick<FeatureNetwork, 'name' | 'layer' | 'inputSize' | 'preprocessing'>): Promise<EngineFeatureExtractor> => {
    const quantized = int8 ? await quantize(file, key, network) : undefined;
    const extractor = await createOnnxFeatureExtractor({
      modelPath: quantized?.path ?? file,
      spec: { layout: 'NHWC', inputSize: network.inputSize, preprocessing: network.preprocessing },
      pooling,
      name: int8 ? `${network.name}@int8` : network.name,
      featureName: network.layer,
      ...runtimeOptions(options.onnx),
    });
    return logged(quantized ? Object.assign(extractor, { quantization: quantized.report }) : extractor);
  };
  const quantize = (file: string, key: string, network: Pick<FeatureNetwork, 'name' | 'layer' | 'inputSize' | 'preprocessing'>) =>
    quantizeFeatureNetwork({
      cacheDir,
      fp32Path: file,
      fp32Key: key,
      name: `${network.name}:${network.layer}`,
      inputSize: network.inputSize,
      preprocessing: network.preprocessing,
      pooling,
      calibrationImages: () => options.int8!.calibrationImages(network.inputSize),
      heldBackImages: () => options.int8!.heldBackImages(network.inputSize),
      method: options.int8!.method,
      threshold: options.int8!.threshold,
      expectedKey: options.int8!.expectedKey,
      threads: options.onnx?.threads,
      log,
    });
  if (onnxChoice !== true) {
    if (onnxChoice) log(`engine auto: not onnx (${onnxChoice}); using tfjs`);
    return onTfjs(await loadFeatureNetwork(options));
  }

  const source = await exportSource(options);
  const cached = source ? await cachedExportForSource(cacheDir, source.key) : undefined;
  if (cached) {
    log(`ONNX export of ${cached.record.network}:${cached.record.layer} from cache ${cached.path} by its source files (max abs diff ${cached.record.maxAbsDiff.toExponential(2)} at export)`);
    const name = options.model === 'resnet50' ? 'resnet50' : path.basename(path.resolve(options.model));
    return onOnnx(cached.path, cached.record.key, { ...cached.record, name });
  }
  const network = await loadFeatureNetwork(source?.options ?? options);
  try {
    const exported = await exportFeatureNetwork(network, {
      cacheDir,
      tolerance: options.onnx?.parityTolerance,
      parityImages: options.parityImages ? () => options.parityImages!(network.inputSize) : undefined,
      log,
    });
    if (source) await rememberExportSource(cacheDir, source.key, exported.record.key);
    const extractor = await onOnnx(exported.path, exported.record.key, network);
    network.dispose();
    return extractor;
  } catch (error) {
    if (preference === 'onnx' || int8) {
      network.dispose();
      throw error;
    }
    log(`engine auto: ${network.name}:${network.layer} cannot run on onnx (${error instanceof Error ? error.message : String(error)}); using tfjs`);
    return onTfjs(network);
  }

  function logged<E extends FeatureExtractor>(extractor: E): E {
    const detail = extractor.engine === 'onnx' ? `, ${options.onnx?.threads ?? os.availableParallelism()} thread(s)` : '';
    log(`engine: ${extractor.engine} (${extractor.backend}${detail}, batch ${extractor.batchSize}) for ${extractor.id} [requested ${preference}]`);
    return extractor;
  }
}

/** true, or why ONNX Runtime should not (or cannot) run here. */
function onnxUsable(preference: EngineChoice, onnx: OnnxRuntimeOptions | undefined): true | string {
  if (!detectOnnxAvailable()) return `onnxruntime-node is unavailable: ${onnxUnavailableReason()}`;
  const tfjsOnGpu = currentBackend()?.provider === '@tensorflow/tfjs-node-gpu';
  const onnxOnGpu = (onnx?.executionProviders ?? []).some((p) => GPU_PROVIDERS.includes(p));
  if (preference === 'auto' && tfjsOnGpu && !onnxOnGpu) return 'TF.js runs on the GPU (tfjs-node-gpu) and ONNX Runtime is set to CPU only';
  return true;
}

function requireOnnxRuntime(model: string): void {
  if (!detectOnnxAvailable()) throw new Error(`${model} is an ONNX model but onnxruntime-node is unavailable: ${onnxUnavailableReason()}`);
}

function runtimeOptions(onnx: OnnxRuntimeOptions | undefined) {
  return { threads: onnx?.threads, executionProviders: onnx?.executionProviders, batchSize: onnx?.batchSize };
}

/** An ONNX model: a `.onnx` file (spec from its folder's featx-model.json or the options), or a folder whose spec says format onnx. */
async function findOnnxModel(options: FeatureExtractorOptions): Promise<{ file: string; spec: ModelSpec; name: string } | undefined> {
  if (options.model === 'resnet50') return undefined;
  const layer = options.layer ? { featureLayer: options.layer } : {};
  if (options.model.toLowerCase().endsWith('.onnx')) {
    const dir = path.dirname(options.model);
    const { spec } = await resolveModelSpec(dir, { ...options.spec, ...layer, format: 'onnx', modelFile: path.basename(options.model) });
    return { file: options.model, spec, name: path.basename(options.model, path.extname(options.model)) };
  }
  const isFolder = existsSync(options.model) && statSync(options.model).isDirectory();
  if (!isFolder || (!existsSync(path.join(options.model, MODEL_SPEC_FILE)) && options.spec?.format !== 'onnx')) return undefined;
  const { spec } = await resolveModelSpec(options.model, { ...options.spec, ...layer });
  if (spec.format !== 'onnx') return undefined;
  const file = path.join(options.model, spec.modelFile);
  if (!existsSync(file)) throw new Error(`model folder ${options.model} has no ${spec.modelFile}`);
  return { file, spec, name: path.basename(path.resolve(options.model)) };
}
