import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { ApiClient, CliError, Download } from '../api-client';
import { table } from '../format';
import { allPages } from '../list-pages';
import type { DatasetDetails, FeatureSetDetails, FeatureShardSummary } from '@featx/contracts';

const SPLITS = ['training', 'validation', 'evaluation'] as const;
const ARRAYS = ['features', 'labels', 'image_ids'] as const;
/** Response headers of GET /feature-sets/:id/export (apps/api/src/feature-sets/feature-export.service.ts). */
const ROWS_HEADER = 'x-featx-rows';
const SNAPSHOT_HEADER = 'x-featx-snapshot';

export interface ExportedFile {
  /** Path relative to the output folder. */
  file: string;
  split?: string;
  array?: string;
  rows: number;
  bytes: number;
}

export interface ExportSummary {
  featureSetId: string;
  format: 'csv' | 'npy';
  out: string;
  files: ExportedFile[];
}

/**
 * `featx features export <setId> --format csv|npy`: a feature set's splits as files, streamed from
 * the API to disk — `<split>.csv` (`label,v1,...,vD` lines, as the tutorial's extract_features.py
 * wrote output/training.csv) or `<split>/features.npy`, `labels.npy`, `image_ids.npy` — plus
 * `classes.txt`, the dataset's class names in label order.
 */
export function featuresExportCommand(client: () => Promise<ApiClient>, print: (text: string) => void): Command {
  return new Command('export')
    .description('write a feature set to files: <split>.csv (label,v1,...,vD), or <split>/features.npy, labels.npy, image_ids.npy; plus classes.txt')
    .argument('<setId>', 'feature set id')
    .addOption(new Option('--format <format>', 'csv or npy').choices(['csv', 'npy']).makeOptionMandatory())
    .addOption(new Option('--split <split>', 'only this split (default: every split with stored rows)').choices([...SPLITS]))
    .option('--out <folder>', 'folder to write into (default: ./featx-export-<first 8 characters of the id>)')
    .option('--json', 'print what was written as JSON')
    .action(async (setId: string, opts: { format: 'csv' | 'npy'; split?: (typeof SPLITS)[number]; out?: string; json?: boolean }) => {
      const summary = await exportFeatureSet(await client(), setId, opts);
      if (opts.json) return print(JSON.stringify(summary, null, 2));
      const splits = summary.files.filter((f) => f.split !== undefined && (f.array ?? 'features') === 'features');
      const rows = splits.reduce((total, f) => total + f.rows, 0);
      print(`exported feature set ${summary.featureSetId} (${summary.format}) to ${summary.out}: ${rows} rows in ${splits.map((f) => f.split).join(', ')}`);
      print(table(['file', 'rows', 'bytes'], summary.files.map((f) => [f.file, f.rows, f.bytes])));
    });
}

export async function exportFeatureSet(
  api: ApiClient,
  setId: string,
  opts: { format: 'csv' | 'npy'; split?: string; out?: string },
): Promise<ExportSummary> {
  const route = `/feature-sets/${encodeURIComponent(setId)}`;
  const set = await api.get<FeatureSetDetails>(route);
  const shards = await allPages<FeatureShardSummary>(api, `${route}/shards`);
  const splits = opts.split ? [opts.split] : SPLITS.filter((split) => shards.some((s) => s.split === split && s.rows > 0));
  if (splits.length === 0) throw new CliError(`feature set ${set.id} has no stored rows yet (status ${set.status}); nothing to export`);
  const { classes } = await api.get<DatasetDetails>(`/datasets/${encodeURIComponent(set.datasetId)}`);

  const out = path.resolve(opts.out ?? `featx-export-${set.id.slice(0, 8)}`);
  await fs.mkdir(out, { recursive: true });
  const files: ExportedFile[] = [];
  const query = (params: Record<string, string>) => new URLSearchParams(params).toString();
  for (const split of splits) {
    if (opts.format === 'csv') {
      const name = `${split}.csv`;
      const got = await api.download(`${route}/export?${query({ format: 'csv', split })}`, path.join(out, name));
      files.push({ file: name, split, rows: rowsOf(got), bytes: got.bytes });
      continue;
    }
    await fs.mkdir(path.join(out, split), { recursive: true });
    // The features first; the other arrays with its snapshot, so all three hold the same rows
    // even while the set is still being extracted.
    let snapshot: string | undefined;
    let rows: number | undefined;
    for (const array of ARRAYS) {
      const name = path.join(split, `${array}.npy`);
      const got = await api.download(`${route}/export?${query({ format: 'npy', split, array, ...(snapshot === undefined ? {} : { snapshot }) })}`, path.join(out, name));
      snapshot ??= got.headers.get(SNAPSHOT_HEADER) ?? undefined;
      rows ??= rowsOf(got);
      if (rowsOf(got) !== rows) throw new CliError(`${name} has ${rowsOf(got)} rows, features.npy ${rows}: the arrays do not line up`);
      files.push({ file: name, split, array, rows: rowsOf(got), bytes: got.bytes });
    }
  }
  const classesFile = path.join(out, 'classes.txt');
  const text = classes.map((name) => `${name}\n`).join('');
  await fs.writeFile(classesFile, text);
  files.push({ file: 'classes.txt', rows: classes.length, bytes: Buffer.byteLength(text) });
  return { featureSetId: set.id, format: opts.format, out, files };
}

function rowsOf(download: Download): number {
  const rows = Number(download.headers.get(ROWS_HEADER));
  if (!Number.isSafeInteger(rows)) throw new CliError(`the API did not say how many rows ${download.file} holds (${ROWS_HEADER})`);
  return rows;
}
