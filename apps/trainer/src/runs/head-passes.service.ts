import { Injectable } from '@nestjs/common';
import { Split } from '@featx/contracts';
import { TrainableHead, trainedBatches } from '@featx/learning';
import { RunContext, throwIfInterrupted } from './run-context';
import { SplitStreams } from './split-streams.service';

export interface TrainingPass {
  loss: number;
  accuracy: number;
  rowsPerSecond: number;
}

export interface EvaluationPass {
  loss: number;
  accuracy: number;
  truth: number[];
  predicted: number[];
  /** Per row, in the same order: the image, and the head's probability of the class it predicted. */
  imageIds: number[];
  probabilities: number[];
}

/** One pass of a head over a split: an epoch of training, or an evaluation. Both stop between batches when the run is interrupted. */
@Injectable()
export class HeadPasses {
  constructor(private readonly streams: SplitStreams) {}

  /** One epoch over the training split, in the epoch's shuffled order; the next batch is read while a step runs (trainedBatches). */
  async train(context: RunContext, head: TrainableHead, epoch: number): Promise<TrainingPass> {
    const started = Date.now();
    let rows = 0;
    let lossSum = 0;
    let correct = 0;
    const batches = this.streams.stream(context, 'training', { order: 'shuffled', epoch });
    for await (const { batch, result } of trainedBatches(head, batches, { classWeights: context.classWeights, beforeStep: () => throwIfInterrupted(context.flags) })) {
      lossSum += result.loss * batch.rows;
      correct += result.correct;
      rows += batch.rows;
    }
    const seconds = (Date.now() - started) / 1000;
    return { loss: lossSum / rows, accuracy: correct / rows, rowsPerSecond: seconds > 0 ? rows / seconds : rows };
  }

  /** The head on a split, in stored order; `onRows` is told each batch's rows once evaluated. */
  async evaluate(context: RunContext, head: TrainableHead, split: Split, onRows?: (rows: number) => void): Promise<EvaluationPass> {
    let rows = 0;
    let lossSum = 0;
    let correct = 0;
    const truth: number[] = [];
    const predicted: number[] = [];
    const imageIds: number[] = [];
    const probabilities: number[] = [];
    const classes = context.classes.length;
    for await (const batch of this.streams.stream(context, split, { order: 'sequential', epoch: 0 })) {
      throwIfInterrupted(context.flags);
      const result = head.evaluateBatch(batch.features, batch.labels);
      const proba = head.predictProba(batch.features);
      lossSum += result.lossSum;
      correct += result.correct;
      rows += batch.rows;
      truth.push(...batch.labels);
      predicted.push(...result.predicted);
      imageIds.push(...batch.imageIds);
      for (let row = 0; row < batch.rows; row++) probabilities.push(proba[row * classes + result.predicted[row]]);
      onRows?.(batch.rows);
    }
    return { loss: lossSum / Math.max(rows, 1), accuracy: correct / Math.max(rows, 1), truth, predicted, imageIds, probabilities };
  }
}
