import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import type { EpochMetricView, QueuedCancel, RunArtifacts, RunCandidateView, RunDetails, RunReport, RunShareView, RunSummary } from '@featx/contracts';
import { formatHoldoutShare } from '@featx/contracts';
import { ApiClient, CliError } from '../api-client';
import { formatCount, formatDuration, printHint, table } from '../format';
import { getPage, nextPageHint, withPageOptions, withQuery } from '../list-pages';
import { phaseText } from './run-phase';

/** What `runs report --out` writes, each downloaded from GET /runs/:id/plots/<file>. */
export const PLOT_FILES = ['curves.svg', 'curves.png', 'confusion.svg', 'confusion.png'] as const;

export const FINISHED_STATUSES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);

export function runsCommand(client: () => Promise<ApiClient>, print: (text: string) => void, printError: (text: string) => void): Command {
  const runs = new Command('runs').description('inspect, report on and cancel training runs (start them with featx train)');

  withPageOptions(runs.command('ls').description('list training runs, oldest first (a head auto run\'s search shares: --shares-of <run>)'))
    .option('--feature-set <id>', 'only the runs on this feature set')
    .option('--shares-of <runId>', 'list the search shares (child runs) of this head auto run instead')
    .option('--json', 'print JSON: {items, next}')
    .action(async (opts) => {
      const page = await getPage<RunSummary>(await client(), withQuery('/runs', { featureSetId: opts.featureSet, parentRunId: opts.sharesOf }), opts);
      if (opts.json) return print(JSON.stringify(page, null, 2));
      if (page.items.length === 0 && !opts.cursor) return print('no training runs yet: featx train <featureSetId>');
      print(
        table(
          ['id', 'feature set', 'head', 'status', 'epochs', 'best epoch', 'best val_loss', 'created'],
          page.items.map((r) => [r.id, r.featureSetId, headName(r.config), r.status, `${r.epochsDone}/${r.epochs}`, r.bestEpoch, fixed(r.bestValLoss), r.createdAt]),
        ),
      );
      printHint(print, nextPageHint(page, `featx runs ls${opts.featureSet ? ` --feature-set ${opts.featureSet}` : ''}${opts.sharesOf ? ` --shares-of ${opts.sharesOf}` : ''}`));
    });

  runs
    .command('show')
    .description('a run: configuration, status and the metrics of every epoch')
    .argument('<id>', 'run id')
    .option('--json', 'print JSON')
    .action(async (id: string, opts) => {
      const run = await (await client()).get<RunDetails>(`/runs/${encodeURIComponent(id)}`);
      if (opts.json) return print(JSON.stringify(run, null, 2));
      print(describeRun(run));
      if (run.share) print(`search share ${run.share.index + 1} of ${run.share.of} of run ${run.parentRunId}: grid positions ${run.share.positions.join(',')}, seed ${run.share.seed}${run.share.knn ? ', with the kNN baseline' : ''}`);
      if (run.shares && run.shares.length > 0) print(`search split into ${run.shares.length} shares (child runs):\n${sharesTable(run.shares)}`);
      if (run.candidates && run.candidates.length > 0) {
        print(`head chosen by --head auto from ${run.candidates.length} candidates (best first):\n${leaderboardTable(run.candidates, membersOf(run.config))}`);
        print(searchedModelLine(run.config));
        const crossValidation = crossValidationLine(run.config, run.candidates);
        if (crossValidation) print(crossValidation);
      }
      if (run.epochMetrics.length === 0) print('no finished epoch yet');
      else print(epochsTable(run.epochMetrics));
    });

  runs
    .command('report')
    .description('the classification reports of a run and its confusion matrix; with --out, the plots as files')
    .argument('<id>', 'run id')
    .option('--out [dir]', 'write curves.svg, curves.png, confusion.svg and confusion.png into this folder (default ./featx-run-<id8>)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts) => {
      const api = await client();
      const report = await api.get<RunReport>(`/runs/${encodeURIComponent(id)}/report`);
      if (opts.json) print(JSON.stringify(report, null, 2));
      else printReport(print, report);
      if (opts.out === undefined) return;
      const dir = path.resolve(typeof opts.out === 'string' ? opts.out : `featx-run-${report.runId.slice(0, 8)}`);
      const written = await downloadPlots(api, report.runId, dir, printError);
      if (!opts.json) for (const w of written) print(`wrote ${w.file} (${w.bytes} bytes)`);
    });

  runs
    .command('artifacts')
    .description("what a finished run's trainer published over NATS (the model folder, the report pictures); with --out, download them")
    .argument('<id>', 'run id')
    .option('--out [dir]', 'write every published file into this folder, model/ included (default ./featx-run-<id8>-artifacts)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts) => {
      const api = await client();
      const listed = await api.get<RunArtifacts>(`/runs/${encodeURIComponent(id)}/artifacts`);
      if (opts.json) print(JSON.stringify(listed, null, 2));
      else if (listed.artifacts.length === 0) print(`run ${listed.runId} (${listed.status}) has published nothing${listed.status === 'succeeded' ? ': it was trained before runs published their artifacts; retrain it to get them' : ' yet'}`);
      else print(table(['name', 'bytes', 'digest'], listed.artifacts.map((a) => [a.name, a.bytes, a.digest])));
      if (opts.out === undefined) return;
      if (listed.artifacts.length === 0) throw new CliError(`run ${listed.runId} has no artifacts to download`);
      const dir = path.resolve(typeof opts.out === 'string' ? opts.out : `featx-run-${listed.runId.slice(0, 8)}-artifacts`);
      for (const artifact of listed.artifacts) {
        const file = path.join(dir, ...artifact.name.split('/'));
        await fs.mkdir(path.dirname(file), { recursive: true });
        const { bytes } = await api.download(`/runs/${encodeURIComponent(listed.runId)}/artifacts/${encodeURIComponent(artifact.name)}`, file);
        if (!opts.json) print(`wrote ${file} (${bytes} bytes)`);
      }
    });

  runs
    .command('cancel')
    .description('cancel a run: a queued one at once, a running one at its next batch')
    .argument('<id>', 'run id')
    .option('--json', 'print JSON')
    .action(async (id: string, opts) => {
      const queued = await (await client()).post<QueuedCancel>(`/runs/${encodeURIComponent(id)}/cancel`, {});
      print(opts.json ? JSON.stringify(queued) : `cancel of run ${queued.runId} requested (command ${queued.commandId})`);
    });

  return runs;
}

/** `run <id> — feature set <id>`, the status, then the configuration. */
export function describeRun(run: RunSummary): string {
  const lines = [`run ${run.id} — feature set ${run.featureSetId}`];
  let status = `status ${run.status}${run.error ? `: ${run.error}` : ''}${run.cancelRequested && run.status === 'running' ? ' (cancel requested)' : ''} — epoch ${run.epochsDone}/${run.epochs}`;
  if (run.bestEpoch !== null) status += `, best epoch ${run.bestEpoch}${run.bestValLoss !== null ? ` (val_loss ${fixed(run.bestValLoss)})` : ''}`;
  if (run.resumes > 0) status += `, resumed ${run.resumes} time${run.resumes === 1 ? '' : 's'}`;
  if (run.startedAt) status += `, ${run.finishedAt ? 'took' : 'running for'} ${formatDuration(Date.parse(run.finishedAt ?? new Date().toISOString()) - Date.parse(run.startedAt))}`;
  lines.push(status);
  if (run.status === 'running' && run.phase) lines.push(`now: ${phaseText(run.phase)}`);
  if (run.classes.length > 0) lines.push(`classes: ${run.classes.join(', ')}`);
  lines.push(`config: ${describeConfig(run.config)}`);
  return lines.join('\n');
}

/**
 * `head mlp (256, 16), dropout 0.5, sgd lr 0.001 momentum 0.9, epochs 25, batch 32, seed 42, shuffle buffer 2048`:
 * the configuration on one line, always in this order (jsonb does not keep the keys' order).
 */
export function describeConfig(c: Record<string, unknown>): string {
  const has = (key: string) => c[key] !== undefined && c[key] !== null;
  const parts = [`head ${c.head}${Array.isArray(c.hidden) ? ` (${c.hidden.join(', ')})` : ''}`];
  if (has('dropout') && c.dropout !== 0) parts.push(`dropout ${c.dropout}`);
  if (has('l2')) parts.push(`l2 ${c.l2}`);
  // A converged (lbfgs) head has no learning rate or decay to speak of: L-BFGS chose its steps.
  if (c.optimizer === 'lbfgs') parts.push('lbfgs (fit to convergence)');
  else parts.push(`${c.optimizer} lr ${c.learningRate}${c.optimizer === 'sgd' && has('momentum') ? ` momentum ${c.momentum}` : ''}${has('decay') ? ` decay ${c.decay}` : ''}`);
  parts.push(`epochs ${c.epochs}`, `batch ${c.batchSize}`);
  if (c.classWeights === true) parts.push('class weights');
  if (c.standardize === true) parts.push('standardized');
  if (has('earlyStoppingPatience')) parts.push(`patience ${c.earlyStoppingPatience}`);
  if (has('seed')) parts.push(`seed ${c.seed}`);
  if (has('shuffleBuffer')) parts.push(`shuffle buffer ${c.shuffleBuffer}`);
  if (has('searchShares')) parts.push(`search shares ${c.searchShares}`);
  if (has('cvFolds')) parts.push(`cross-validation ${c.cvFolds} folds`);
  if (has('validationHoldout')) parts.push(`validation held out of training ${formatHoldoutShare(c.validationHoldout as number)}`);
  return parts.join(', ');
}

/** Where a run held out its validation split ('' where the set had one). */
export function holdoutLine(config: Record<string, unknown>): string {
  const share = config.validationHoldout;
  return typeof share === 'number' ? `validation split: ${formatHoldoutShare(share)} of each class's training images, held out (the feature set has none)` : '';
}

export function epochsTable(epochs: EpochMetricView[]): string {
  return table(
    ['epoch', 'loss', 'accuracy', 'val_loss', 'val_accuracy', 'lr', 'time', 'rows/s'],
    epochs.map((e) => [e.epoch, fixed(e.trainLoss), fixed(e.trainAccuracy), fixed(e.valLoss), fixed(e.valAccuracy), e.learningRate.toPrecision(3), formatDuration(e.durationMs), formatCount(e.rowsPerSecond)]),
  );
}

/** Each split's report text as scikit-learn prints it, then its confusion matrix. */
export function printReport(print: (text: string) => void, report: RunReport): void {
  if (report.evaluations.length === 0) {
    print(`run ${report.runId} (${report.status}) has no evaluation yet`);
    return;
  }
  for (const evaluation of report.evaluations) {
    print(`classification report, ${evaluation.split} split${evaluation.loss !== null ? ` (loss ${fixed(evaluation.loss)})` : ''}:`);
    print(evaluation.report.replace(/\n+$/, ''));
    print(`confusion matrix, ${evaluation.split} split (rows: true class, columns: predicted):`);
    print(confusionTable(evaluation.confusion, report.classes));
  }
}

export function confusionTable(confusion: number[][], classes: string[]): string {
  const names = classes.length === confusion.length ? classes : confusion.map((_, i) => String(i));
  return table(['true \\ predicted', ...names], confusion.map((row, i) => [names[i], ...row]));
}

/**
 * Writes the run's plots into `dir`. A plot with nothing to draw yet (409: no epoch, no evaluation)
 * is skipped with a note; any other failure stops.
 */
async function downloadPlots(api: ApiClient, runId: string, dir: string, printError: (text: string) => void): Promise<Array<{ file: string; bytes: number }>> {
  await fs.mkdir(dir, { recursive: true });
  const written: Array<{ file: string; bytes: number }> = [];
  for (const name of PLOT_FILES) {
    const file = path.join(dir, name);
    try {
      const { bytes } = await api.download(`/runs/${encodeURIComponent(runId)}/plots/${name}`, file);
      written.push({ file, bytes });
    } catch (error) {
      if (!(error instanceof CliError) || !/ failed with 409: /.test(error.message)) throw error;
      printError(`not written: ${name}: ${error.message.replace(/^.* failed with 409: /, '')}`);
    }
  }
  if (written.length === 0) throw new CliError(`run ${runId} has nothing to plot yet`);
  return written;
}

function headName(config: Record<string, unknown>): string {
  const hidden = config.hidden;
  const chosen = (config.search as { chosen?: string } | undefined)?.chosen;
  return `${String(config.head ?? '?')}${Array.isArray(hidden) ? ` ${hidden.join(',')}` : ''}${chosen ? ' (auto)' : ''}`;
}

/** What a `--head auto` run's model is: how many candidates it averages and whether it mirrors each image ('' for other runs). */
export function searchedModelLine(config: Record<string, unknown>): string {
  const search = config.search as { members?: string[]; testTimeAugment?: string } | undefined;
  if (!search) return '';
  const members = search.members ?? [];
  const model = members.length > 1 ? `the mean of ${members.length} candidates' probabilities (the chosen one and each ◀ member)` : 'the chosen candidate';
  return `model: ${model}${search.testTimeAugment === 'hflip' ? ', each image averaged with its mirror (test-time augmentation; predict --tta none turns it off)' : ''}`;
}

/**
 * What a `--head auto --cv-folds` search's cross-validation decided ('' without it): the converged
 * candidate it kept, and, where a step-trained candidate led the validation ranking, which of the
 * two won and by how much.
 */
export function crossValidationLine(config: Record<string, unknown>, candidates: readonly RunCandidateView[]): string {
  const search = config.search as { convergedFolds?: number; convergedPreference?: { leader: string; converged: string; accuracyMargin: number; standardError: number; winner: string } } | undefined;
  if (!search?.convergedFolds) return '';
  const kept = candidates.find((c) => c.outcome === 'fit' && c.cvAccuracy !== null);
  const points = (x: number) => `${(x * 100).toFixed(1)} points`;
  const lines = [`cross-validation (${search.convergedFolds} folds of the training split) kept ${kept ? `${kept.name} (${(kept.cvAccuracy! * 100).toFixed(1)}% held out)` : 'no converged candidate'}`];
  const p = search.convergedPreference;
  if (p) {
    const beat = p.winner === p.leader;
    lines.push(
      `${p.leader} led validation by ${points(p.accuracyMargin)} (standard error ${points(p.standardError)}): ${beat ? 'more than one standard error, so it won' : `within one standard error, so ${p.converged} won`}`,
    );
  }
  return lines.join('\n');
}

/** What a converged candidate was fit on: the whole training split, or a sample of one too large to hold. */
export function fitOn(c: Pick<RunCandidateView, 'sampleRows' | 'splitRows'>): string {
  return c.sampleRows === null || c.sampleRows === undefined || !c.splitRows
    ? 'fit on the whole split'
    : `fit on a sample of ${c.sampleRows.toLocaleString('en-US')} of ${c.splitRows.toLocaleString('en-US')} rows`;
}

/** A `--head auto` run's leaderboard: rank, candidate, how far it trained, its validation metrics; the chosen one and the ensemble's other members marked. */
export function leaderboardTable(candidates: RunCandidateView[], members: readonly string[] = []): string {
  const percent = (x: number | null) => (x === null ? '' : `${(x * 100).toFixed(1)}%`);
  const crossValidated = (c: RunCandidateView) => (c.cvAccuracy === null ? '' : `, cross-validation ${percent(c.cvAccuracy)}`);
  const trained = (c: RunCandidateView) =>
    c.outcome === 'baseline'
      ? 'baseline (never the model)'
      : c.outcome === 'fit'
        ? `${fitOn(c)} (L-BFGS)${crossValidated(c)}`
        : c.outcome === 'ruled-out'
          ? `fit (L-BFGS), ruled out by cross-validation${crossValidated(c)}`
        : c.outcome === 'skipped'
          ? 'skipped (training split too large to hold, a sample too small)'
          : `${c.epochsTrained} epochs, best ${c.bestEpoch ?? '-'}${c.outcome === 'pruned' ? `, pruned after ${c.prunedAfter}` : c.outcome === 'early-stopped' ? ', stopped early' : ''}`;
  return table(
    ['rank', 'candidate', 'trained', 'val accuracy', 'val loss'],
    candidates.map((c) => [`${c.rank}${c.chosen ? ' ◀ chosen' : !c.chosen && members.slice(1).includes(c.name) ? ' ◀ member' : ''}`, c.name, trained(c), percent(c.valAccuracy), fixed(c.valLoss)]),
  );
}

/** A split search's shares: index, run, status, the trainer holding it, its candidates. */
export function sharesTable(shares: RunShareView[]): string {
  return table(
    ['share', 'run', 'status', 'trainer', 'resumes', 'candidates'],
    shares.map((s) => [s.index + 1, s.id, `${s.status}${s.error ? `: ${s.error}` : ''}`, s.worker ?? '', s.resumes, `${s.positions.length} (${s.positions[0]}-${s.positions[s.positions.length - 1]})${s.knn ? ' + kNN' : ''}`]),
  );
}

/** The candidates a searched run's model averages (best first), from its configuration. */
export function membersOf(config: Record<string, unknown>): string[] {
  return (config.search as { members?: string[] } | undefined)?.members ?? [];
}

/** 0.4123: four decimals, as Keras prints its metrics; '' when there is no value. */
export function fixed(value: number | null | undefined): string {
  return value === null || value === undefined ? '' : value.toFixed(4);
}
