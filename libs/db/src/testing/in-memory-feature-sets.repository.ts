import { randomUUID } from 'node:crypto';
import type { FeatureSetRow, FeatureSetsRepository, FeatureShardRow, NewFeatureSet, PendingImage } from '../repositories/feature-sets.repository';
import type { InMemoryDatasetsRepository } from './in-memory-datasets.repository';
import type { Page, PageRequest } from '../repositories/keyset-page';
import { inMemoryPage } from './in-memory-page';

type Used = 'start' | 'pendingImages' | 'get' | 'list' | 'datasetOf' | 'shards' | 'shardsPage' | 'failures';

/**
 * Feature sets over an in-memory dataset repository: planning and reading. Stored vectors and
 * failures are ids only (`storeVectors`, `recordFailure`); appending to shards is not modelled.
 */
export class InMemoryFeatureSetsRepository implements Pick<FeatureSetsRepository, Used> {
  readonly sets = new Map<string, FeatureSetRow>();
  readonly shardRows: FeatureShardRow[] = [];
  private readonly vectors = new Map<string, Set<number>>();
  private readonly failed = new Map<string, Map<number, { reason: string; at: Date }>>();

  constructor(private readonly datasets: InMemoryDatasetsRepository) {}

  /** Images that already have a vector in the set (an interrupted extraction). */
  storeVectors(featureSetId: string, imageIds: number[]): void {
    const stored = this.vectors.get(featureSetId) ?? new Set();
    for (const id of imageIds) stored.add(id);
    this.vectors.set(featureSetId, stored);
  }

  recordFailure(featureSetId: string, imageId: number, reason: string): void {
    const failures = this.failed.get(featureSetId) ?? new Map();
    failures.set(imageId, { reason, at: new Date() });
    this.failed.set(featureSetId, failures);
  }

  /** A set as a test wants it (complete, running, ...), without planning it. */
  add(set: Partial<FeatureSetRow> & Pick<FeatureSetRow, 'datasetId'>): FeatureSetRow {
    const row: FeatureSetRow = {
      id: randomUUID(),
      model: 'resnet50',
      layer: '',
      pooling: 'avg',
      dtype: 'float32',
      engine: 'auto',
      precision: 'fp32',
      augment: 'none',
      quantization: null,
      dim: null,
      spec: {},
      status: 'running',
      images: 0,
      stored: 0,
      failed: 0,
      augmented: 0,
      doneAtStart: 0,
      error: null,
      createdAt: new Date(),
      startedAt: new Date(),
      finishedAt: null,
      ...set,
    };
    this.sets.set(row.id, row);
    return row;
  }

  async start(set: NewFeatureSet): Promise<FeatureSetRow> {
    const same = (row: FeatureSetRow) =>
      row.datasetId === set.datasetId && row.model === set.model && row.layer === (set.layer ?? '') && row.pooling === set.pooling && row.dtype === set.dtype && row.engine === (set.engine ?? 'auto') && row.precision === (set.precision ?? 'fp32') && row.augment === (set.augment ?? 'none');
    const row = [...this.sets.values()].find(same) ?? this.add({ ...set, layer: set.layer ?? '', engine: set.engine ?? 'auto', precision: set.precision ?? 'fp32', augment: set.augment ?? 'none' });
    const images = this.datasets.images.filter((i) => i.datasetId === set.datasetId && i.status === 'present' && i.split !== null).length;
    const stored = this.vectors.get(row.id)?.size ?? 0;
    const failed = this.failed.get(row.id)?.size ?? 0;
    const complete = stored + failed >= images;
    const started: FeatureSetRow = {
      ...row,
      spec: set.spec,
      images,
      stored,
      failed,
      doneAtStart: stored + failed,
      status: complete ? 'complete' : 'running',
      error: null,
      startedAt: new Date(),
      finishedAt: complete ? new Date() : null,
    };
    this.sets.set(row.id, started);
    return started;
  }

  async pendingImages(set: Pick<FeatureSetRow, 'id' | 'datasetId'>, afterId: number, window: number): Promise<{ images: PendingImage[]; scannedTo: number | null }> {
    const stored = this.vectors.get(set.id) ?? new Set();
    const failed = this.failed.get(set.id) ?? new Map();
    const scanned = this.datasets.images
      .filter((i) => i.datasetId === set.datasetId && i.id > afterId)
      .sort((a, b) => a.id - b.id)
      .slice(0, window);
    const images = scanned
      .filter((i) => i.status === 'present' && i.split !== null && !stored.has(i.id) && !failed.has(i.id))
      .map((i) => ({ id: i.id, path: i.path, label: i.label, split: i.split! }));
    return { images, scannedTo: scanned.length === 0 ? null : scanned[scanned.length - 1]!.id };
  }


  async get(id: string): Promise<FeatureSetRow | undefined> {
    return this.sets.get(id);
  }

  async list(page: PageRequest, datasetId?: string): Promise<Page<FeatureSetRow>> {
    return inMemoryPage([...this.sets.values()].filter((s) => datasetId === undefined || s.datasetId === datasetId), page, (row) => row.id);
  }

  async datasetOf(set: Pick<FeatureSetRow, 'datasetId'>) {
    return (await this.datasets.get(set.datasetId))!;
  }

  async shards(featureSetId: string, split?: string, options: { augmented: boolean } = { augmented: true }): Promise<FeatureShardRow[]> {
    return this.shardRows.filter((s) => s.featureSetId === featureSetId && (split === undefined || s.split === split) && (options.augmented || s.augment === 'none'));
  }

  async shardsPage(featureSetId: string, page: PageRequest): Promise<Page<FeatureShardRow>> {
    const ordered = (await this.shards(featureSetId)).sort((a, b) => a.split.localeCompare(b.split) || a.index - b.index);
    return inMemoryPage(ordered, page, (row) => row.id);
  }

  async failures(featureSetId: string, page: PageRequest) {
    const paths = new Map(this.datasets.images.map((i) => [i.id, i.path]));
    const ordered = [...(this.failed.get(featureSetId) ?? new Map<number, { reason: string; at: Date }>())]
      .map(([imageId, { reason, at }]) => ({ imageId, path: paths.get(imageId)!, reason, at }))
      .sort((a, b) => a.imageId - b.imageId);
    return inMemoryPage(ordered, page, (row) => row.imageId);
  }
}
