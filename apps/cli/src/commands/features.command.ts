import { Command } from 'commander';
import type { FeatureFailure, FeatureSetDetails, FeatureSetStoreView, FeatureSetSummary, FeatureShardSummary, FeatureVectorLocation, ListPage } from '@featx/contracts';
import { ApiClient } from '../api-client';
import { allPages, getPage, nextPageHint, withPageOptions, withQuery } from '../list-pages';
import { formatCount, formatDuration, printHint, table } from '../format';
import { formatRate, renderProgressBar } from '../progress-bar';
import { featuresExportCommand } from './features-export';

const FAILURES_SHOWN = 10;

export function featuresCommand(client: () => Promise<ApiClient>, print: (text: string) => void): Command {
  const features = new Command('features').description('inspect and export feature sets (extract them with featx extract)');

  withPageOptions(features.command('ls').description('list feature sets with their progress, oldest first'))
    .option('--dataset <id>', 'only the sets of this dataset')
    .option('--json', 'print JSON: {items, next}')
    .action(async (opts) => {
      const page = await getPage<FeatureSetSummary>(await client(), withQuery('/feature-sets', { datasetId: opts.dataset }), opts);
      if (opts.json) return print(JSON.stringify(page, null, 2));
      if (page.items.length === 0 && !opts.cursor) return print('no feature sets yet: featx extract <datasetId> --model resnet50');
      print(
        table(
          ['id', 'dataset', 'model', 'layer', 'pooling', 'dtype', 'engine', 'precision', 'dim', 'status', 'done', 'failed'],
          page.items.map((s) => [s.id, s.datasetId, s.model, layerName(s.layer), s.pooling, s.dtype, s.engine, s.precision ?? 'fp32', s.dim, s.status, `${s.progress.done}/${s.progress.total} (${s.progress.percent}%)`, s.failed]),
        ),
      );
      printHint(print, nextPageHint(page, `featx features ls${opts.dataset ? ` --dataset ${opts.dataset}` : ''}`));
    });

  withPageOptions(features.command('failures').description('images of a feature set that could not be turned into a vector, in image id order').argument('<id>', 'feature set id'))
    .option('--json', 'print JSON: {items, next}')
    .action(async (id: string, opts) => {
      const page = await getPage<FeatureFailure>(await client(), `/feature-sets/${encodeURIComponent(id)}/failures`, opts);
      if (opts.json) return print(JSON.stringify(page, null, 2));
      print(table(['image', 'path', 'reason', 'at'], page.items.map((f) => [f.imageId, f.path, f.reason, f.at])));
      printHint(print, nextPageHint(page, `featx features failures ${id}`));
    });

  withPageOptions(features.command('vectors').description('where the vectors of a feature set live (shard and row), in image id order').argument('<id>', 'feature set id'))
    .option('--json', 'print JSON: {items, next}')
    .action(async (id: string, opts) => {
      const page = await getPage<FeatureVectorLocation>(await client(), `/feature-sets/${encodeURIComponent(id)}/vectors`, opts);
      if (opts.json) return print(JSON.stringify(page, null, 2));
      print(table(['image', 'shard', 'row'], page.items.map((v) => [v.imageId, v.shardId, v.row])));
      printHint(print, nextPageHint(page, `featx features vectors ${id}`));
    });

  features
    .command('show')
    .description('a feature set: configuration, progress, its shards by the feature store that holds them (with the store\'s state) and failures')
    .argument('<id>', 'feature set id')
    .option('--json', 'print JSON')
    .action(async (id: string, opts) => {
      const api = await client();
      const route = `/feature-sets/${encodeURIComponent(id)}`;
      const set = await api.get<FeatureSetDetails>(route);
      const [shards, failures] = await Promise.all([allPages<FeatureShardSummary>(api, `${route}/shards`), api.get<ListPage<FeatureFailure>>(`${route}/failures?limit=${FAILURES_SHOWN}`)]);
      if (opts.json) return print(JSON.stringify({ ...set, shards, failures: failures.items }, null, 2));
      print(describeFeatureSet(set));
      print(`progress: ${progressLine(set, 20)}`);
      print(`status ${set.status}${set.error ? `: ${set.error}` : ''} — ${runLine(set)}`);
      if (shards.length === 0) print('no shards yet');
      for (const store of set.stores) {
        print(storeLine(store));
        const held = shards.filter((s) => s.writer === store.store);
        print(
          table(
            ['split', 'index', 'rows', 'size', 'status', 'checksum', 'path'],
            held.map((s) => [s.split, s.index, s.rows, formatBytes(s.bytes), s.status, s.checksum ? s.checksum.slice(0, 12) : '', s.path]),
          ),
        );
      }
      printFailures(print, set, failures.items, FAILURES_SHOWN);
    });

  features.addCommand(featuresExportCommand(client, print));

  return features;
}

/** `store store-b: down (host h2, last seen 2026-12-02T03:40:00Z) — 2 shards, 1,234 rows`. */
export function storeLine(store: FeatureSetStoreView): string {
  const where = [store.host ? `host ${store.host}` : null, store.lastSeenAt ? `last seen ${withoutMillis(store.lastSeenAt)}` : 'never registered'].filter(Boolean).join(', ');
  return `store ${store.store}: ${store.state} (${where}) — ${store.shards.length} shard${store.shards.length === 1 ? '' : 's'}, ${formatCount(store.rows)} rows`;
}

/** An ISO time to the second. */
export function withoutMillis(iso: string): string {
  return iso.replace(/\.\d+(?=Z|[+-]\d\d:\d\d$)/, '');
}

/** `<id> — dataset <name> (<id>)`, then the configuration. */
export function describeFeatureSet(set: FeatureSetDetails): string {
  const dataset = set.datasetName ? `${set.datasetName} (${set.datasetId})` : set.datasetId;
  const lines = [
    `feature set ${set.id} — dataset ${dataset}`,
    `model ${set.model}, layer ${layerName(set.layer)}, pooling ${set.pooling}, ${set.dtype}, engine ${set.engine}, precision ${set.precision ?? 'fp32'}, dim ${set.dim ?? 'not known yet'}`,
  ];
  if (set.precision === 'int8') lines.push(quantizationLine(set.quantization));
  if (set.augment === 'hflip') lines.push(`augment hflip: ${set.augmented} augmented rows (the images' mirrors, in <split>-hflip shards: training rows, and test-time augmentation of validation and evaluation)`);
  return lines.join('\n');
}

/** `int8: parity to fp32 mean cosine 0.99712 (min 0.97475) on 64 held-back images (threshold 0.99); calibrated (minmax) on 256 training images; int8 ops Add 10, Conv 52`. */
export function quantizationLine(quantization: Record<string, unknown> | null | undefined): string {
  const q = quantization as { method?: string; calibrationImages?: number; quantizedOps?: Record<string, number>; parity?: { meanCosine: number; minCosine: number; images: number; threshold: number } } | null | undefined;
  if (!q?.parity) return 'int8: not quantized yet (an extractor quantizes the network when it first loads it)';
  const ops = Object.entries(q.quantizedOps ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([op, n]) => `${op} ${n}`)
    .join(', ');
  const p = q.parity;
  return (
    `int8: parity to fp32 mean cosine ${p.meanCosine.toFixed(5)} (min ${p.minCosine.toFixed(5)}) on ${p.images} held-back images (threshold ${p.threshold}); ` +
    `calibrated (${q.method}) on ${q.calibrationImages} training images; int8 ops ${ops}`
  );
}

/** The progress bar of a set, from the API's progress. */
export function progressLine(set: FeatureSetSummary, width = 30): string {
  const p = set.progress;
  return renderProgressBar({ done: p.done, total: p.total, rate: p.imagesPerSecond > 0 ? p.imagesPerSecond : null, etaSeconds: p.etaSeconds, failed: set.failed, width });
}

/** `3781 stored, 0 failed, dim 2048, in 1 min 24 s (45.2 img/s)`: what this run did. */
export function runLine(set: FeatureSetSummary): string {
  const resumed = set.doneAtStart > 0 ? `, ${set.doneAtStart} done before this run` : '';
  const rate = set.progress.imagesPerSecond > 0 ? ` (${formatRate(set.progress.imagesPerSecond)} img/s)` : '';
  const when = set.finishedAt ? 'in' : 'running for';
  return `${set.stored} stored, ${set.failed} failed of ${set.images}, dim ${set.dim ?? '?'}, ${when} ${formatDuration(Math.round(set.progress.elapsedSeconds * 1000))}${rate}${resumed}`;
}

export function printFailures(print: (text: string) => void, set: FeatureSetSummary, failures: FeatureFailure[], shown: number): void {
  if (set.failed === 0 || failures.length === 0) return;
  print(`failures (${set.failed}${set.failed > shown ? `, the first ${Math.min(shown, failures.length)}` : ''}):`);
  for (const f of failures.slice(0, shown)) print(`  ${f.path} (image ${f.imageId}): ${f.reason}`);
  if (set.failed > shown) print(`  … ${set.failed - Math.min(shown, failures.length)} more: featx features failures ${set.id}`);
}

function layerName(layer: string): string {
  return layer === '' ? '(default)' : layer;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = -1;
  do {
    value /= 1024;
    unit++;
  } while (value >= 1024 && unit < units.length - 1);
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}
