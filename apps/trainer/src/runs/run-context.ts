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
   * with its mirror); a held-out validation split's are the training split's mirror shards, read
   * through the same filter. Null for other sets (and hflip sets extracted before those were mirrored).
   */
  mirrors: Record<'validation' | 'evaluation', ShardRef[]> | null;
  /** Where the set has no validation split and the run needs one: the training images held out as its validation split (else null). */
  holdout: ValidationHoldout | null;
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

/**
 * A validation split held out of the training split (`validationHoldout`): the run's validation
 * shards are then its training images' shards, and both splits are read through `imageIds`.
 */
export interface ValidationHoldout {
  /** The share of each class's training images held out. */
  share: number;
  /** The held-out images: the validation split's rows, kept out of training with their mirrors. */
  imageIds: ReadonlySet<number>;
  /** Rows each split streams. */
  rows: Record<'training' | 'validation', number>;
  /** Whether every held-out image has its mirror (an hflip set's): the validation split's mirrors are theirs. */
  mirrored: boolean;
}

/** Rows of a split: its shards' committed rows (those it keeps, where the run holds out a validation split). */
export function splitRows(context: Pick<RunContext, 'shards' | 'holdout'>, split: Split): number {
  if (context.holdout && split !== 'evaluation') return context.holdout.rows[split];
  return context.shards[split].reduce((rows, shard) => rows + shard.rows, 0);
}

/**
 * What chooses on the validation split needs its rows: preparation holds some out of the training
 * split where the set has none, so this fails only a run prepared otherwise.
 */
export function requireValidationRows(context: Pick<RunContext, 'shards' | 'set'>, chooser: string): void {
  if (context.shards.validation.length === 0) throw new Error(`${chooser} chooses on the validation split, and feature set ${context.set.id} has no validation rows`);
}

/** Which of a split's rows the run reads, by image id, where it holds out a validation split; undefined: all. */
export function heldOutFilter(context: Pick<RunContext, 'holdout'>, split: Split): ((imageId: number) => boolean) | undefined {
  const held = context.holdout?.imageIds;
  if (!held || split === 'evaluation') return undefined;
  return split === 'validation' ? (imageId) => held.has(imageId) : (imageId) => !held.has(imageId);
}
