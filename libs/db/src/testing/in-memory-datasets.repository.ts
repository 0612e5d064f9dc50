import { createHash, randomUUID } from 'node:crypto';
import type { DatasetRow, DatasetsRepository, ImageFilter, ImageRow, ImageUpsert, KnownImage, NewDataset, SplitClassCount } from '../repositories/datasets.repository';
import type { Page, PageRequest } from '../repositories/keyset-page';
import { inMemoryPage } from './in-memory-page';

type Split = NonNullable<ImageRow['split']>;

/** Datasets and their images in memory, with the same rules as the Postgres repository. */
export class InMemoryDatasetsRepository implements Pick<DatasetsRepository, keyof DatasetsRepository> {
  readonly datasets = new Map<string, DatasetRow>();
  readonly images: ImageRow[] = [];
  private nextImageId = 1;

  /** A ready dataset with these images, for tests that start after registration. */
  addReady(dataset: Partial<DatasetRow> & Pick<DatasetRow, 'classes'>, images: Array<{ path: string; label: string; split: Split | null }> = []): DatasetRow {
    const row: DatasetRow = {
      id: randomUUID(),
      name: 'photos',
      root: 'data',
      path: 'photos',
      layout: 'split-class',
      splitSeed: null,
      splitRatios: null,
      status: 'ready',
      error: null,
      imageCount: images.length,
      createdAt: new Date(),
      updatedAt: new Date(),
      scannedAt: new Date(),
      ...dataset,
    };
    this.datasets.set(row.id, row);
    for (const image of images) this.insertImage(row.id, { ...image, bytes: 1, mtimeMs: 0, sha256: '' }, new Date());
    return row;
  }

  async upsert(dataset: NewDataset): Promise<DatasetRow> {
    const existing = [...this.datasets.values()].find((d) => d.root === dataset.root && d.path === dataset.path);
    const row: DatasetRow = {
      id: existing?.id ?? randomUUID(),
      imageCount: existing?.imageCount ?? 0,
      createdAt: existing?.createdAt ?? new Date(),
      scannedAt: existing?.scannedAt ?? null,
      ...dataset,
      classes: dataset.classes ?? [],
      splitSeed: dataset.splitSeed ?? null,
      splitRatios: dataset.splitRatios ?? null,
      status: 'registering',
      error: null,
      updatedAt: new Date(),
    };
    this.datasets.set(row.id, row);
    return row;
  }

  async get(id: string): Promise<DatasetRow | undefined> {
    return this.datasets.get(id);
  }

  async list(page: PageRequest): Promise<Page<DatasetRow>> {
    return inMemoryPage([...this.datasets.values()].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()), page, (row) => row.id);
  }

  async imagesPage(datasetId: string, page: PageRequest, filter?: ImageFilter): Promise<Page<ImageRow>> {
    const matches = (image: ImageRow) => filter === undefined || (filter === 'changed' ? image.changedAt !== null : image.status === filter);
    const rows = this.images.filter((image) => image.datasetId === datasetId && matches(image));
    return inMemoryPage(rows.sort((a, b) => a.id - b.id), page, (row) => row.id);
  }

  async image(id: number): Promise<(ImageRow & { root: string }) | undefined> {
    const image = this.images.find((row) => row.id === id);
    return image && { ...image, root: this.datasets.get(image.datasetId)!.root };
  }

  async finish(id: string, update: { status: 'ready' | 'failed'; error?: string; scannedAt?: Date; classes?: string[] }): Promise<void> {
    const row = this.datasets.get(id);
    if (!row) return;
    this.datasets.set(id, {
      ...row,
      status: update.status,
      error: update.error ?? null,
      scannedAt: update.scannedAt ?? row.scannedAt,
      classes: update.classes ?? row.classes,
      imageCount: this.present(id).length,
      updatedAt: new Date(),
    });
  }

  async knownImages(datasetId: string, paths: string[]): Promise<Map<string, KnownImage>> {
    const wanted = new Set(paths);
    return new Map(
      this.images
        .filter((i) => i.datasetId === datasetId && wanted.has(i.path))
        .map((i) => [i.path, { id: i.id, path: i.path, bytes: i.bytes, mtimeMs: i.mtimeMs, sha256: i.sha256, label: i.label, split: i.split, status: i.status }]),
    );
  }

  async upsertImages(datasetId: string, rows: ImageUpsert[], seenAt: Date, keepSplit: boolean): Promise<void> {
    for (const row of rows) {
      const existing = this.images.find((i) => i.datasetId === datasetId && i.path === row.path);
      if (!existing) {
        this.insertImage(datasetId, row, seenAt);
        continue;
      }
      const split = keepSplit ? existing.split : row.split;
      const changed = existing.sha256 !== row.sha256 || existing.label !== row.label || existing.split !== split;
      Object.assign(existing, { ...row, split, status: 'present', error: null, seenAt, updatedAt: new Date(), changedAt: changed ? new Date() : existing.changedAt });
    }
  }

  async sampleImages(datasetId: string, split: Split, count: number): Promise<Array<Pick<ImageRow, 'id' | 'path' | 'label'>>> {
    const md5 = (id: number) => createHash('md5').update(String(id)).digest('hex');
    return this.images
      .filter((i) => i.datasetId === datasetId && i.status === 'present' && i.split === split)
      .sort((a, b) => md5(a.id).localeCompare(md5(b.id)))
      .slice(0, count)
      .map((i) => ({ id: i.id, path: i.path, label: i.label }));
  }

  async touchImages(ids: number[], seenAt: Date): Promise<void> {
    const touched = new Set(ids);
    for (const image of this.images) if (touched.has(image.id)) image.seenAt = seenAt;
  }

  async markUnseenMissing(datasetId: string, scanStartedAt: Date): Promise<number> {
    const gone = this.images.filter((i) => i.datasetId === datasetId && i.seenAt < scanStartedAt && i.status !== 'missing');
    for (const image of gone) Object.assign(image, { status: 'missing', updatedAt: new Date() });
    return gone.length;
  }

  /** The repository's split: per class, images ordered by md5(seed:path), cut at the ratios. */
  async assignStratifiedSplits(datasetId: string, seed: number, ratios: { training: number; validation: number }): Promise<number> {
    const byLabel = new Map<string, ImageRow[]>();
    for (const image of this.present(datasetId)) byLabel.set(image.label, [...(byLabel.get(image.label) ?? []), image]);
    let changed = 0;
    for (const images of byLabel.values()) {
      const md5 = (image: ImageRow) => createHash('md5').update(`${seed}:${image.path}`).digest('hex');
      images.sort((a, b) => (md5(a) < md5(b) ? -1 : md5(a) > md5(b) ? 1 : 0));
      images.forEach((image, rank) => {
        const split: Split =
          rank < roundHalfEven(images.length * ratios.training) ? 'training' : rank < roundHalfEven(images.length * (ratios.training + ratios.validation)) ? 'validation' : 'evaluation';
        if (image.split !== split) changed += 1;
        image.split = split;
      });
    }
    return changed;
  }

  async countsBySplitAndClass(datasetId: string): Promise<SplitClassCount[]> {
    const counts = new Map<string, SplitClassCount>();
    for (const { split, label } of this.present(datasetId)) {
      const key = `${split}\u0000${label}`;
      counts.set(key, { split, label, count: (counts.get(key)?.count ?? 0) + 1 });
    }
    return [...counts.values()].sort((a, b) => `${a.split}`.localeCompare(`${b.split}`) || a.label.localeCompare(b.label));
  }

  async sampleImagesByClass(datasetId: string, split: Split, count: number): Promise<Array<{ path: string; label: string }>> {
    const nth = new Map<string, number>();
    const ranked = this.present(datasetId)
      .filter((i) => i.split === split)
      .sort((a, b) => a.path.localeCompare(b.path))
      .map((i) => {
        const n = (nth.get(i.label) ?? 0) + 1;
        nth.set(i.label, n);
        return { path: i.path, label: i.label, n };
      });
    return ranked
      .sort((a, b) => a.n - b.n || a.label.localeCompare(b.label))
      .slice(0, count)
      .map(({ path, label }) => ({ path, label }));
  }

  private present(datasetId: string): ImageRow[] {
    return this.images.filter((i) => i.datasetId === datasetId && i.status === 'present');
  }

  private insertImage(datasetId: string, row: ImageUpsert, seenAt: Date): void {
    this.images.push({ ...row, id: this.nextImageId++, datasetId, status: 'present', error: null, createdAt: new Date(), updatedAt: new Date(), seenAt, changedAt: null });
  }
}

/** Postgres' round() of a float8 (rint): halves go to the even neighbour. */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}
