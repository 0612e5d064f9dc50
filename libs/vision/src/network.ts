import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Engine } from '@featx/contracts';
import { currentBackend, selectBackend, type BackendPreference } from './backend';
import type { DecodedImage } from './image-decode';
import { loadKerasH5Weights } from './keras-h5';
import { layerFeatureModel, loadModelFolder } from './model-folder';
import type { ModelSpecInput } from './model-spec';
import { poolFeatures, pooledDim, type Pooling } from './pooling';
import { preprocessBatch, type Preprocessing } from './preprocess';
import { buildResNet50, RESNET50_FEATURE_LAYER, resnet50LegacyLayerName } from './resnet50';
import { RESNET50_WEIGHTS, resolveWeightsFile } from './weights';

/** Features of a batch: row-major [N, D] float32. */
export interface FeatureBatch {
  data: Float32Array;
  shape: [number, number];
}

/** A network cut at a feature layer, plus pooling: images in, one vector per image out. */
export interface FeatureExtractor {
  /** e.g. `resnet50:conv5_block3_out:none`, stable enough to name a feature set. */
  readonly id: string;
  /** [height, width] images must have (decodeImage's `size`). */
  readonly inputSize: [number, number];
  readonly preprocessing: Preprocessing;
  /** Per-image feature map shape before pooling, e.g. [7, 7, 2048]. */
  readonly featureShape: number[];
  readonly pooling: Pooling;
  /** Vector length per image after pooling. */
  readonly dim: number;
  readonly engine: Engine;
  /** What runs it within the engine: the TF.js backend (`wasm`, `tensorflow`, ...) or `onnxruntime-<provider>`. */
  readonly backend: string;
  /** Images per forward pass that keep this engine busiest (the pipeline batches by it). */
  readonly batchSize: number;
  /**
   * Features of a batch. A tensor must already be preprocessed [N, H, W, 3] float32 (it is not
   * disposed); decoded images are preprocessed here and must all be inputSize.
   */
  extract(batch: tf.Tensor4D | readonly DecodedImage[]): Promise<FeatureBatch>;
  dispose(): void;
}

export interface FeatureExtractorOptions {
  /** `resnet50` (Keras ResNet50, include_top=False) or the path of a TF.js model folder. */
  model: 'resnet50' | (string & {});
  /** resnet50: a Keras .h5 weights file (with or without top) to use as is. */
  weightsPath?: string;
  /** resnet50: `imagenet` (default; published file from cache, Keras' cache or download) or `random` (tests, benchmarks). */
  weights?: 'imagenet' | 'random';
  /** Feature layer; default conv5_block3_out for resnet50, the spec's featureLayer for folders. */
  layer?: string;
  /** Default 'none' (flatten), as in the tutorial. */
  pooling?: Pooling;
  /** TF.js backend; default: the one already selected in this process, else 'auto'. */
  backend?: BackendPreference;
  /** resnet50: input [height, width]; default [224, 224]. */
  inputSize?: [number, number];
  /** Model folders: fields overriding (or supplying) the folder's spec. */
  spec?: Partial<ModelSpecInput>;
  /** resnet50 weights download cache; default see defaultWeightsCacheDir(). */
  weightsCacheDir?: string;
  /** Allow downloading weights; default true. */
  download?: boolean;
  log?: (line: string) => void;
}

/**
 * A TF.js network from its input to the feature layer, before pooling: what the TF.js engine runs
 * and what the ONNX exporter translates.
 */
export interface FeatureNetwork {
  /** `resnet50` or the model folder's name. */
  name: string;
  /** Feature layer (layers models) or node (graph models). */
  layer: string;
  inputSize: [number, number];
  preprocessing: Preprocessing;
  /** Per-image feature map shape, e.g. [7, 7, 2048]. */
  featureShape: number[];
  /** Input → feature layer as a layers model; absent for graph models. Shares weights with the network. */
  layersModel?: tf.LayersModel;
  /** Input → features; caller disposes the result. */
  features: (input: tf.Tensor4D) => tf.Tensor;
  dispose(): void;
}

/** Selects the TF.js backend (keeping the process's choice unless one is given) and loads the network. */
export async function createFeatureExtractor(options: FeatureExtractorOptions): Promise<FeatureExtractor> {
  const backend = await ensureBackend(options);
  const network = await loadFeatureNetwork(options);
  return tfjsFeatureExtractor(network, options.pooling ?? 'none', backend);
}

/** Without an explicit choice, keeps whatever backend the process already selected. */
export async function ensureBackend(options: Pick<FeatureExtractorOptions, 'backend' | 'log'>): Promise<string> {
  const choice = options.backend
    ? await selectBackend(options.backend, { log: options.log })
    : (currentBackend() ?? (await selectBackend('auto', { log: options.log })));
  return choice.backend;
}

/** Loads `resnet50` (with its weights) or a TF.js model folder, cut at the feature layer. Needs a TF.js backend. */
export async function loadFeatureNetwork(options: FeatureExtractorOptions): Promise<FeatureNetwork> {
  if (options.model === 'resnet50') return loadResNet50(options);
  const folder = await loadModelFolder(options.model, { ...options.spec, ...(options.layer ? { featureLayer: options.layer } : {}) });
  const layersModel = folder.model instanceof tf.LayersModel ? layerFeatureModel(folder.model, folder.spec.featureLayer, folder.dir) : undefined;
  return {
    name: path.basename(path.resolve(options.model)),
    layer: folder.spec.featureLayer,
    inputSize: folder.spec.inputSize,
    preprocessing: folder.preprocessing,
    featureShape: folder.featureShape,
    layersModel,
    features: folder.features,
    dispose: () => folder.dispose(),
  };
}

async function loadResNet50(options: FeatureExtractorOptions): Promise<FeatureNetwork> {
  const [height, width] = options.inputSize ?? [224, 224];
  const model = buildResNet50({ includeTop: false, inputShape: [height, width, 3], initialization: options.weights === 'random' ? 'random' : 'zeros' });
  try {
    if (options.weights !== 'random') {
      const weightsPath =
        options.weightsPath ??
        (await resolveWeightsFile(RESNET50_WEIGHTS.notop, { cacheDir: options.weightsCacheDir, download: options.download, log: options.log }));
      await loadKerasH5Weights(model, weightsPath, { layerAlias: resnet50LegacyLayerName });
    }
  } catch (error) {
    model.dispose();
    throw error;
  }
  const layer = options.layer ?? RESNET50_FEATURE_LAYER;
  const featureModel = layer === RESNET50_FEATURE_LAYER ? model : layerFeatureModel(model, layer, 'resnet50');
  return {
    name: 'resnet50',
    layer,
    inputSize: [height, width],
    preprocessing: { mode: 'caffe' },
    featureShape: (featureModel.outputs[0]!.shape as number[]).slice(1),
    layersModel: featureModel,
    features: (x) => featureModel.predict(x) as tf.Tensor,
    dispose: () => model.dispose(),
  };
}

/** Images per forward pass on TF.js: larger batches gain nothing on wasm and cost memory. */
const TFJS_BATCH_SIZE = 8;

/** The TF.js engine: runs `network` on the active backend, then pools. Disposing it disposes the network. */
export function tfjsFeatureExtractor(network: FeatureNetwork, pooling: Pooling, backend: string): FeatureExtractor {
  const id = `${network.name}:${network.layer}:${pooling}`;
  const dim = pooledDim(network.featureShape, pooling);
  const [height, width] = network.inputSize;
  let disposed = false;
  return {
    id,
    inputSize: network.inputSize,
    preprocessing: network.preprocessing,
    featureShape: network.featureShape,
    pooling,
    dim,
    engine: 'tfjs',
    backend,
    batchSize: TFJS_BATCH_SIZE,
    async extract(batch) {
      if (disposed) throw new Error(`feature extractor ${id} is disposed`);
      const ownInput = !(batch instanceof tf.Tensor);
      if (ownInput) {
        batch.forEach((image, i) => {
          if (image.width !== width || image.height !== height) {
            throw new Error(`image ${i} is ${image.width}x${image.height}; ${id} needs ${width}x${height} (decode with size [${height}, ${width}])`);
          }
        });
      }
      const input = ownInput ? preprocessBatch(batch, network.preprocessing) : batch;
      try {
        const [n, h, w, c] = input.shape;
        if (h !== height || w !== width || c !== 3) {
          throw new Error(`input batch is [${input.shape.join(',')}]; ${id} needs [N,${height},${width},3]`);
        }
        const pooled = tf.tidy(() => poolFeatures(network.features(input), pooling));
        try {
          const data = (await pooled.data()) as Float32Array;
          return { data, shape: [n, dim] };
        } finally {
          pooled.dispose();
        }
      } finally {
        if (ownInput) input.dispose();
      }
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      network.dispose();
    },
  };
}
