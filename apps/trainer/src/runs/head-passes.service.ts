import { Injectable } from '@nestjs/common';
import { Split } from '@featx/contracts';
import {
  averageWithMirrors,
  CandidateViews,
  FeatureBatch,
  InputView,
  meanProbabilities,
  mirrorRowsOf,
  probabilitiesPass,
  scoreProbabilities,
  TrainableHead,
  trainedBatches,
  viewOfBatch,
} from '@featx/learning';
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
    // streamSplit leaves a batch as it is until the third after it is asked for: a step may read the previous batch in place.
    const options = { classWeights: context.classWeights, featuresKeptUntilNextStep: true, beforeStep: () => throwIfInterrupted(context.flags) };
    for await (const { batch, result } of trainedBatches(head, batches, options)) {
      lossSum += result.loss * batch.rows;
      correct += result.correct;
      rows += batch.rows;
    }
    const seconds = (Date.now() - started) / 1000;
    return { loss: lossSum / rows, accuracy: correct / rows, rowsPerSecond: seconds > 0 ? rows / seconds : rows };
  }

  /** The head on a split, in stored order; `onRows` is told each batch's rows once evaluated. */
  async evaluate(context: RunContext, head: TrainableHead, split: Split, onRows?: (rows: number) => void): Promise<EvaluationPass> {
    if (context.members.length > 0 || testTimeMirrors(context)) return this.evaluateAveraged(context, head, split, onRows);
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

  /**
   * The model's probabilities where they are an average: of the run's head and its ensemble's
   * members (each on its own preparation of the rows as stored), and of each image and its mirror
   * where the run was searched with test-time augmentation.
   */
  private async evaluateAveraged(context: RunContext, head: TrainableHead, split: Split, onRows?: (rows: number) => void): Promise<EvaluationPass> {
    const classes = context.classes.length;
    const members = [{ head, input: inputViewOf(context), standardization: context.standardization }, ...context.members];
    const views: CandidateViews = {
      transforms: members.map((member) => (batch: FeatureBatch) => viewOfBatch(member.input, batch, context.dim, member.standardization)),
      viewOf: members.map((_, k) => k),
    };
    const heads = members.map((member) => member.head);
    const beforeBatch = () => throwIfInterrupted(context.flags);
    const images = await probabilitiesPass(heads, counted(this.streams.stream(context, split, { order: 'sequential', epoch: 0, raw: true }), onRows), { views, beforeBatch });
    let perHead = images.probabilities;
    if (testTimeMirrors(context)) {
      const mirrors = await probabilitiesPass(heads, this.streams.stream(context, split, { order: 'sequential', epoch: 0, raw: true, mirrors: true }), { views, beforeBatch });
      const mirrorOf = mirrorRowsOf(images.imageIds!, mirrors.imageIds!);
      perHead = perHead.map((p, k) => averageWithMirrors(p, mirrors.probabilities[k], classes, mirrorOf));
    }
    const averaged = meanProbabilities(perHead);
    const score = scoreProbabilities(averaged, images.labels, classes);
    const probabilities = Array.from(score.predicted, (best, row) => averaged[row * classes + best]);
    return { loss: score.loss, accuracy: score.accuracy, truth: [...images.labels], predicted: [...score.predicted], imageIds: [...images.imageIds!], probabilities };
  }
}

/** The run was searched on images averaged with their mirrors, and its set has them. */
export function testTimeMirrors(context: Pick<RunContext, 'config' | 'mirrors'>): boolean {
  return context.config.search?.testTimeAugment === 'hflip' && context.mirrors !== null;
}

/** How the run's own head takes its inputs, from its configuration. */
function inputViewOf(context: RunContext): InputView {
  if (context.config.normalize === 'power') return 'power';
  return context.config.standardize ? 'standardized' : 'raw';
}

async function* counted<T extends { rows: number }>(source: AsyncIterable<T>, onRows?: (rows: number) => void): AsyncGenerator<T> {
  for await (const batch of source) {
    yield batch;
    onRows?.(batch.rows);
  }
}
