import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ConflictException, Inject, Injectable, NotFoundException, OnApplicationShutdown } from '@nestjs/common';
import { DataRoots, parseRootRef, resolveRootRef } from '@featx/datasets';
import { RunsRepository } from '@featx/db';
import { readNpy } from '@featx/features';
import { loadTrainedHead, TrainableHead } from '@featx/learning';
import { CONFIG, DATA_ROOTS, FeatxConfig, JsonLogger, LOGGER } from '@featx/runtime';
import { FeatureExtractor, selectBackend } from '@featx/vision';
import { createEngineFeatureExtractor } from '@featx/onnx';
import { EngineChoice, Pooling } from '@featx/contracts';

/** featx-head.json, written by the trainer beside the exported head. */
export interface TrainedHeadMetadata {
  runId: string;
  featureSetId: string;
  /** engine: absent in heads trained before the onnx engine existed (their features came from tfjs). */
  network: { model: string; layer: string | null; pooling: string; dtype: string; dim: number; engine?: EngineChoice };
  classes: string[];
  standardization: { mean: string; std: string } | null;
}

export interface TrainedModel {
  metadata: TrainedHeadMetadata;
  network: FeatureExtractor;
  head: Pick<TrainableHead, 'predictProba' | 'dispose'>;
  standardization: { mean: Float32Array; std: Float32Array } | null;
}

/** Models kept loaded: a network plus a head each. */
const MAX_LOADED = 2;

/**
 * A succeeded run as a whole classifier: the feature set's network (same layer, pooling and
 * preprocessing as at extraction) followed by the run's head, loaded once and reused.
 */
@Injectable()
export class TrainedModelsService implements OnApplicationShutdown {
  private readonly loaded = new Map<string, Promise<TrainedModel>>();

  constructor(
    private readonly runs: RunsRepository,
    @Inject(DATA_ROOTS) private readonly roots: DataRoots,
    @Inject(CONFIG) private readonly config: FeatxConfig,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async get(runId: string): Promise<TrainedModel> {
    const run = await this.runs.get(runId);
    if (!run) throw new NotFoundException(`run ${runId} not found`);
    if (run.status !== 'succeeded') throw new ConflictException(`run ${runId} is ${run.status}: only a succeeded run can predict`);
    let model = this.loaded.get(runId);
    if (!model) {
      model = this.load(path.join(this.config.training.artifactsDir, run.artifactsPath ?? run.id, 'model'));
      model.catch(() => this.loaded.delete(runId));
      this.loaded.set(runId, model);
      while (this.loaded.size > MAX_LOADED) {
        const [oldest, evicted] = this.loaded.entries().next().value as [string, Promise<TrainedModel>];
        this.loaded.delete(oldest);
        void evicted.then(dispose, () => undefined);
      }
    }
    return model;
  }

  async onApplicationShutdown(): Promise<void> {
    for (const model of this.loaded.values()) await model.then(dispose, () => undefined);
    this.loaded.clear();
  }

  private async load(dir: string): Promise<TrainedModel> {
    // The head is built as TF.js layers: the backend must be ready before anything else.
    await selectBackend(this.config.vision.backend, { log: (line) => this.logger.info(line) });
    const metadata = JSON.parse(await fs.readFile(path.join(dir, 'featx-head.json'), 'utf8')) as TrainedHeadMetadata;
    const head = await loadTrainedHead(dir);
    const { model, layer, pooling, engine } = metadata.network;
    const modelPath = model === 'resnet50' ? 'resnet50' : (await resolveRootRef(this.roots, parseRootRef(model))).absolutePath;
    // The feature set's engine: the same network on another engine differs in the last bits only, but is not what was trained on.
    const network = await createEngineFeatureExtractor({
      model: modelPath,
      layer: layer ?? undefined,
      pooling: pooling as Pooling,
      engine: engine ?? 'tfjs',
      onnx: this.config.vision.onnx,
      backend: this.config.vision.backend,
      weightsCacheDir: this.config.vision.weightsDir,
      download: this.config.vision.weightsDownload,
      log: (line) => this.logger.info(line),
    });
    const standardization = metadata.standardization
      ? {
          mean: (await readNpy(path.join(dir, metadata.standardization.mean))).data as Float32Array,
          std: (await readNpy(path.join(dir, metadata.standardization.std))).data as Float32Array,
        }
      : null;
    this.logger.info('trained model loaded', { runId: metadata.runId, network: network.id, classes: metadata.classes.length });
    return { metadata, network, head, standardization };
  }
}

function dispose(model: TrainedModel): void {
  model.network.dispose();
  model.head.dispose();
}
