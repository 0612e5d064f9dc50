import type { ServerResponse } from 'node:http';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ConflictException, InternalServerErrorException } from '@nestjs/common';
import { z } from 'zod';
import { SPLITS, type Split } from '@featx/contracts';
import type { FeatureSetsRepository, FeatureShardRow } from '@featx/db';
import { planConcatCsv, planConcatNpy, shardDir, ShardError, type ExportPart, type NpyExportArray } from '@featx/features';
import type { JsonLogger } from '@featx/runtime';
import { invalidFields } from '../common/zod-body.pipe';
import { foundOrThrow } from '../common/not-found';

/**
 * `GET /feature-sets/:id/export`: a split's shards as one file, streamed — the tutorial's CSV
 * (`label,v1,...,vD` per image) or one of the three arrays as a single `.npy`. Only the rows the
 * database records as committed (`feature_shards.rows`) are exported, so a set still being
 * extracted exports what is durably stored so far.
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
    array: oneOf(['features', 'labels', 'image_ids'] as const satisfies readonly NpyExportArray[]).optional(),
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

export class FeatureSetExporter {
  private readonly root: string;

  constructor(
    private readonly featureSets: FeatureSetsRepository,
    featuresDir: string,
    private readonly logger: JsonLogger,
  ) {
    this.root = path.resolve(featuresDir);
  }

  /**
   * Checks the set, its shards for the split, the snapshot asked for and the shard files, and
   * plans the file: 404 for an unknown set, 409 while the split has no committed rows, 400 for a
   * snapshot that does not fit the split, 500 for shard files that do not hold their committed rows.
   */
  async prepare(id: string, query: ExportQuery): Promise<FeatureSetExport> {
    const set = foundOrThrow(await this.featureSets.get(id), 'feature set', id);
    const shards = await this.featureSets.shards(id, query.split);
    if (shards.length === 0) throw new ConflictException(`feature set ${id} has no shards for split ${query.split} yet`);
    const rowsPerShard = query.snapshot === undefined ? shards.map((shard) => shard.rows) : fromSnapshot(query.snapshot, shards);
    const parts: ExportPart[] = [];
    shards.forEach((shard, i) => {
      if (rowsPerShard[i]! > 0) parts.push({ dir: this.shardDir(shard), rows: rowsPerShard[i]! });
    });
    if (parts.length === 0) throw new ConflictException(`feature set ${id} has no committed rows for split ${query.split} yet`);
    const snapshot = toSnapshot(rowsPerShard);
    const stem = `featx-${id.slice(0, 8)}-${query.split}`;
    try {
      if (query.format === 'csv') {
        const plan = await planConcatCsv(parts);
        return { contentType: 'text/csv; charset=utf-8', filename: `${stem}.csv`, rows: plan.rows, snapshot, body: plan.chunks() };
      }
      const array = query.array ?? 'features';
      const plan = await planConcatNpy(parts, array);
      return { contentType: 'application/octet-stream', filename: `${stem}-${array}.npy`, rows: plan.rows, bytes: plan.bytes, snapshot, body: plan.chunks() };
    } catch (error) {
      throw this.unreadable(id, query.split, error);
    }
  }

  /**
   * Streams the export into the response. A failure once the body has started cannot become an
   * error status any more: the connection is cut instead (never ended cleanly), so the client
   * sees a broken transfer rather than a file that looks complete.
   */
  async send(response: ServerResponse, exported: FeatureSetExport): Promise<void> {
    response.statusCode = 200;
    response.setHeader('content-type', exported.contentType);
    response.setHeader('content-disposition', `attachment; filename="${exported.filename}"`);
    response.setHeader('cache-control', 'no-store');
    response.setHeader(EXPORT_HEADERS.rows, String(exported.rows));
    response.setHeader(EXPORT_HEADERS.snapshot, exported.snapshot);
    if (exported.bytes !== undefined) response.setHeader('content-length', String(exported.bytes));
    try {
      await pipeline(Readable.from(exported.body, { objectMode: false, highWaterMark: 1 << 20 }), response);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
        this.logger.error(`export ${exported.filename} failed after it started: ${this.relative((error as Error).message)}`, error);
      }
      response.destroy();
    }
  }

  /** The shard's folder, which must lie inside the feature store's root. */
  private shardDir(shard: FeatureShardRow): string {
    try {
      return shardDir(this.root, shard.path);
    } catch (error) {
      if (!(error instanceof ShardError)) throw error;
      throw new InternalServerErrorException(`shard ${shard.id} has a path outside the feature store: ${shard.path}`);
    }
  }

  private unreadable(id: string, split: Split, error: unknown): Error {
    const code = (error as NodeJS.ErrnoException).code;
    if (!(error instanceof ShardError) && code !== 'ENOENT' && code !== 'EACCES' && code !== 'ENOTDIR') return error as Error;
    const message = this.relative((error as Error).message);
    this.logger.error(`feature set ${id}: ${split} shards cannot be exported: ${message}`);
    return new InternalServerErrorException(`feature set ${id}: the ${split} shards cannot be exported: ${message}`);
  }

  /** Messages name shard files relative to the feature store's root, not where it lies on the server. */
  private relative(message: string): string {
    return message.split(`${this.root}${path.sep}`).join('');
  }
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
