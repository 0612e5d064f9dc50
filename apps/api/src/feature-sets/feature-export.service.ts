import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ConflictException, InternalServerErrorException, ServiceUnavailableException } from '@nestjs/common';
import { z } from 'zod';
import { AUGMENTS, SPLITS, type Split } from '@featx/contracts';
import type { FeatureSetsRepository, FeatureShardRow } from '@featx/db';
import { csvOfRows, NPY_EXPORT_ARRAYS, planNpyRows, type RowsExportShape, type StoredRows } from '@featx/features';
import { rowsInOrder, ShardPart, ShardReadBus, ShardRows, ShardRowsClient, StoreUnavailableError, StoreWait } from '@featx/shard-reads';
import type { JsonLogger } from '@featx/runtime';
import { invalidFields } from '../common/zod-body.pipe';
import { foundOrThrow } from '../common/not-found';
import type { FeatureStoresService } from '../feature-stores/feature-stores.service';

/**
 * `GET /feature-sets/:id/export`: a split's shards as one file, streamed — the tutorial's CSV
 * (`label,v1,...,vD` per image) or one of the three arrays as a single `.npy`. Only the rows the
 * database records as committed (`feature_shards.rows`) are exported, so a set still being
 * extracted exports what is durably stored so far. The rows come over the bus from the feature
 * stores that hold the shards (never from a disk of the API's), several requests in flight,
 * written in shard order.
 */

const FORMATS = ['csv', 'npy'] as const;

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, {
    error: (issue) => (issue.input === undefined ? `required, one of ${values.join(', ')}` : `"${String(issue.input)}" is not one of ${values.join(', ')}`),
  });
}

/** The query of the export route; every problem is a 400 naming its field. */
export const exportQuerySchema = z
  .object({
    format: oneOf(FORMATS),
    split: oneOf(SPLITS),
    array: oneOf(NPY_EXPORT_ARRAYS).optional(),
    /**
     * Which rows: `none` (default) the images' own; `hflip` the split's augmented rows alone (an
     * hflip set's mirrored images), a file of their own so that no reader mixes them up.
     */
    augment: oneOf(AUGMENTS).optional(),
    snapshot: z
      .string({ error: 'give it once' })
      .max(100_000)
      .regex(/^\d+(\*\d+)?(,\d+(\*\d+)?)*$/, 'not a snapshot: use the X-Featx-Snapshot header of an earlier export')
      .optional(),
  })
  .superRefine((query, ctx) => {
    if (query.array !== undefined && query.format !== 'npy') ctx.addIssue({ code: 'custom', path: ['array'], message: 'only for format=npy' });
  });

export type ExportQuery = z.output<typeof exportQuerySchema>;

/** Response headers beside the body. */
export const EXPORT_HEADERS = {
  /** Rows in the file. */
  rows: 'x-featx-rows',
  /**
   * The committed rows of each of the split's shards that the file holds. Passed back as the
   * `snapshot` query, it exports exactly those rows again: the arrays of a split fetched one
   * after another then line up even while extraction goes on.
   */
  snapshot: 'x-featx-snapshot',
} as const;

/** An export ready to stream: everything is checked, nothing read yet. */
export interface FeatureSetExport {
  contentType: string;
  filename: string;
  rows: number;
  /** Length of the body, where known before it is made (npy). */
  bytes?: number;
  snapshot: string;
  body: AsyncIterable<Buffer | string>;
}

export interface FeatureSetExporterOptions {
  /** One request's wait for its reply (FEATX_STORE_READ_TIMEOUT_MS). */
  readTimeoutMs: number;
  /** How long a store that stops answering mid-stream is waited for before the download is cut (FEATX_EXPORT_STORE_WAIT_MS). */
  storeWaitMs: number;
  /** Stored bytes of requests in flight ahead of the response. */
  readAheadBytes?: number;
}

/** Shards probed at once before an export starts. */
const PROBES_IN_FLIGHT = 16;

export class FeatureSetExporter {
  constructor(
    private readonly featureSets: FeatureSetsRepository,
    private readonly stores: Pick<FeatureStoresService, 'statuses'>,
    private readonly bus: ShardReadBus,
    private readonly options: FeatureSetExporterOptions,
    private readonly logger: JsonLogger,
  ) {}

  /**
   * Checks the set, its shards for the split, the snapshot asked for and the stores that hold the
   * shards, and plans the file: 404 for an unknown set, 409 while the split has no committed rows,
   * 400 for a snapshot that does not fit the split, 503 naming the stores (and their shards) that
   * are down or do not answer, 500 for a store that cannot serve a shard's committed rows.
   */
  async prepare(id: string, query: ExportQuery): Promise<FeatureSetExport> {
    const set = foundOrThrow(await this.featureSets.get(id), 'feature set', id);
    const augment = query.augment ?? 'none';
    const shards = (await this.featureSets.shards(id, query.split)).filter((shard) => shard.augment === augment);
    const rowsName = augment === 'none' ? `split ${query.split}` : `the ${augment} rows of split ${query.split}`;
    if (shards.length === 0) throw new ConflictException(`feature set ${id} has no shards for ${rowsName} yet`);
    const rowsPerShard = query.snapshot === undefined ? shards.map((shard) => shard.rows) : fromSnapshot(query.snapshot, shards);
    const parts: Array<ShardPart & { index: number }> = [];
    shards.forEach((shard, i) => {
      if (rowsPerShard[i]! > 0) parts.push({ shard: { id: shard.id, writer: shard.writer, path: shard.path, rows: shard.rows }, rows: rowsPerShard[i]!, index: shard.index });
    });
    if (parts.length === 0 || set.dim === null) throw new ConflictException(`feature set ${id} has no committed rows for ${rowsName} yet`);
    await this.checkStores(id, query.split, parts, set.dim);
    const shape: RowsExportShape = { dtype: set.dtype, dim: set.dim, rows: parts.reduce((sum, part) => sum + part.rows, 0) };
    const snapshot = toSnapshot(rowsPerShard);
    const stem = `featx-${id.slice(0, 8)}-${query.split}${augment === 'none' ? '' : `-${augment}`}`;
    // The labels or image ids alone are asked for without the features (a flattened vector is 200 KB a row).
    const rows = (features: boolean) =>
      storedRows(rowsInOrder(this.client(`${stem} export`), parts, { dim: shape.dim, dtype: shape.dtype, readAheadBytes: this.options.readAheadBytes, features }));
    if (query.format === 'csv') {
      return { contentType: 'text/csv; charset=utf-8', filename: `${stem}.csv`, rows: shape.rows, snapshot, body: csvOfRows(rows(true), shape) };
    }
    const array = query.array ?? 'features';
    const plan = planNpyRows(array, shape);
    return { contentType: 'application/octet-stream', filename: `${stem}-${array}.npy`, rows: plan.rows, bytes: plan.bytes, snapshot, body: plan.chunks(rows(array === 'features')) };
  }

  /**
   * Streams the export into the response. A failure once the body has started (a store silent
   * past FEATX_EXPORT_STORE_WAIT_MS) cannot become an error status any more: the connection is cut
   * instead (never ended cleanly), so the client sees a broken transfer rather than a file that
   * looks complete.
   */
  async send(response: ServerResponse, exported: FeatureSetExport): Promise<void> {
    response.statusCode = 200;
    response.setHeader('content-type', exported.contentType);
    response.setHeader('content-disposition', `attachment; filename="${exported.filename}"`);
    response.setHeader('cache-control', 'no-store');
    response.setHeader(EXPORT_HEADERS.rows, String(exported.rows));
    response.setHeader(EXPORT_HEADERS.snapshot, exported.snapshot);
    if (exported.bytes !== undefined) response.setHeader('content-length', String(exported.bytes));
    // The headers go now, not with the first chunk: a client waiting on a slow store sees the
    // download begin, and a failure before the first chunk is a broken download like any other.
    response.flushHeaders();
    try {
      await pipeline(Readable.from(exported.body, { objectMode: false, highWaterMark: 1 << 20 }), response);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
        this.logger.error(`export ${exported.filename} failed after it started: ${(error as Error).message}`, error);
      }
      response.destroy();
    }
  }

  /** A reader of the stores for one export: waits for a silent store up to storeWaitMs, and logs the wait. */
  private client(what: string): ShardRowsClient {
    return new ShardRowsClient(this.bus, {
      timeoutMs: this.options.readTimeoutMs,
      maxWaitMs: this.options.storeWaitMs,
      onWait: (wait: StoreWait | null) => {
        if (wait) this.logger.warn(`${what} waits for feature store "${wait.store}" (since ${wait.since.toISOString()}): ${wait.reason}`);
      },
    });
  }

  /**
   * Before a byte is sent: every store holding a part must be up in the registry and answer for
   * the part's last row (which also proves it holds the committed rows). 503 names the stores
   * that are not, with their shards; a store's refusal is a 500 with its reason.
   */
  private async checkStores(id: string, split: Split, parts: ReadonlyArray<ShardPart & { index: number }>, dim: number): Promise<void> {
    const statuses = await this.stores.statuses(parts.map((part) => part.shard.writer));
    const down = [...statuses.values()].filter((status) => status.state !== 'up');
    if (down.length > 0) {
      throw unavailable(
        id,
        split,
        down.map((status) => ({ ...status, parts: parts.filter((part) => part.shard.writer === status.store) })),
      );
    }
    const probe = new ShardRowsClient(this.bus, { timeoutMs: Math.min(this.options.readTimeoutMs, 5000), maxWaitMs: 0 });
    const silent = new Map<string, Array<ShardPart & { index: number }>>();
    for (let i = 0; i < parts.length; i += PROBES_IN_FLIGHT) {
      await Promise.all(
        parts.slice(i, i + PROBES_IN_FLIGHT).map((part) =>
          probe.read(part.shard, part.rows - 1, 1, dim).then(
            () => undefined,
            (error: Error) => {
              if (!(error instanceof StoreUnavailableError)) throw this.unreadable(id, split, error);
              silent.set(part.shard.writer, [...(silent.get(part.shard.writer) ?? []), part]);
            },
          ),
        ),
      );
    }
    if (silent.size > 0) {
      throw unavailable(
        id,
        split,
        [...silent].map(([store, stuck]) => ({ ...statuses.get(store)!, state: 'not answering', parts: stuck })),
      );
    }
  }

  private unreadable(id: string, split: Split, error: Error): Error {
    this.logger.error(`feature set ${id}: ${split} shards cannot be exported: ${error.message}`);
    return new InternalServerErrorException(`feature set ${id}: the ${split} shards cannot be exported: ${error.message}`);
  }
}

/** The rows as the exports take them: with their image ids, which the bus client always reads. */
async function* storedRows(rows: AsyncIterable<ShardRows>): AsyncGenerator<StoredRows> {
  for await (const batch of rows) {
    if (!batch.imageIds) throw new Error(`rows from ${batch.start} came without their image ids`);
    yield { dtype: batch.dtype, rows: batch.rows, features: batch.features, labels: batch.labels, imageIds: batch.imageIds };
  }
}

/** 503: which stores hold the split's shards but are down, and which shards those are. */
function unavailable(
  id: string,
  split: Split,
  stores: Array<{ store: string; state: string; lastSeenAt: string | null; parts: ReadonlyArray<ShardPart & { index: number }> }>,
): ServiceUnavailableException {
  const named = stores.map(
    (s) =>
      `feature store "${s.store}" (${s.state}${s.lastSeenAt ? `, last seen ${s.lastSeenAt}` : ''}) holds ${split} shard${s.parts.length > 1 ? 's' : ''} ` +
      s.parts.map((part) => `${part.index} (${part.shard.id})`).join(', '),
  );
  return new ServiceUnavailableException(`feature set ${id}: the ${split} shards cannot be exported now: ${named.join('; ')}; try again once ${stores.length > 1 ? 'they are' : 'it is'} back`);
}

/** `50000*3,1234,0`: the rows of each shard in index order, runs of equal counts shortened. */
export function toSnapshot(rows: readonly number[]): string {
  const runs: string[] = [];
  for (let i = 0; i < rows.length; ) {
    let j = i + 1;
    while (j < rows.length && rows[j] === rows[i]) j++;
    runs.push(j - i > 1 ? `${rows[i]}*${j - i}` : String(rows[i]));
    i = j;
  }
  return runs.join(',');
}

/**
 * The rows per shard a snapshot names, checked against the split's shards now: it may name fewer
 * shards (those added since hold none of its rows) but never more, nor more rows than committed.
 */
export function fromSnapshot(snapshot: string, shards: readonly FeatureShardRow[]): number[] {
  const rows: number[] = [];
  for (const run of snapshot.split(',')) {
    const [value, times = '1'] = run.split('*') as [string, string?];
    const count = Number(times);
    if (count < 1 || rows.length + count > shards.length) {
      throw invalidFields([{ field: 'snapshot', message: `names more shards than the split's ${shards.length}` }]);
    }
    for (let k = 0; k < count; k++) rows.push(Number(value));
  }
  rows.forEach((count, i) => {
    if (!Number.isSafeInteger(count) || count > shards[i]!.rows) {
      throw invalidFields([{ field: 'snapshot', message: `names ${count} rows of shard ${shards[i]!.index}, which has ${shards[i]!.rows} committed` }]);
    }
  });
  while (rows.length < shards.length) rows.push(0);
  return rows;
}
