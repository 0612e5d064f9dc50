import * as path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DATASET_LAYOUTS, DatasetDetails, DatasetImage, DatasetSummary, QueuedCommand, SPLITS } from '@featx/contracts';
import { ApiClient, CliError } from '../api-client';
import { formatDuration, printHint, table } from '../format';
import { getPage, nextPageHint, withPageOptions, withQuery } from '../list-pages';
import { integerOption } from '../options';
import { waitForCommand } from '../wait-for-command';

export function datasetsCommand(client: () => Promise<ApiClient>, print: (text: string) => void): Command {
  const datasets = new Command('datasets').description('register and inspect datasets');

  datasets
    .command('add')
    .description('register a folder of images (or re-scan one registered before)')
    .argument('<path>', 'the folder; must lie inside a configured data root')
    .addOption(new Option('--layout <layout>', 'how labels and splits are read').choices([...DATASET_LAYOUTS]).default('auto'))
    .option('--name <name>', 'dataset name (default: the folder name)')
    .option('--classes <names>', 'food5k layout: class names by index, comma-separated', (v) => v.split(',').map((s) => s.trim()))
    .option('--split <ratios>', 'class layout: training,validation,evaluation ratios', parseRatios)
    .addOption(integerOption('--seed <n>', 'class layout: split seed'))
    .option('--no-wait', 'return once the command is queued')
    .option('--json', 'print JSON')
    .action(async (folder: string, opts) => {
      const api = await client();
      const queued = await api.post<QueuedCommand>('/datasets', {
        path: path.resolve(folder),
        layout: opts.layout,
        name: opts.name,
        classes: opts.classes,
        splitRatios: opts.split,
        seed: opts.seed,
      });
      if (!opts.wait) return print(opts.json ? JSON.stringify(queued) : `queued command ${queued.commandId}`);
      const done = await waitForCommand(api, queued.commandId);
      if (done.status !== 'succeeded') throw new CliError(`registration ${done.status}: ${done.error ?? 'no reason recorded'}`);
      const result = done.result as { datasetId: string; images: number; added: number; changed: number; unchanged: number; removed: number; skipped: number; durationMs: number; filesPerSecond: number; skippedExamples: Array<{ path: string; reason: string }> };
      const details = await api.get<DatasetDetails>(`/datasets/${result.datasetId}`);
      if (opts.json) return print(JSON.stringify({ result, dataset: details }, null, 2));
      print(
        `registered ${details.name} (${details.id}): ${result.images} images — ${result.added} added, ${result.changed} changed, ` +
          `${result.unchanged} unchanged, ${result.removed} removed, ${result.skipped} skipped — in ${formatDuration(result.durationMs)} (${result.filesPerSecond} files/s)`,
      );
      for (const s of result.skippedExamples) print(`  skipped ${s.path}: ${s.reason}`);
      print(countsTable(details));
    });

  withPageOptions(datasets.command('ls').description('list datasets, oldest first'))
    .option('--json', 'print JSON: {items, next}')
    .action(async (opts) => {
      const page = await getPage<DatasetSummary>(await client(), '/datasets', opts);
      if (opts.json) return print(JSON.stringify(page, null, 2));
      if (page.items.length === 0 && !opts.cursor) return print('no datasets yet: featx datasets add <folder>');
      print(table(['id', 'name', 'layout', 'images', 'classes', 'status', 'location'], page.items.map((d) => [d.id, d.name, d.layout, d.imageCount, d.classes.length, d.status, `${d.root}:${d.path}`])));
      printHint(print, nextPageHint(page, 'featx datasets ls'));
    });

  withPageOptions(datasets.command('images').description("a dataset's images in registration order").argument('<id>', 'dataset id'))
    .option('--status <status>', 'only present, missing, failed (unreadable) or changed (at a re-scan) files')
    .option('--json', 'print JSON: {items, next}')
    .action(async (id: string, opts) => {
      const page = await getPage<DatasetImage>(await client(), withQuery(`/datasets/${encodeURIComponent(id)}/images`, { status: opts.status }), opts);
      if (opts.json) return print(JSON.stringify(page, null, 2));
      print(table(['id', 'split', 'label', 'path', 'bytes', 'status'], page.items.map((i) => [i.id, i.split ?? '', i.label, i.path, i.bytes, i.status])));
      printHint(print, nextPageHint(page, `featx datasets images ${id}${opts.status ? ` --status ${opts.status}` : ''}`));
    });

  datasets
    .command('show')
    .description('a dataset with its image counts per split and class')
    .argument('<id>', 'dataset id')
    .option('--json', 'print JSON')
    .action(async (id: string, opts) => {
      const details = await (await client()).get<DatasetDetails>(`/datasets/${encodeURIComponent(id)}`);
      if (opts.json) return print(JSON.stringify(details, null, 2));
      print(`${details.name} (${details.id}) — ${details.layout} layout at ${details.root}:${details.path}, status ${details.status}${details.error ? `: ${details.error}` : ''}`);
      print(countsTable(details));
    });

  return datasets;
}

/** Images per class (rows) and split (columns), with totals. */
function countsTable(details: DatasetDetails): string {
  const splits = [...SPLITS, 'unassigned'].filter((s) => details.counts.bySplit[s] !== undefined);
  const rows = Object.keys(details.counts.byClass)
    .sort()
    .map((label) => [label, ...splits.map((s) => details.counts.bySplitAndClass[s]?.[label] ?? 0), details.counts.byClass[label]]);
  rows.push(['total', ...splits.map((s) => details.counts.bySplit[s]), details.imageCount]);
  return table(['class', ...splits, 'total'], rows);
}

function parseRatios(value: string) {
  const parts = value.split(',').map(Number);
  if (parts.length !== 3 || parts.some((n) => !Number.isFinite(n) || n < 0)) {
    throw new InvalidArgumentError('expected three numbers: training,validation,evaluation (e.g. 0.8,0.1,0.1)');
  }
  return { training: parts[0], validation: parts[1], evaluation: parts[2] };
}
