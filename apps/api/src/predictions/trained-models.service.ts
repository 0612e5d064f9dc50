import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConflictException, Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ArtifactRecord, ArtifactStore, artifactsInFolder, ArtifactUnavailableError } from '@featx/bus';
import { DataRoots, parseRootRef, resolveRootRef } from '@featx/datasets';
import { FeatureSetsRepository, RunRow, RunsRepository } from '@featx/db';
import { loadTrainedModel, TrainedModel } from '@featx/learning';
import { CONFIG, DATA_ROOTS, FeatxConfig, JsonLogger, LOGGER } from '@featx/runtime';
import { FeatureExtractor, selectBackend } from '@featx/vision';
import { createEngineFeatureExtractor, int8OptionsFromPlan, QuantizationMismatchError, QuantizationParityError } from '@featx/onnx';
import { foundOrThrow } from '../common/not-found';

/** A run's trained model with the network that makes its features: images in, class probabilities out. */
export interface Classifier extends TrainedModel {
  network: FeatureExtractor;
}

/** Models kept loaded: a network plus a head each. */
const MAX_LOADED = 2;

/** The folder of a run's published objects that holds its model (the trainer's RunPublication). */
const MODEL_FOLDER = 'model';

/**
 * A succeeded run as a whole classifier: the feature set's network (same layer, pooling and
 * preprocessing as at extraction) followed by the run's head, loaded once and reused. The head
 * comes from the artifacts bucket over NATS, as its trainer published it: the API reads no
 * trainer's disk, so it may run on any host.
 */
@Injectable()
export class TrainedModelsService implements OnApplicationShutdown {
  private readonly loaded = new Map<string, Promise<Classifier>>();

  constructor(
    private readonly runs: RunsRepository,
    private readonly featureSets: FeatureSetsRepository,
    private readonly artifacts: ArtifactStore,
    @Inject(DATA_ROOTS) private readonly roots: DataRoots,
    @Inject(CONFIG) private readonly config: FeatxConfig,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async get(runId: string): Promise<Classifier> {
    const run = foundOrThrow(await this.runs.get(runId), 'run', runId);
    if (run.status !== 'succeeded') throw new ConflictException(`run ${runId} is ${run.status}: only a succeeded run can predict`);
    let model = this.loaded.get(runId);
    if (!model) {
      model = this.load(run);
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

  private async load(run: RunRow): Promise<Classifier> {
    const published = artifactsInFolder(run.publishedArtifacts ?? [], MODEL_FOLDER);
    if (published.length === 0) {
      throw new ConflictException(
        `run ${run.id} was trained before trained models were published to NATS: its model is only on its trainer's disk; retrain it (featx train ${run.featureSetId})`,
      );
    }
    // The head is built as TF.js layers: the backend must be ready before anything else.
    await selectBackend(this.config.vision.backend, { log: (line) => this.logger.info(line) });
    const trained = await this.download(run.id, published);
    try {
      const { model, layer, pooling, engine, precision, int8 } = trained.manifest.network;
      if (!precision && (await this.featureSets.get(run.featureSetId))?.precision === 'int8') {
        throw new ConflictException(`run ${run.id} was trained on int8 features before trained models recorded their int8 network: retrain it (featx train ${run.featureSetId})`);
      }
      const modelPath = model === 'resnet50' ? 'resnet50' : (await resolveRootRef(this.roots, parseRootRef(model))).absolutePath;
      // The feature set's engine and precision: the same network on another engine differs in the last bits only, in int8 by
      // more, and neither is what was trained on. The int8 model is the extractors' by its content key: from this host's
      // cache, else quantized again on the set's own calibration photos, and refused if that does not give the same key.
      const network = await createEngineFeatureExtractor({
        model: modelPath,
        layer: layer ?? undefined,
        pooling,
        engine,
        precision: precision ?? 'fp32',
        int8: int8
          ? int8OptionsFromPlan(int8, {
              resolve: async (ref) => (await resolveRootRef(this.roots, ref)).absolutePath,
              onUnreadable: (ref, reason) => this.logger.warn('int8 calibration image unreadable', { runId: run.id, ...ref, reason }),
            })
          : undefined,
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
      trained.members.forEach((member) => member.head.dispose());
      if (error instanceof QuantizationMismatchError || error instanceof QuantizationParityError) throw new ConflictException(`run ${run.id} cannot predict: ${error.message}`);
      throw error;
    }
  }

  /** The published model folder, fetched into a temporary folder of this host, loaded, and the folder removed. */
  private async download(runId: string, published: ArtifactRecord[]): Promise<TrainedModel> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'featx-model-'));
    try {
      await this.artifacts.getFolder(runId, MODEL_FOLDER, published, dir).catch((error: Error) => {
        throw error instanceof ArtifactUnavailableError ? new ConflictException(`run ${runId} cannot predict: ${error.message}`) : error;
      });
      return await loadTrainedModel(dir);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }
}

function dispose(model: Classifier): void {
  model.network.dispose();
  model.head.dispose();
  model.members.forEach((member) => member.head.dispose());
}
