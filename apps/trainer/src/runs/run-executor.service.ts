import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { BusClient } from '@featx/bus';
import { epochFinishedEvent, TrainingConfig, trainingConfigSchema } from '@featx/contracts';
import { FeatureSetRow, FeatureSetsRepository, RunRow, RunsRepository } from '@featx/db';
import { readNpy, writeNpy } from '@featx/features';
import {
  classWeightsFrom,
  createHead,
  exportTfjsModel,
  L2_GRID,
  loadCheckpoint,
  RunningStats,
  saveCheckpoint,
  selectL2,
  standardizeInPlace,
  TrainableHead,
} from '@featx/learning';
import { classificationReport, confusionMatrixSvg, formatClassificationReport, svgToPng, trainingCurvesSvg } from '@featx/reports';
import { CONFIG, FeatxConfig, JsonLogger, LOGGER } from '@featx/runtime';
import { selectBackend } from '@featx/vision';
import { streamSplit, StreamBatch } from '../data/feature-stream';
import { ShardRef, ShardRowsClient } from '../data/shard-rows.client';
import { RunArtifacts } from './artifacts';

export type RunOutcome = { status: 'succeeded' | 'failed' | 'cancelled'; error?: string } | { status: 'released' };

type Split = 'training' | 'validation' | 'evaluation';

/** Epochs each L2 candidate trains for when logistic regression picks its L2 on the validation split. */
const L2_SEARCH_EPOCHS = 10;
const HEARTBEAT_MS = 2000;

interface Standardization {
  mean: Float32Array;
  std: Float32Array;
}

/** What a checkpoint records beside the head, to resume exactly where the run stopped. */
interface CheckpointMeta {
  epochsDone: number;
  bestEpoch: number | null;
  bestValLoss: number | null;
  epochsSinceBest: number;
}

interface RunContext {
  run: RunRow;
  config: TrainingConfig;
  set: FeatureSetRow;
  dim: number;
  classes: string[];
  shards: Record<Split, ShardRef[]>;
  artifacts: RunArtifacts;
  standardization: Standardization | null;
  classWeights?: Float32Array;
  flags: { cancelled: boolean; lost: boolean; signal: AbortSignal };
}

class Interrupted extends Error {}

/**
 * Trains one run: streams the training split from the feature store each epoch (reshuffled),
 * validates, checkpoints, records metrics; then evaluates on the evaluation split and writes the
 * model with everything prediction needs. Resumes from the checkpoint when the run had one.
 */
@Injectable()
export class RunExecutor {
  constructor(
    private readonly runs: RunsRepository,
    private readonly featureSets: FeatureSetsRepository,
    private readonly client: BusClient,
    @Inject(CONFIG) private readonly appConfig: FeatxConfig,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async execute(run: RunRow, worker: string, signal: AbortSignal): Promise<RunOutcome> {
    const flags = { cancelled: run.cancelRequested, lost: false, signal };
    const heartbeat = setInterval(() => {
      void this.runs.heartbeat(run.id, worker).then(
        (state) => {
          flags.cancelled ||= state.cancelRequested;
          flags.lost ||= !state.stillOwned;
        },
        () => undefined,
      );
    }, HEARTBEAT_MS);
    try {
      const context = await this.prepare(run, flags);
      return await this.train(context);
    } catch (error) {
      if (error instanceof Interrupted) return this.interruption(flags);
      return { status: 'failed', error: (error as Error).message };
    } finally {
      clearInterval(heartbeat);
    }
  }

  private interruption(flags: RunContext['flags']): RunOutcome {
    if (flags.cancelled) return { status: 'cancelled' };
    return { status: 'released' };
  }

  private async prepare(run: RunRow, flags: RunContext['flags']): Promise<RunContext> {
    // The fastest TF.js backend installed (logged once); heads train on it.
    await selectBackend(this.appConfig.vision.backend, { log: (line) => this.logger.info(line) });
    const config = trainingConfigSchema.parse(run.config);
    const set = await this.featureSets.get(run.featureSetId);
    if (!set) throw new Error(`feature set ${run.featureSetId} no longer exists`);
    if (!set.dim) throw new Error(`feature set ${set.id} has no vectors`);
    const shards: Record<Split, ShardRef[]> = { training: [], validation: [], evaluation: [] };
    for (const shard of await this.featureSets.shards(set.id)) if (shard.rows > 0) shards[shard.split].push({ id: shard.id, writer: shard.writer, rows: shard.rows });
    if (shards.training.length === 0) throw new Error(`feature set ${set.id} has no training rows`);
    const artifacts = new RunArtifacts(this.appConfig.training.artifactsDir, run.id);
    await fs.mkdir(artifacts.dir, { recursive: true });
    const context: RunContext = { run, config, set, dim: set.dim, classes: run.classes, shards, artifacts, standardization: null, flags };
    context.standardization = config.standardize ? await this.standardization(context) : null;
    if (config.classWeights) {
      const counts = await this.featureSets.labelCounts(set.id, 'training');
      context.classWeights = classWeightsFrom(run.classes.map((label) => counts.get(label) ?? 0));
    }
    return context;
  }

  /** Mean and std per value from one streaming pass over the training split (kept for resuming and prediction). */
  private async standardization(context: RunContext): Promise<Standardization> {
    const folder = context.artifacts.file('standardization');
    if (await context.artifacts.exists(path.join(folder, 'std.npy'))) {
      return { mean: (await readNpy(path.join(folder, 'mean.npy'))).data as Float32Array, std: (await readNpy(path.join(folder, 'std.npy'))).data as Float32Array };
    }
    const stats = new RunningStats(context.dim);
    for await (const batch of this.stream(context, 'training', 'sequential', 0, false)) stats.add(batch.features, batch.rows);
    const { mean, std } = stats.result();
    await context.artifacts.replaceFolder(folder, async (dir) => {
      await writeNpy(path.join(dir, 'mean.npy'), '<f4', [context.dim], mean);
      await writeNpy(path.join(dir, 'std.npy'), '<f4', [context.dim], std);
    });
    return { mean, std };
  }

  private async train(context: RunContext): Promise<RunOutcome> {
    const { run, config, artifacts } = context;
    let head: TrainableHead;
    let meta: CheckpointMeta = { epochsDone: 0, bestEpoch: null, bestValLoss: null, epochsSinceBest: 0 };
    if (run.epochsDone > 0 && (await artifacts.exists(artifacts.checkpoint))) {
      head = await loadCheckpoint(artifacts.checkpoint);
      meta = JSON.parse(await fs.readFile(path.join(artifacts.checkpoint, 'featx-run.json'), 'utf8')) as CheckpointMeta;
      this.logger.info('resumed from checkpoint', { runId: run.id, epochsDone: meta.epochsDone });
    } else {
      const l2 = config.head === 'logistic' ? (config.l2 ?? (await this.chooseL2(context))) : (config.l2 ?? 0);
      // Time-based decay is the tutorial's SGD setting; Adam runs without it unless asked.
      const resolved = { ...config, l2, decay: config.optimizer === 'sgd' ? (config.decay ?? config.learningRate / config.epochs) : config.decay };
      await this.runs.setConfig(run.id, resolved);
      context.config = resolved;
      head = this.newHead(context, l2);
    }

    try {
      for (let epoch = meta.epochsDone; epoch < config.epochs; epoch++) {
        const started = Date.now();
        const training = await this.runEpoch(context, head, epoch);
        const validation = context.shards.validation.length ? await this.evaluate(context, head, 'validation') : null;
        const durationMs = Date.now() - started;
        const improved = validation !== null && (meta.bestValLoss === null || validation.loss < meta.bestValLoss);
        meta = {
          epochsDone: epoch + 1,
          bestEpoch: improved ? epoch + 1 : meta.bestEpoch,
          bestValLoss: improved ? validation!.loss : meta.bestValLoss,
          epochsSinceBest: improved ? 0 : meta.epochsSinceBest + 1,
        };
        const metric = {
          runId: run.id,
          epoch: epoch + 1,
          trainLoss: training.loss,
          trainAccuracy: training.accuracy,
          valLoss: validation?.loss ?? null,
          valAccuracy: validation?.accuracy ?? null,
          learningRate: head.optimizer.learningRateAt(head.step),
          durationMs,
          rowsPerSecond: training.rowsPerSecond,
        };
        // The epoch goes on record before its checkpoint: a trainer killed in between leaves the
        // previous checkpoint, and the resumed run trains this epoch again (its row is replaced),
        // so no epoch is ever skipped or recorded twice.
        await this.runs.recordEpoch(metric, { epochsDone: meta.epochsDone, bestEpoch: meta.bestEpoch, bestValLoss: meta.bestValLoss, artifactsPath: artifacts.relativePath });
        await this.checkpoint(context, head, meta, improved);
        await this.client.dispatch(epochFinishedEvent, { v: 1, ...metric, epochs: config.epochs, durationMs }).catch(() => undefined);
        if (config.earlyStoppingPatience !== undefined && meta.epochsSinceBest >= config.earlyStoppingPatience) {
          this.logger.info('early stopping', { runId: run.id, epoch: epoch + 1, bestEpoch: meta.bestEpoch });
          break;
        }
      }
      // With early stopping the best checkpoint is the model; otherwise the last epoch's.
      if (config.earlyStoppingPatience !== undefined && (await artifacts.exists(artifacts.best))) {
        head.dispose();
        head = await loadCheckpoint(artifacts.best);
      }
      await this.finish(context, head);
      return { status: 'succeeded' };
    } finally {
      head.dispose();
    }
  }

  private newHead(context: RunContext, l2: number): TrainableHead {
    const { config } = context;
    return createHead(
      { kind: config.head, inputDim: context.dim, classes: context.classes.length, hidden: config.hidden, dropout: config.dropout, l2 },
      config.seed,
      config.optimizer === 'adam'
        ? { kind: 'adam', learningRate: config.learningRate, decay: config.decay ?? 0 }
        : { kind: 'sgd', learningRate: config.learningRate, momentum: config.momentum, decay: config.decay ?? config.learningRate / config.epochs },
    );
  }

  /** Logistic regression without a given L2: the grid value with the lowest validation loss. */
  private async chooseL2(context: RunContext): Promise<number> {
    if (context.shards.validation.length === 0) return 1e-4;
    const epochs = Math.min(context.config.epochs, L2_SEARCH_EPOCHS);
    const chosen = await selectL2(L2_GRID, async (l2: number) => {
      const head = this.newHead(context, l2);
      try {
        for (let epoch = 0; epoch < epochs; epoch++) await this.runEpoch(context, head, epoch);
        return (await this.evaluate(context, head, 'validation')).loss;
      } finally {
        head.dispose();
      }
    });
    this.logger.info('L2 chosen on the validation split', { runId: context.run.id, l2: chosen, grid: L2_GRID });
    return chosen;
  }

  private async runEpoch(context: RunContext, head: TrainableHead, epoch: number) {
    const started = Date.now();
    let rows = 0;
    let lossSum = 0;
    let correct = 0;
    for await (const batch of this.stream(context, 'training', 'shuffled', epoch)) {
      this.checkInterrupted(context);
      const result = head.trainBatch(batch.features, batch.labels, { classWeights: context.classWeights });
      lossSum += result.loss * batch.rows;
      correct += result.correct;
      rows += batch.rows;
    }
    const seconds = (Date.now() - started) / 1000;
    return { loss: lossSum / rows, accuracy: correct / rows, rowsPerSecond: seconds > 0 ? rows / seconds : rows };
  }

  private async evaluate(context: RunContext, head: TrainableHead, split: Split) {
    let rows = 0;
    let lossSum = 0;
    let correct = 0;
    const truth: number[] = [];
    const predicted: number[] = [];
    for await (const batch of this.stream(context, split, 'sequential', 0)) {
      this.checkInterrupted(context);
      const result = head.evaluateBatch(batch.features, batch.labels);
      lossSum += result.lossSum;
      correct += result.correct;
      rows += batch.rows;
      truth.push(...batch.labels);
      predicted.push(...result.predicted);
    }
    return { loss: lossSum / Math.max(rows, 1), accuracy: correct / Math.max(rows, 1), truth, predicted };
  }

  private async *stream(context: RunContext, split: Split, order: 'shuffled' | 'sequential', epoch: number, standardize = true): AsyncGenerator<StreamBatch> {
    const client = new ShardRowsClient(this.client);
    for await (const batch of streamSplit(client, context.shards[split], {
      dim: context.dim,
      batchRows: context.config.batchSize,
      order,
      seed: context.config.seed,
      epoch,
      shuffleBufferRows: context.config.shuffleBuffer,
    })) {
      if (standardize && context.standardization) standardizeInPlace(batch.features, context.standardization);
      yield batch;
    }
  }

  private checkInterrupted(context: RunContext): void {
    if (context.flags.cancelled || context.flags.lost || context.flags.signal.aborted) throw new Interrupted();
  }

  private async checkpoint(context: RunContext, head: TrainableHead, meta: CheckpointMeta, improved: boolean): Promise<void> {
    const { artifacts } = context;
    await artifacts.replaceFolder(artifacts.checkpoint, async (dir) => {
      await saveCheckpoint(head, dir);
      await fs.writeFile(path.join(dir, 'featx-run.json'), JSON.stringify(meta));
    });
    if (improved) await artifacts.copyFolder(artifacts.checkpoint, artifacts.best);
  }

  /** Evaluation report, the model for prediction, and the pictures. */
  private async finish(context: RunContext, head: TrainableHead): Promise<void> {
    const { run, artifacts, classes } = context;
    for (const split of ['validation', 'evaluation'] as const) {
      if (context.shards[split].length === 0) continue;
      const result = await this.evaluate(context, head, split);
      const report = classificationReport(result.truth, result.predicted, classes);
      await this.runs.saveEvaluation({
        runId: run.id,
        split,
        accuracy: report.accuracy,
        loss: result.loss,
        perClass: report.perClass,
        macroAvg: report.macroAvg,
        weightedAvg: report.weightedAvg,
        confusion: report.confusion,
        report: formatClassificationReport(report),
      });
      if (split === 'evaluation') {
        const svg = confusionMatrixSvg(report.confusion, classes, { title: `Confusion matrix — evaluation split (accuracy ${(report.accuracy * 100).toFixed(1)}%)` });
        await fs.writeFile(artifacts.file('confusion.svg'), svg);
        await fs.writeFile(artifacts.file('confusion.png'), await svgToPng(svg));
      }
    }
    const epochs = await this.runs.epochs(run.id);
    const curves = trainingCurvesSvg(
      epochs.map((e) => ({ epoch: e.epoch, trainLoss: e.trainLoss, trainAccuracy: e.trainAccuracy, valLoss: e.valLoss ?? undefined, valAccuracy: e.valAccuracy ?? undefined })),
      { title: `Training — run ${run.id.slice(0, 8)}` },
    );
    await fs.writeFile(artifacts.file('curves.svg'), curves);
    await fs.writeFile(artifacts.file('curves.png'), await svgToPng(curves));

    await artifacts.replaceFolder(artifacts.model, async (dir) => {
      await exportTfjsModel(head, dir, { metadata: { classes } });
      if (context.standardization) {
        await writeNpy(path.join(dir, 'standardization-mean.npy'), '<f4', [context.dim], context.standardization.mean);
        await writeNpy(path.join(dir, 'standardization-std.npy'), '<f4', [context.dim], context.standardization.std);
      }
      await fs.writeFile(
        path.join(dir, 'featx-head.json'),
        JSON.stringify(
          {
            runId: run.id,
            featureSetId: context.set.id,
            network: {
              model: context.set.model,
              layer: context.set.layer || null,
              pooling: context.set.pooling,
              dtype: context.set.dtype,
              dim: context.dim,
              engine: context.set.engine,
            },
            classes,
            standardization: context.standardization ? { mean: 'standardization-mean.npy', std: 'standardization-std.npy' } : null,
            config: context.config,
          },
          null,
          2,
        ),
      );
    });
  }
}
