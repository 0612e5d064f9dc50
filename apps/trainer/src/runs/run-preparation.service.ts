import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { choosesOnValidation, DEFAULT_VALIDATION_HOLDOUT, formatHoldoutShare, searchSharesOf, Split, TrainingConfig, trainingConfigSchema } from '@featx/contracts';
import { FeatureSetRow, FeatureSetsRepository, RunRow } from '@featx/db';
import { readNpy, writeNpy } from '@featx/features';
import { classWeightsFrom, defaultSearchPlan, resolveHeadEngine, RunningStats, sharePlan, Standardization } from '@featx/learning';
import { CONFIG, FeatxConfig, JsonLogger, LOGGER } from '@featx/runtime';
import { selectBackend } from '@featx/vision';
import { ShardRef } from '@featx/shard-reads';
import { RunArtifacts } from './artifacts';
import { RunContext, RunFlags, splitRows, ValidationHoldout } from './run-context';
import { RunPhaseReporter } from './run-phase';
import { shareOf } from './share-search.service';
import { SplitStreams } from './split-streams.service';

/**
 * Everything a run needs before its first batch: the TF.js backend, its configuration, the feature
 * set and its shards by split, the artifacts folder, the standardization statistics and the class
 * weights.
 */
@Injectable()
export class RunPreparation {
  constructor(
    private readonly featureSets: FeatureSetsRepository,
    private readonly streams: SplitStreams,
    @Inject(CONFIG) private readonly appConfig: FeatxConfig,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  /** `phase`: where the run's phase goes on record (by default nowhere: a benchmark's run). */
  async prepare(run: RunRow, flags: RunFlags, phase: RunPhaseReporter = RunPhaseReporter.discarding()): Promise<RunContext> {
    // The fastest TF.js backend installed (logged once); heads train on it.
    await selectBackend(this.appConfig.vision.backend, { log: (line) => this.logger.info(line) });
    let config = trainingConfigSchema.parse(run.config);
    const set = await this.featureSets.get(run.featureSetId);
    if (!set) throw new Error(`feature set ${run.featureSetId} no longer exists`);
    if (!set.dim) throw new Error(`feature set ${set.id} has no vectors`);
    const shards: Record<Split, ShardRef[]> = { training: [], validation: [], evaluation: [] };
    const mirrorShards: Record<Split, ShardRef[]> = { training: [], validation: [], evaluation: [] };
    /** The training images' shards, and their mirrors' (a validation split held out of training reads them). */
    const trainingImageShards: ShardRef[] = [];
    const trainingMirrorShards: ShardRef[] = [];
    for (const shard of await this.featureSets.shards(set.id)) {
      // Augmented rows (an hflip set's mirrored training images) are training rows: their shards are
      // shuffled in with the images' chunk by chunk. Validation and evaluation rows are the images;
      // their mirrors serve test-time augmentation only.
      if (shard.rows === 0) continue;
      const ref = { id: shard.id, writer: shard.writer, path: shard.path, rows: shard.rows };
      if (shard.augment === 'none' || shard.split === 'training') shards[shard.split].push(ref);
      else mirrorShards[shard.split].push(ref);
      if (shard.split === 'training') (shard.augment === 'none' ? trainingImageShards : trainingMirrorShards).push(ref);
    }
    if (shards.training.length === 0) throw new Error(`feature set ${set.id} has no training rows`);
    const artifacts = new RunArtifacts(this.appConfig.training.artifactsDir, run.id);
    await fs.mkdir(artifacts.dir, { recursive: true });
    let mirrors = mirroredSplits(shards, mirrorShards);
    const holdout = await this.holdOut(set, config, shards);
    if (holdout) {
      // Read through the held-out filter (SplitStreams), the held images' mirrors too (for test-time
      // augmentation where every one of them and every evaluation image has its mirror); on record,
      // so that every restart and search share holds out the same images.
      shards.validation = trainingImageShards;
      mirrors = holdout.mirrored && splitRows({ shards: mirrorShards, holdout: null }, 'evaluation') === splitRows({ shards, holdout: null }, 'evaluation') ? { validation: trainingMirrorShards, evaluation: mirrorShards.evaluation } : null;
      config = { ...config, validationHoldout: holdout.share };
      this.logger.info('validation split held out of the training split', { runId: run.id, featureSetId: set.id, share: holdout.share, validationRows: holdout.rows.validation, trainingRows: holdout.rows.training, testTimeMirrors: Boolean(mirrors) });
    }
    if (set.augment === 'hflip' && !mirrors) this.logger.info('no test-time augmentation: the set has no mirror of every validation and evaluation image (extracted before those were mirrored)', { runId: run.id, featureSetId: set.id });
    const context: RunContext = {
      run,
      config,
      set,
      dim: set.dim,
      classes: run.classes,
      shards,
      mirrors,
      holdout,
      artifacts,
      standardization: null,
      statistics: null,
      members: [],
      engine: resolveHeadEngine(this.appConfig.training.engine),
      flags,
      phase,
    };
    // head auto: the statistics are there for its standardized candidates (and kept only if one wins,
    // or, in `statistics`, for the members of its ensemble); see needsStatistics.
    const ensemble = (config.search?.members?.length ?? 0) > 1;
    const searched = config.head === 'auto' || ensemble;
    const statistics = needsStatistics(run, config, set.dim, this.appConfig.training.searchShares) || ensemble ? await this.standardization(context) : null;
    context.standardization = config.standardize || config.head === 'auto' ? statistics : null;
    context.statistics = searched ? statistics : null;
    if (config.classWeights) {
      const counts = await this.featureSets.labelCounts(set.id, 'training');
      context.classWeights = classWeightsFrom(run.classes.map((label) => counts.get(label) ?? 0));
    }
    return context;
  }

  /**
   * The validation split a run holds out of the training split: where it asks for one
   * (`validationHoldout`), or where the set has none and the run chooses on validation. Null where
   * the set's own validation split serves.
   */
  private async holdOut(set: FeatureSetRow, config: TrainingConfig, shards: Record<Split, ShardRef[]>): Promise<ValidationHoldout | null> {
    const hasValidation = shards.validation.length > 0;
    if (hasValidation && config.validationHoldout !== undefined) {
      throw new Error(`feature set ${set.id} has a validation split: validationHoldout (${config.validationHoldout}) is for sets without one; leave it out`);
    }
    const share = config.validationHoldout ?? (!hasValidation && choosesOnValidation(config) ? DEFAULT_VALIDATION_HOLDOUT : undefined);
    if (share === undefined) return null;
    const held = await this.featureSets.heldOutTrainingImages(set.id, share);
    if (held.imageIds.length === 0) {
      throw new Error(`feature set ${set.id} has no validation split, and no class of its training split has enough images to hold ${formatHoldoutShare(share)} of them out as one`);
    }
    const trainingRows = splitRows({ shards, holdout: null }, 'training');
    return {
      share,
      imageIds: new Set(held.imageIds),
      rows: { validation: held.imageIds.length, training: trainingRows - held.imageIds.length - held.mirrors },
      mirrored: held.mirrors === held.imageIds.length,
    };
  }

  /** Mean and std per value from one streaming pass over the training split (kept for resuming and prediction). */
  async standardization(context: RunContext): Promise<Standardization> {
    const folder = context.artifacts.file('standardization');
    if (await context.artifacts.exists(path.join(folder, 'std.npy'))) {
      return { mean: (await readNpy(path.join(folder, 'mean.npy'))).data as Float32Array, std: (await readNpy(path.join(folder, 'std.npy'))).data as Float32Array };
    }
    const stats = new RunningStats(context.dim);
    context.phase.begin({ step: 'standardizing', unit: 'rows', done: 0, total: splitRows(context, 'training'), rowsPerSecond: null });
    for await (const batch of this.streams.stream(context, 'training', { order: 'sequential', epoch: 0, standardize: false })) {
      stats.add(batch.features, batch.rows);
      context.phase.addRows(batch.rows);
    }
    const { mean, std } = stats.result();
    await context.artifacts.replaceFolder(folder, async (dir) => {
      await writeNpy(path.join(dir, 'mean.npy'), '<f4', [context.dim], mean);
      await writeNpy(path.join(dir, 'std.npy'), '<f4', [context.dim], std);
    });
    return { mean, std };
  }
}

/**
 * Whether the run needs the training split's statistics before it trains: `--standardize`; head
 * auto searched here, for its standardized candidates (kept only if one wins); a search share
 * holding standardized candidates. A search split into shares computes them only if its winner is
 * standardized, once the shares are done.
 */
function needsStatistics(run: RunRow, config: TrainingConfig, dim: number, searchShares: number): boolean {
  if (run.kind === 'search-share') return sharePlan(defaultSearchPlan(dim), shareOf(run)).candidates.some((c) => c.input === 'standardized');
  return config.standardize || (config.head === 'auto' && searchSharesOf(config, searchShares) === 1);
}

/** The validation and evaluation mirrors, where every row of both splits has one (row counts equal); else null. */
function mirroredSplits(shards: Record<Split, ShardRef[]>, mirrors: Record<Split, ShardRef[]>): RunContext['mirrors'] {
  const rows = (refs: ShardRef[]) => refs.reduce((n, ref) => n + ref.rows, 0);
  const complete = rows(mirrors.validation) > 0 && (['validation', 'evaluation'] as const).every((split) => rows(mirrors[split]) === rows(shards[split]));
  return complete ? { validation: mirrors.validation, evaluation: mirrors.evaluation } : null;
}
