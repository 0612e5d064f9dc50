import { Injectable } from '@nestjs/common';
import { CandidateProgress, TrainableHead, trainCandidates, TrainCandidatesOptions } from '@featx/learning';
import { RunContext, throwIfInterrupted } from './run-context';
import { countRows } from './run-phase';
import { SplitStreams } from './split-streams.service';

export interface CandidateTrainingOptions extends Pick<TrainCandidatesOptions, 'epochs' | 'validate' | 'earlyStoppingPatience' | 'onEpoch'> {
  /** An epoch (0-based) begins: its training pass is about to read the split. */
  onEpochStart?: (epoch: number) => void;
  /** Rows the candidates have been through, batch by batch, in the training passes and the validation passes. */
  onRows?: (rows: number) => void;
}

/**
 * Candidate heads on a run's feature set (the L2 grid, or any other set of choices) trained
 * together: each epoch streams the training split once, standardized once, and every candidate
 * takes its step on each batch; one validation pass scores them all. Memory holds the candidates'
 * weights and the batches in flight, never a split.
 */
@Injectable()
export class CandidateTraining {
  constructor(private readonly streams: SplitStreams) {}

  /** Each candidate's progress, in the order of `heads`; stops between batches when the run is interrupted. */
  trainCandidates(context: RunContext, heads: readonly TrainableHead[], options: CandidateTrainingOptions): Promise<CandidateProgress[]> {
    const { onEpochStart, onRows, ...training } = options;
    const hasValidation = context.shards.validation.length > 0;
    return trainCandidates(
      heads,
      {
        training: (epoch) => {
          onEpochStart?.(epoch);
          return countRows(this.streams.stream(context, 'training', { order: 'shuffled', epoch }), onRows);
        },
        validation: hasValidation ? () => countRows(this.streams.stream(context, 'validation', { order: 'sequential', epoch: 0 }), onRows) : undefined,
      },
      { ...training, classWeights: context.classWeights, beforeBatch: () => throwIfInterrupted(context.flags) },
    );
  }
}
