import { promises as fs } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { BusClient } from '@featx/bus';
import { extractFeaturesCommand, ExtractFeaturesOptions, extractOptionsConflict, FeatureFailure, FeatureSetDetails, FeatureSetStoreView, FeatureSetSummary, FeatureShardSummary, FeatureVectorLocation, ListPage, QueuedCommand } from '@featx/contracts';
import { DataRoots, DatasetInputError } from '@featx/datasets';
import { CommandsRepository, DatasetsRepository, FeatureSetRow, FeatureSetsRepository, FeatureShardRow, PageRequest } from '@featx/db';
import { CONFIG, DATA_ROOTS, FeatxConfig, JsonLogger, LOGGER } from '@featx/runtime';
import { foundOrThrow } from '../common/not-found';
import { rowView } from '../common/row-view';
import { FieldError, invalidFields } from '../common/zod-body.pipe';
import { FeatureStoresService } from '../feature-stores/feature-stores.service';
import { ExportQuery, FeatureSetExport, FeatureSetExporter } from './feature-export.service';
import { featureSetProgress } from './progress';

/** The built-in network; any other `model` is a TF.js model folder inside the data roots. */
export const BUILTIN_MODEL = 'resnet50';

@Injectable()
export class FeatureSetsService {
  private readonly exporter: FeatureSetExporter;

  constructor(
    private readonly featureSets: FeatureSetsRepository,
    private readonly datasets: DatasetsRepository,
    private readonly commands: CommandsRepository,
    private readonly client: BusClient,
    @Inject(DATA_ROOTS) private readonly roots: DataRoots,
    private readonly stores: FeatureStoresService,
    @Inject(CONFIG) config: FeatxConfig,
    @Inject(LOGGER) logger: JsonLogger,
  ) {
    // Rows come from the feature stores over the bus: the API reads no features dir.
    this.exporter = new FeatureSetExporter(featureSets, stores, client, { readTimeoutMs: config.features.readTimeoutMs, storeWaitMs: config.features.exportWaitMs }, logger.child('feature-export'));
  }

  /**
   * Checks the dataset exists and a model folder lies inside the data roots (so a bad request is a
   * 400 here, with nothing written), then records and publishes the command with the folder as its
   * real absolute path; the feature-store service creates (or resumes) the set and plans the work.
   */
  async extract(options: ExtractFeaturesOptions): Promise<QueuedCommand> {
    const errors: FieldError[] = [];
    if (!(await this.datasets.get(options.datasetId))) {
      errors.push({ field: 'datasetId', message: `dataset ${options.datasetId} does not exist` });
    }
    const conflict = extractOptionsConflict(options);
    if (conflict) errors.push(conflict);
    let model = options.model;
    if (model !== BUILTIN_MODEL) {
      try {
        const resolved = await this.roots.resolve(model);
        if (!(await fs.stat(resolved.absolutePath)).isDirectory()) {
          errors.push({ field: 'model', message: `"${model}" is not a folder: expected ${BUILTIN_MODEL} or a TF.js model folder` });
        }
        model = resolved.absolutePath;
      } catch (error) {
        if (!(error instanceof DatasetInputError)) throw error;
        errors.push({ field: 'model', message: `${error.message}; expected ${BUILTIN_MODEL} or a TF.js model folder` });
      }
    }
    if (errors.length > 0) throw invalidFields(errors);
    const command = { ...options, model };
    const id = randomUUID();
    await this.commands.insertQueued(id, extractFeaturesCommand.name, command);
    await this.client.dispatch(extractFeaturesCommand, { v: 1, id, ...command }, { msgId: id });
    return { commandId: id, type: extractFeaturesCommand.name, status: 'queued' };
  }

  async list(page: PageRequest, datasetId?: string): Promise<ListPage<FeatureSetSummary>> {
    const now = new Date();
    const { items, next } = await this.featureSets.list(page, datasetId);
    return { items: items.map((row) => summarize(row, now)), next };
  }

  async get(id: string): Promise<FeatureSetDetails> {
    const set = await this.require(id);
    const [dataset, shards] = await Promise.all([this.featureSets.datasetOf(set), this.featureSets.shards(id)]);
    return { ...summarize(set, new Date()), datasetName: dataset?.name ?? null, stores: await this.byStore(shards) };
  }

  async shards(id: string, page: PageRequest): Promise<ListPage<FeatureShardSummary>> {
    await this.require(id);
    const { items, next } = await this.featureSets.shardsPage(id, page);
    return { items: items.map(shardSummary), next };
  }

  async failures(id: string, page: PageRequest): Promise<ListPage<FeatureFailure>> {
    await this.require(id);
    const { items, next } = await this.featureSets.failures(id, page);
    return { items: items.map((failure) => rowView(failure, ['imageId', 'path', 'reason', 'at'])), next };
  }

  async vectors(id: string, page: PageRequest): Promise<ListPage<FeatureVectorLocation>> {
    await this.require(id);
    return this.featureSets.vectorsPage(id, page);
  }

  /** A split's shards as one CSV or `.npy` file, checked and ready to stream (see FeatureSetExporter). */
  export(id: string, query: ExportQuery): Promise<FeatureSetExport> {
    return this.exporter.prepare(id, query);
  }

  sendExport(response: ServerResponse, exported: FeatureSetExport): Promise<void> {
    return this.exporter.send(response, exported);
  }

  /** The shards grouped by the store that holds them (stores in id order), with each store's state. */
  private async byStore(shards: FeatureShardRow[]): Promise<FeatureSetStoreView[]> {
    const statuses = await this.stores.statuses(shards.map((shard) => shard.writer));
    return [...statuses.values()]
      .sort((a, b) => a.store.localeCompare(b.store))
      .map((status) => {
        const held = shards.filter((shard) => shard.writer === status.store);
        return {
          ...status,
          shards: held.map((shard) => ({ id: shard.id, split: shard.split, augment: shard.augment, index: shard.index, rows: shard.rows, status: shard.status })),
          rows: held.reduce((sum, shard) => sum + shard.rows, 0),
        };
      });
  }

  private async require(id: string): Promise<FeatureSetRow> {
    return foundOrThrow(await this.featureSets.get(id), 'feature set', id);
  }
}

function summarize(row: FeatureSetRow, now: Date): FeatureSetSummary {
  const columns = rowView(row, ['id', 'datasetId', 'model', 'layer', 'pooling', 'dtype', 'engine', 'precision', 'augment', 'quantization', 'dim', 'status', 'error', 'images', 'stored', 'failed', 'augmented', 'doneAtStart', 'createdAt', 'startedAt', 'finishedAt']);
  return { ...columns, progress: featureSetProgress(row, now) };
}

function shardSummary(row: FeatureShardRow): FeatureShardSummary {
  return rowView(row, ['id', 'split', 'augment', 'index', 'path', 'rows', 'bytes', 'checksum', 'status', 'writer', 'createdAt', 'updatedAt']);
}
