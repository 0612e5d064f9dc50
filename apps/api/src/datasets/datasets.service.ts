import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { BusClient } from '@featx/bus';
import { DatasetDetails, DatasetImage, DatasetSummary, ListPage, QueuedCommand, RegisterDatasetOptions, registerDatasetCommand } from '@featx/contracts';
import { DataRoots, DatasetInputError } from '@featx/datasets';
import { CommandsRepository, DatasetRow, DatasetsRepository, ImageFilter, PageRequest } from '@featx/db';
import { DATA_ROOTS } from '@featx/runtime';
import { foundOrThrow } from '../common/not-found';
import { rowView } from '../common/row-view';
import { invalidFields } from '../common/zod-body.pipe';

@Injectable()
export class DatasetsService {
  constructor(
    private readonly datasets: DatasetsRepository,
    private readonly commands: CommandsRepository,
    private readonly client: BusClient,
    @Inject(DATA_ROOTS) private readonly roots: DataRoots,
  ) {}

  /**
   * Checks the folder is inside the data roots (so a bad path is a 400 here, with nothing
   * written), then records and publishes the command; the ingest service does the work.
   */
  async register(options: RegisterDatasetOptions): Promise<QueuedCommand> {
    try {
      await this.roots.resolve(options.path);
    } catch (error) {
      if (error instanceof DatasetInputError) throw invalidFields([{ field: 'path', message: error.message }]);
      throw error;
    }
    const id = randomUUID();
    await this.commands.insertQueued(id, registerDatasetCommand.name, options);
    await this.client.dispatch(registerDatasetCommand, { v: 1, id, ...options }, { msgId: id });
    return { commandId: id, type: registerDatasetCommand.name, status: 'queued' };
  }

  async list(page: PageRequest): Promise<ListPage<DatasetSummary>> {
    const { items, next } = await this.datasets.list(page);
    return { items: items.map(summarize), next };
  }

  async images(id: string, page: PageRequest, filter?: ImageFilter): Promise<ListPage<DatasetImage>> {
    foundOrThrow(await this.datasets.get(id), 'dataset', id);
    const { items, next } = await this.datasets.imagesPage(id, page, filter);
    return { items: items.map((image) => rowView(image, ['id', 'split', 'label', 'path', 'bytes', 'sha256', 'status', 'error', 'createdAt', 'updatedAt', 'changedAt'])), next };
  }

  async get(id: string): Promise<DatasetDetails> {
    const dataset = foundOrThrow(await this.datasets.get(id), 'dataset', id);
    const counts = await this.datasets.countsBySplitAndClass(id);
    const bySplit: Record<string, number> = {};
    const byClass: Record<string, number> = {};
    const bySplitAndClass: Record<string, Record<string, number>> = {};
    for (const { split, label, count } of counts) {
      const s = split ?? 'unassigned';
      bySplit[s] = (bySplit[s] ?? 0) + count;
      byClass[label] = (byClass[label] ?? 0) + count;
      (bySplitAndClass[s] ??= {})[label] = count;
    }
    return { ...summarize(dataset), counts: { bySplit, byClass, bySplitAndClass } };
  }
}

function summarize(row: DatasetRow): DatasetSummary {
  return rowView(row, ['id', 'name', 'root', 'path', 'layout', 'classes', 'status', 'error', 'imageCount', 'splitSeed', 'splitRatios', 'createdAt', 'scannedAt']);
}
