import * as path from 'node:path';
import { ConflictException, Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { DataRoots, parseRootRef, resolveRootRef } from '@featx/datasets';
import { RunsRepository } from '@featx/db';
import { loadTrainedModel, TrainedModel } from '@featx/learning';
import { CONFIG, DATA_ROOTS, FeatxConfig, JsonLogger, LOGGER } from '@featx/runtime';
import { FeatureExtractor, selectBackend } from '@featx/vision';
import { createEngineFeatureExtractor } from '@featx/onnx';
import { foundOrThrow } from '../common/not-found';

/** A run's trained model with the network that makes its features: images in, class probabilities out. */
export interface Classifier extends TrainedModel {
  network: FeatureExtractor;
}

/** Models kept loaded: a network plus a head each. */
const MAX_LOADED = 2;

/**
 * A succeeded run as a whole classifier: the feature set's network (same layer, pooling and
 * preprocessing as at extraction) followed by the run's head, loaded once and reused.
 */
@Injectable()
export class TrainedModelsService implements OnApplicationShutdown {
  private readonly loaded = new Map<string, Promise<Classifier>>();

  constructor(
    private readonly runs: RunsRepository,
    @Inject(DATA_ROOTS) private readonly roots: DataRoots,
    @Inject(CONFIG) private readonly config: FeatxConfig,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async get(runId: string): Promise<Classifier> {
    const run = foundOrThrow(await this.runs.get(runId), 'run', runId);
    if (run.status !== 'succeeded') throw new ConflictException(`run ${runId} is ${run.status}: only a succeeded run can predict`);
    let model = this.loaded.get(runId);
    if (!model) {
      model = this.load(path.join(this.config.training.artifactsDir, run.artifactsPath ?? run.id, 'model'));
      model.catch(() => this.loaded.delete(runId));
      this.loaded.set(runId, model);
      while (this.loaded.size > MAX_LOADED) {
        const [oldest, evicted] = this.loaded.entries().next().value as [string, Promise<Classifier>];
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

  private async load(dir: string): Promise<Classifier> {
    // The head is built as TF.js layers: the backend must be ready before anything else.
    await selectBackend(this.config.vision.backend, { log: (line) => this.logger.info(line) });
    const trained = await loadTrainedModel(dir);
    try {
      const { model, layer, pooling, engine } = trained.manifest.network;
      const modelPath = model === 'resnet50' ? 'resnet50' : (await resolveRootRef(this.roots, parseRootRef(model))).absolutePath;
      // The feature set's engine: the same network on another engine differs in the last bits only, but is not what was trained on.
      const network = await createEngineFeatureExtractor({
        model: modelPath,
        layer: layer ?? undefined,
        pooling,
        engine,
        onnx: this.config.vision.onnx,
        backend: this.config.vision.backend,
        weightsCacheDir: this.config.vision.weightsDir,
        download: this.config.vision.weightsDownload,
        log: (line) => this.logger.info(line),
      });
      this.logger.info('trained model loaded', { runId: trained.manifest.runId, network: network.id, classes: trained.manifest.classes.length });
      return { ...trained, network };
    } catch (error) {
      trained.head.dispose();
      throw error;
    }
  }
}

function dispose(model: Classifier): void {
  model.network.dispose();
  model.head.dispose();
}
