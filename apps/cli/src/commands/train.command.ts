import { Command, InvalidArgumentError, Option } from 'commander';
import { EpochMetricView, HEAD_CHOICES, NORMALIZATIONS, STEP_OPTIMIZERS, QueuedRun, RunDetails, RunReport } from '@featx/contracts';
import { ApiClient, CliError } from '../api-client';
import { formatCount, formatDuration } from '../format';
import { followLive } from '../follow-live';
import { integerOption, numberOption } from '../options';
import { LiveLine, LiveProgressIo, renderProgressBar } from '../progress-bar';
import { phaseText, waitingText } from './run-phase';
import { crossValidationLine, FINISHED_STATUSES, fixed, holdoutLine, leaderboardTable, membersOf, searchedModelLine } from './runs.command';

const POLL_MS = 500;
const LIVE_BAR_WIDTH = 20;

/**
 * `featx train <featureSetId>`: asks the API for a training run, then follows it, printing each
 * epoch as Keras does with a live bar between them, until it succeeds (exit 0, with the
 * classification report of the evaluation split) or fails or is cancelled (exit 1).
 */
export function trainCommand(client: () => Promise<ApiClient>, print: (text: string) => void, printError: (text: string) => void, io: LiveProgressIo = {}): Command {
  return new Command('train')
    .description('train a classifier head (MLP or logistic regression) on a complete feature set and follow the run')
    .argument('<featureSetId>', 'feature set id (featx features ls)')
    .addOption(new Option('--head <head>', 'the head: an MLP, logistic regression, or auto: the best of a search on the validation split (default mlp)').choices([...HEAD_CHOICES]))
    .option('--hidden <sizes>', 'MLP hidden layer sizes, e.g. 256,16 (default: from the input size)', parseSizes)
    .addOption(numberOption('--dropout <x>', 'dropout after each hidden layer, 0-0.95 (default 0)'))
    .addOption(numberOption('--l2 <x>', 'logistic regression L2 strength (default: chosen on the validation split)'))
    .addOption(new Option('--optimizer <optimizer>', 'optimizer (default sgd)').choices([...STEP_OPTIMIZERS]))
    .addOption(numberOption('--lr <x>', 'learning rate (default 0.001)'))
    .addOption(numberOption('--momentum <x>', 'SGD momentum (default 0.9)'))
    .addOption(numberOption('--decay <x>', 'time-based learning rate decay (default lr / epochs)'))
    .addOption(integerOption('--epochs <n>', 'epochs (default 25)'))
    .addOption(integerOption('--batch-size <n>', 'rows per batch (default 32)'))
    .option('--class-weights', 'weight classes by their inverse frequency in the loss')
    .option('--standardize', 'standardize features with the training split’s mean and std')
    .addOption(new Option('--normalize <how>', 'power: signed square root, then L2 normalization, before any standardization (default none)').choices([...NORMALIZATIONS]))
    .addOption(integerOption('--patience <n>', 'stop early when val_loss has not improved for n epochs'))
    .addOption(numberOption('--holdout <share>', 'a set without a validation split: the share of each class\'s training images held out as one, 0-0.5 (default 0.1 where the run chooses on validation: --head auto, logistic without --l2, --patience)'))
    .addOption(integerOption('--seed <n>', 'seed of initialization and shuffling (default 42)'))
    .addOption(integerOption('--shuffle-buffer <n>', 'rows in the shuffle buffer (default 2048)'))
    .addOption(integerOption('--search-shares <n>', '--head auto: child runs the search is split into, trained by any trainer replicas (3: one per input view; 1: all in one trainer; default: the trainers\' FEATX_SEARCH_SHARES, 1 unless set)'))
    .addOption(integerOption('--cv-folds <n>', '--head auto: cross-validate the converged logistic candidates on the training split in n folds (2-10; 5 suits); one stays in the race (default: none)'))
    .option('--no-wait', 'return once the run is queued')
    .option('--json', 'print JSON')
    .action(async (featureSetId: string, opts) => {
      const api = await client();
      const queued = await api.post<QueuedRun>('/runs', {
        featureSetId,
        head: opts.head,
        hidden: opts.hidden,
        dropout: opts.dropout,
        l2: opts.l2,
        optimizer: opts.optimizer,
        learningRate: opts.lr,
        momentum: opts.momentum,
        decay: opts.decay,
        epochs: opts.epochs,
        batchSize: opts.batchSize,
        classWeights: opts.classWeights,
        standardize: opts.standardize,
        normalize: opts.normalize,
        earlyStoppingPatience: opts.patience,
        seed: opts.seed,
        shuffleBuffer: opts.shuffleBuffer,
        searchShares: opts.searchShares,
        cvFolds: opts.cvFolds,
        validationHoldout: opts.holdout,
      });
      if (!opts.wait) return print(opts.json ? JSON.stringify(queued) : `queued run ${queued.runId} (command ${queued.commandId})`);
      if (!opts.json) print(`run ${queued.runId} queued — featx runs show ${queued.runId} to look at it, featx runs cancel ${queued.runId} to stop it`);

      const run = await followRun(api, queued.runId, opts.json ? () => undefined : print, new LiveLine({ stream: io.progress, printLine: printError }));
      const report = run.status === 'succeeded' ? await api.get<RunReport>(`/runs/${run.id}/report`) : undefined;
      if (opts.json) print(JSON.stringify({ run, report }, null, 2));
      else printOutcome(print, run, report);
      if (run.status !== 'succeeded') throw new CliError(`run ${run.id} ${run.status}${run.error ? `: ${run.error}` : ''}`);
    });
}

/**
 * Polls the run until it has finished, printing each epoch once as it appears; between epochs the
 * live line shows epochs done of planned, the last epoch's rows/s and an ETA from the mean epoch
 * time, and before and after the epochs what the run is doing (its phase).
 */
async function followRun(api: ApiClient, runId: string, print: (text: string) => void, line: LiveLine): Promise<RunDetails> {
  let printed = 0;
  const run = await followLive(line, () => api.get<RunDetails>(`/runs/${runId}`), POLL_MS, (state) => {
    const fresh = state.epochMetrics.filter((e) => e.epoch > printed);
    if (fresh.length > 0) {
      line.clear();
      for (const epoch of fresh) print(epochLine(epoch, state.epochs));
      printed = fresh[fresh.length - 1].epoch;
    }
    if (FINISHED_STATUSES.has(state.status)) return false;
    line.update(liveText(state));
    return true;
  });
  line.clear();
  return run;
}

/** `Epoch 3/25 — loss: 0.4123 - accuracy: 0.8712 - val_loss: 0.3890 - val_accuracy: 0.8827 — 2.1 s, 1,460 rows/s` */
export function epochLine(e: EpochMetricView, epochs: number): string {
  const metrics = [`loss: ${fixed(e.trainLoss)}`, `accuracy: ${fixed(e.trainAccuracy)}`];
  if (e.valLoss !== null) metrics.push(`val_loss: ${fixed(e.valLoss)}`);
  if (e.valAccuracy !== null) metrics.push(`val_accuracy: ${fixed(e.valAccuracy)}`);
  return `Epoch ${e.epoch}/${epochs} — ${metrics.join(' - ')} — ${formatDuration(e.durationMs)}, ${formatCount(e.rowsPerSecond)} rows/s`;
}

/**
 * `queued, waiting for a trainer`; what the run does before and after its epochs (its phase:
 * `choosing L2 (5 candidates): epoch 3/10 [██████░░…] 30% · 1,480 rows/s · ETA 40s`); or during
 * them `epoch 4/25 [███░░…] 3/25 12% · 1460 rows/s · ETA 45s`.
 */
export function liveText(run: RunDetails): string {
  if (run.status === 'queued') return `run ${run.id.slice(0, 8)} queued, waiting for a trainer…`;
  // The epochs have their own bar, with an ETA from the epochs' times.
  if (run.phase && run.phase.step !== 'training') return phaseText(run.phase, { cancelling: run.cancelRequested, width: LIVE_BAR_WIDTH });
  const epochs = run.epochMetrics;
  const last = epochs[epochs.length - 1];
  const meanMs = epochs.length > 0 ? epochs.reduce((sum, e) => sum + e.durationMs, 0) / epochs.length : null;
  const bar = renderProgressBar({
    done: run.epochsDone,
    total: run.epochs,
    rate: last ? last.rowsPerSecond : null,
    etaSeconds: meanMs === null ? null : (meanMs * Math.max(0, run.epochs - run.epochsDone)) / 1000,
    unit: 'rows',
    width: LIVE_BAR_WIDTH,
  });
  return `epoch ${Math.min(run.epochsDone + 1, run.epochs)}/${run.epochs}${run.cancelRequested ? ' (cancelling)' : ''} ${bar}${waitingText(run.phase?.waitingFor)}`;
}

function printOutcome(print: (text: string) => void, run: RunDetails, report: RunReport | undefined): void {
  const stoppedEarly = run.status === 'succeeded' && run.epochsDone < run.epochs;
  let summary = `run ${run.id} ${run.status}${run.error ? `: ${run.error}` : ''} after ${run.epochsDone}/${run.epochs} epochs${stoppedEarly ? ' (stopped early)' : ''}`;
  if (run.bestEpoch !== null) summary += `; best epoch ${run.bestEpoch}${run.bestValLoss !== null ? ` (val_loss ${fixed(run.bestValLoss)})` : ''}`;
  print(summary);
  const holdout = holdoutLine(run.config);
  if (holdout) print(holdout);
  if (run.candidates && run.candidates.length > 0) {
    const chosen = run.candidates.find((c) => c.chosen);
    print(`head chosen on the validation split: ${chosen?.name ?? '?'} (${run.candidates.length} candidates; featx runs show ${run.id} for all of them)`);
    print(leaderboardTable(run.candidates.slice(0, 10), membersOf(run.config)));
    print(searchedModelLine(run.config));
    const crossValidation = crossValidationLine(run.config, run.candidates);
    if (crossValidation) print(crossValidation);
  }
  if (!report) return;
  const evaluation = report.evaluations.find((e) => e.split === 'evaluation') ?? report.evaluations[report.evaluations.length - 1];
  if (!evaluation) return print('no evaluation was recorded');
  print(`classification report, ${evaluation.split} split:`);
  print(evaluation.report.replace(/\n+$/, ''));
}

function parseSizes(value: string): number[] {
  const sizes = value.split(',').map((s) => Number(s.trim()));
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new InvalidArgumentError('expected whole numbers separated by commas, e.g. 256,16');
  return sizes;
}
