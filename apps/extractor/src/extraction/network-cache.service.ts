import * as os from 'node:os';
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataRoots, parseRootRef, resolveRootRef } from '@featx/datasets';
import { FeatureSetRow } from '@featx/db';
import { Int8CalibrationPlan, Pooling } from '@featx/contracts';
import { createEngineFeatureExtractor, detectOnnxAvailable, EngineFeatureExtractor, int8OptionsFromPlan, onnxUnavailableReason } from '@featx/onnx';
import { DecodedImage } from '@featx/vision';
import { CONFIG, DATA_ROOTS, FeatxConfig, JsonLogger, LOGGER } from '@featx/runtime';

/** Networks kept loaded at once; loading ResNet-50 takes seconds, so sets in turn reuse it. */
const MAX_LOADED = 2;

type NetworkConfig = Pick<FeatureSetRow, 'id' | 'model' | 'layer' | 'pooling' | 'engine' | 'precision' | 'spec'>;

/**
 * The feature extractor of each feature set, loaded once per process and shared by its work items,
 * on the set's engine (`auto`: ONNX Runtime where it loads; a TF.js network is exported to ONNX
 * once, checked against TF.js on the first work item's images, and cached on disk).
 */
@Injectable()
export class NetworkCache implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly loaded = new Map<string, Promise<EngineFeatureExtractor>>();

  constructor(
    @Inject(DATA_ROOTS) private readonly roots: DataRoots,
    @Inject(CONFIG) private readonly config: FeatxConfig,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  /** Says at start which engines this replica has (each network's own choice is logged when it loads). */
  onApplicationBootstrap(): void {
    const { onnx } = this.config.vision;
    if (detectOnnxAvailable()) {
      this.logger.info('engines: onnx and tfjs; auto = onnx', {
        onnxProviders: onnx.executionProviders,
        onnxThreads: onnx.threads ?? os.availableParallelism(),
        onnxCacheDir: onnx.cacheDir,
      });
    } else {
      this.logger.warn('engines: tfjs only; auto = tfjs', { onnxUnavailable: onnxUnavailableReason() });
    }
  }

  /** `parityImages`: real images to check a fresh ONNX export on (decoded at the size asked for). */
  get(set: NetworkConfig, parityImages?: (inputSize: [number, number]) => Promise<readonly DecodedImage[]>): Promise<EngineFeatureExtractor> {
    // An int8 network is calibrated on its set's own dataset: one per set.
    const key = `${set.model}|${set.layer}|${set.pooling}|${set.engine}|${set.precision === 'int8' ? `int8:${set.id}` : 'fp32'}`;
    let extractor = this.loaded.get(key);
    if (!extractor) {
      extractor = this.load(set, parityImages);
      extractor.catch(() => this.loaded.delete(key));
      this.loaded.set(key, extractor);
      this.evict();
    }
    return extractor;
  }

  async onApplicationShutdown(): Promise<void> {
    for (const extractor of this.loaded.values()) (await extractor.catch(() => undefined))?.dispose();
    this.loaded.clear();
  }

  private async load(set: NetworkConfig, parityImages?: (inputSize: [number, number]) => Promise<readonly DecodedImage[]>): Promise<EngineFeatureExtractor> {
    const started = Date.now();
    const plan = set.spec['int8'] as Int8CalibrationPlan | undefined;
    if (set.precision === 'int8' && !plan) throw new Error(`feature set ${set.id} is int8 but its spec has no calibration plan (plan it again with featx extract)`);
    const model = set.model === 'resnet50' ? 'resnet50' : (await resolveRootRef(this.roots, parseRootRef(set.model))).absolutePath;
    const extractor = await createEngineFeatureExtractor({
      model,
      layer: set.layer || undefined,
      pooling: set.pooling as Pooling,
      engine: set.engine,
      onnx: this.config.vision.onnx,
      parityImages,
      precision: set.precision,
      int8:
        plan &&
        int8OptionsFromPlan(plan, {
          resolve: async (ref) => (await resolveRootRef(this.roots, ref)).absolutePath,
          // It fails in its own work item.
          onUnreadable: (ref, reason) => this.logger.warn('int8 calibration image left out', { ...ref, reason }),
        }),
      backend: this.config.vision.backend,
      weightsCacheDir: this.config.vision.weightsDir,
      download: this.config.vision.weightsDownload,
      log: (line) => this.logger.info(line),
    });
    this.logger.info('network loaded', {
      model: set.model,
      id: extractor.id,
      dim: extractor.dim,
      engine: extractor.engine,
      precision: set.precision,
      parity: extractor.quantization?.parity,
      backend: extractor.backend,
      batchSize: extractor.batchSize,
      ms: Date.now() - started,
    });
    return extractor;
  }

  private evict(): void {
    while (this.loaded.size > MAX_LOADED) {
      const [oldest, extractor] = this.loaded.entries().next().value as [string, Promise<EngineFeatureExtractor>];
      this.loaded.delete(oldest);
      void extractor.then((e) => e.dispose(), () => undefined);
    }
  }
}
