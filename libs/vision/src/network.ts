import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
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
  /** TF.js backend it runs on. */
  readonly backend: string;
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

export async function createFeatureExtractor(options: FeatureExtractorOptions): Promise<FeatureExtractor> {
  // Without an explicit choice, keep whatever backend the process already selected.
  const choice = options.backend
    ? await selectBackend(options.backend, { log: options.log })
    : (currentBackend() ?? (await selectBackend('auto', { log: options.log })));
  const pooling = options.pooling ?? 'none';
  if (options.model === 'resnet50') return createResNet50Extractor(options, pooling, choice.backend);

  const folder = await loadModelFolder(options.model, { ...options.spec, ...(options.layer ? { featureLayer: options.layer } : {}) });
  return makeExtractor({
    id: `${path.basename(path.resolve(options.model))}:${folder.spec.featureLayer}:${pooling}`,
    inputSize: folder.spec.inputSize,
    preprocessing: folder.preprocessing,
    featureShape: folder.featureShape,
    pooling,
    backend: choice.backend,
    features: folder.features,
    dispose: () => folder.dispose(),
  });
}

async function createResNet50Extractor(options: FeatureExtractorOptions, pooling: Pooling, backend: string): Promise<FeatureExtractor> {
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
  const featureShape = (featureModel.outputs[0]!.shape as number[]).slice(1);
  return makeExtractor({
    id: `resnet50:${layer}:${pooling}`,
    inputSize: [height, width],
    preprocessing: { mode: 'caffe' },
    featureShape,
    pooling,
    backend,
    features: (x) => featureModel.predict(x) as tf.Tensor,
    dispose: () => model.dispose(),
  });
}

interface ExtractorParts {
  id: string;
  inputSize: [number, number];
  preprocessing: Preprocessing;
  featureShape: number[];
  pooling: Pooling;
  backend: string;
  features: (input: tf.Tensor4D) => tf.Tensor;
  dispose: () => void;
}

function makeExtractor(parts: ExtractorParts): FeatureExtractor {
  const dim = pooledDim(parts.featureShape, parts.pooling);
  const [height, width] = parts.inputSize;
  let disposed = false;
  return {
    id: parts.id,
    inputSize: parts.inputSize,
    preprocessing: parts.preprocessing,
    featureShape: parts.featureShape,
    pooling: parts.pooling,
    dim,
    backend: parts.backend,
    async extract(batch) {
      if (disposed) throw new Error(`feature extractor ${parts.id} is disposed`);
      const ownInput = !(batch instanceof tf.Tensor);
      if (ownInput) {
        batch.forEach((image, i) => {
          if (image.width !== width || image.height !== height) {
            throw new Error(`image ${i} is ${image.width}x${image.height}; ${parts.id} needs ${width}x${height} (decode with size [${height}, ${width}])`);
          }
        });
      }
      const input = ownInput ? preprocessBatch(batch, parts.preprocessing) : batch;
      try {
        const [n, h, w, c] = input.shape;
        if (h !== height || w !== width || c !== 3) {
          throw new Error(`input batch is [${input.shape.join(',')}]; ${parts.id} needs [N,${height},${width},3]`);
        }
        const pooled = tf.tidy(() => poolFeatures(parts.features(input), parts.pooling));
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
      parts.dispose();
    },
  };
}
