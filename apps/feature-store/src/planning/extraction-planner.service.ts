import { Inject, Injectable } from '@nestjs/common';
import { BusClient } from '@featx/bus';
import { ExtractFeaturesOptions, extractWorkItem, ImageRef } from '@featx/contracts';
import { DataRoots, DatasetInputError, formatRootRef, rootRefOf } from '@featx/datasets';
import { DatasetsRepository, FeatureSetRow, FeatureSetsRepository, PendingImage } from '@featx/db';
import { DATA_ROOTS, JsonLogger, LOGGER } from '@featx/runtime';

/** Images read from Postgres per page while planning (a window of ids): bounded memory and time per page for any dataset size. */
const PAGE_SIZE = 2000;

export interface ExtractionPlan {
  featureSetId: string;
  images: number;
  alreadyDone: number;
  pending: number;
  workItems: number;
  status: FeatureSetRow['status'];
}

/**
 * Turns `features.extract` into a feature set and its work: one work item per `batchSize`
 * images that have neither a vector nor a recorded failure, so running it again for an
 * interrupted set only does the missing images.
 */
@Injectable()
export class ExtractionPlanner {
  constructor(
    private readonly datasets: DatasetsRepository,
    private readonly featureSets: FeatureSetsRepository,
    @Inject(DATA_ROOTS) private readonly roots: DataRoots,
    private readonly client: BusClient,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async plan(options: ExtractFeaturesOptions, onProgress: () => void): Promise<ExtractionPlan> {
    const dataset = await this.datasets.get(options.datasetId);
    if (!dataset) throw new DatasetInputError(`dataset ${options.datasetId} does not exist`);
    if (dataset.status !== 'ready') throw new DatasetInputError(`dataset ${dataset.name} is ${dataset.status}, not ready`);
    const model = options.model === 'resnet50' ? 'resnet50' : formatRootRef(rootRefOf(await this.roots.resolve(options.model)));
    const set = await this.featureSets.start({
      datasetId: dataset.id,
      model,
      layer: options.layer ?? '',
      pooling: options.pooling,
      dtype: options.dtype,
      engine: options.engine,
      spec: { classes: dataset.classes, batchSize: options.batchSize },
    });

    const classIndex = new Map(dataset.classes.map((name, i) => [name, i]));
    let afterId = 0;
    let pending = 0;
    let workItems = 0;
    let batch: PendingImage[] = [];
    const dispatch = async () => {
      if (batch.length === 0) return;
      const items: ImageRef[] = batch.map((image) => {
        const label = classIndex.get(image.label);
        if (label === undefined) throw new Error(`image ${image.id} has label "${image.label}", not among the dataset's classes`);
        return { imageId: image.id, root: dataset.root, path: image.path, label, split: image.split };
      });
      // The id names exactly these images: a re-plan within the dedupe window publishes nothing twice.
      const workId = `${set.id}:${batch[0].id}-${batch[batch.length - 1].id}`;
      await this.client.dispatch(extractWorkItem, { v: 1, featureSetId: set.id, workId, items }, { msgId: workId });
      pending += batch.length;
      workItems += 1;
      batch = [];
    };
    for (;;) {
      const page = await this.featureSets.pendingImages(set, afterId, PAGE_SIZE);
      if (page.scannedTo === null) break;
      afterId = page.scannedTo;
      for (const image of page.images) {
        batch.push(image);
        if (batch.length >= options.batchSize) await dispatch();
      }
      onProgress();
    }
    await dispatch();
    const plan = { featureSetId: set.id, images: set.images, alreadyDone: set.stored + set.failed, pending, workItems, status: set.status };
    this.logger.info('extraction planned', { ...plan, model, pooling: options.pooling, dtype: options.dtype, engine: options.engine });
    return plan;
  }
}
