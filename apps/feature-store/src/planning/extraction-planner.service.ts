import { Inject, Injectable } from '@nestjs/common';
import { BusClient } from '@featx/bus';
import { ExtractFeaturesOptions, extractOptionsConflict, extractWorkItem, ImageRef, INT8_DEFAULTS, Int8CalibrationPlan } from '@featx/contracts';
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
    const conflict = extractOptionsConflict(options);
    if (conflict) throw new DatasetInputError(`${conflict.field}: ${conflict.message}`);
    const model = options.model === 'resnet50' ? 'resnet50' : formatRootRef(rootRefOf(await this.roots.resolve(options.model)));
    const int8 = options.precision === 'int8' ? await this.int8Calibration(dataset, options) : undefined;
    const set = await this.featureSets.start({
      datasetId: dataset.id,
      model,
      layer: options.layer ?? '',
      pooling: options.pooling,
      dtype: options.dtype,
      engine: options.engine,
      precision: options.precision ?? 'fp32',
      augment: options.augment ?? 'none',
      spec: { classes: dataset.classes, batchSize: options.batchSize, ...(int8 ? { int8 } : {}) },
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
    this.logger.info('extraction planned', { ...plan, model, pooling: options.pooling, dtype: options.dtype, engine: options.engine, precision: options.precision, augment: options.augment });
    return plan;
  }

  /** Training-split images to calibrate int8 activations on, and others to check parity on. */
  private async int8Calibration(dataset: { id: string; name: string; root: string }, options: ExtractFeaturesOptions): Promise<Int8CalibrationPlan> {
    const { calibrationImages, parityImages, parityThreshold } = { ...INT8_DEFAULTS, ...definedOnly(options) };
    const wanted = calibrationImages + parityImages;
    const sample = await this.datasets.sampleImages(dataset.id, 'training', wanted);
    if (sample.length < 2) {
      throw new DatasetInputError(`precision int8 calibrates on the training split of dataset ${dataset.name}, which has ${sample.length} image(s); it needs at least 2`);
    }
    // A small training split is shared in the asked proportion; the two samples never overlap.
    const heldBack = Math.max(1, Math.round((sample.length * parityImages) / wanted));
    const ref = (image: { path: string }) => ({ root: dataset.root, path: image.path });
    return { calibration: sample.slice(0, sample.length - heldBack).map(ref), heldBack: sample.slice(sample.length - heldBack).map(ref), threshold: parityThreshold };
  }
}

function definedOnly(options: ExtractFeaturesOptions): Partial<typeof INT8_DEFAULTS> {
  const { calibrationImages, parityImages, parityThreshold } = options;
  return Object.fromEntries(Object.entries({ calibrationImages, parityImages, parityThreshold }).filter(([, v]) => v !== undefined));
}
