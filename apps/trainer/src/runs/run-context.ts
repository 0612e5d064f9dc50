import { Split, TrainingConfig } from '@featx/contracts';
import { FeatureSetRow, RunRow } from '@featx/db';
import { HeadEngine, Standardization } from '@featx/learning';
import { ShardRef } from '@featx/shard-reads';
import { RunArtifacts } from './artifacts';
import { RunMember } from './run-members';
import { RunPhaseReporter } from './run-phase';

/** What stops a run between two batches: a cancel request, a lost claim, or the trainer shutting down. */
export interface RunFlags {
  cancelled: boolean;
  /** Another trainer took the run over (this one's heartbeat went stale). */
  lost: boolean;
  signal: AbortSignal;
}

/** Thrown between batches when a flag is up; the executor turns it into `cancelled` or `released`. */
export class Interrupted extends Error {}

export function throwIfInterrupted(flags: RunFlags): void {
  if (flags.cancelled || flags.lost || flags.signal.aborted) throw new Interrupted();
}

/** One run being trained: what preparation found, shared by every part of the training. */
export interface RunContext {
  run: RunRow;
  /** The run's configuration; once training starts, with the L2 and decay it resolved. */
  config: TrainingConfig;
  set: FeatureSetRow;
  dim: number;
  classes: string[];
  /** Non-empty shards of the feature set by split. */
  shards: Record<Split, ShardRef[]>;
  /**
   * An hflip set whose validation and evaluation images all have their mirror: the mirrors'
   * shards, for test-time augmentation (`head: auto` selects and evaluates on each image averaged
   * with its mirror). Null for other sets (and hflip sets extracted before those were mirrored).
   */
  mirrors: Record<'validation' | 'evaluation', ShardRef[]> | null;
  artifacts: RunArtifacts;
  standardization: Standardization | null;
  /** The training split's statistics where a `head: auto` run has them (its standardized candidates and members use them). */
  statistics: Standardization | null;
  /** The heads averaged with the run's own (an ensemble `head: auto` chose); empty for one head. The executor disposes them. */
  members: RunMember[];
  classWeights?: Float32Array;
  /** What runs the run's heads (the trainer's FEATX_TRAINER_ENGINE, `auto` resolved). */
  engine: HeadEngine;
  flags: RunFlags;
  /** What the run is doing now, put on record as it goes (each stage begins its step). */
  phase: RunPhaseReporter;
}

/** Rows of a split: its shards' committed rows. */
export function splitRows(context: Pick<RunContext, 'shards'>, split: Split): number {
  return context.shards[split].reduce((rows, shard) => rows + shard.rows, 0);
}
