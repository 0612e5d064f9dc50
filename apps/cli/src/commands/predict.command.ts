import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { TEST_TIME_AUGMENTS, type Prediction, type PredictResponse, type TestTimeAugment } from '@featx/contracts';
import { ApiClient } from '../api-client';
import { table } from '../format';


/** Paths per request, and files per upload: thousands of images go through in such chunks. */
const PATHS_PER_REQUEST = 500;
const FILES_PER_UPLOAD = 32;

/**
 * `featx predict <run> <files or folders...>`: classifies new images with a trained run, through
 * the same decoding, network and preprocessing as extraction. Paths under the data roots are read
 * by the server; `--upload` sends the files' bytes instead (images from anywhere).
 */
export function predictCommand(client: () => Promise<ApiClient>, print: (text: string) => void): Command {
  return new Command('predict')
    .description('classify images with a succeeded run (files or folders)')
    .argument('<runId>', 'training run id (featx runs ls)')
    .argument('<paths...>', 'image files or folders')
    .option('--upload', 'send the image files themselves (for images outside the data roots)')
    .addOption(new Option('--tta <augment>', "test-time augmentation: hflip = classify each image and its mirror, probabilities averaged; none = the image alone (default: the model's, hflip where it was selected that way)").choices([...TEST_TIME_AUGMENTS]))
    .addOption(new Option('--format <format>', 'output').choices(['table', 'json', 'csv']).default('table'))
    .action(async (runId: string, paths: string[], opts: { upload?: boolean; tta?: TestTimeAugment; format: 'table' | 'json' | 'csv' }) => {
      const api = await client();
      const absolute = paths.map((p) => path.resolve(p));
      const responses: PredictResponse[] = [];
      if (opts.upload) {
        const files = await expandFiles(absolute);
        for (let i = 0; i < files.length; i += FILES_PER_UPLOAD) {
          const form = new FormData();
          if (opts.tta) form.append('tta', opts.tta);
          for (const file of files.slice(i, i + FILES_PER_UPLOAD)) form.append('images', new Blob([await fs.readFile(file)]), file);
          responses.push(await api.postForm<PredictResponse>(`/runs/${encodeURIComponent(runId)}/predict/upload`, form));
        }
      } else {
        for (let i = 0; i < absolute.length; i += PATHS_PER_REQUEST) {
          responses.push(await api.post<PredictResponse>(`/runs/${encodeURIComponent(runId)}/predict`, { paths: absolute.slice(i, i + PATHS_PER_REQUEST), tta: opts.tta }));
        }
      }
      const classes = responses[0]?.classes ?? [];
      const predictions = responses.flatMap((r) => r.predictions);
      if (opts.format === 'json') return print(JSON.stringify({ runId, tta: responses[0]?.tta ?? opts.tta, classes, predictions }, null, 2));
      if (opts.format === 'csv') {
        print(['image', 'label', 'probability', ...classes].map(csvCell).join(','));
        for (const p of predictions) print([p.image, p.label ?? '', p.probability ?? '', ...classes.map((c) => p.probabilities?.[c] ?? '')].map(csvCell).join(','));
        return;
      }
      print(table(['image', 'label', 'probability', 'runner-up'], predictions.map((p) => [p.image, p.label ?? `error: ${p.error}`, p.probability === null ? '' : p.probability.toFixed(4), runnerUp(p)])));
    });
}

function runnerUp(p: Prediction): string {
  if (!p.probabilities) return '';
  const [, second] = Object.entries(p.probabilities).sort((a, b) => b[1] - a[1]);
  return second ? `${second[0]} (${second[1].toFixed(4)})` : '';
}

/** Files named, and the files inside folders named (hidden ones skipped). */
async function expandFiles(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const p of paths) {
    const stat = await fs.stat(p);
    if (!stat.isDirectory()) {
      files.push(p);
      continue;
    }
    for (const entry of await fs.readdir(p, { withFileTypes: true, recursive: true })) {
      if (entry.isFile() && !entry.name.startsWith('.')) files.push(path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name));
    }
  }
  return files.sort();
}

function csvCell(value: string | number): string {
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
