import { Inject, Injectable } from '@nestjs/common';
import { L2_GRID, selectL2, TrainableHead } from '@featx/learning';
import { JsonLogger, LOGGER } from '@featx/runtime';
import { CandidateTraining } from './candidate-training.service';
import { requireValidationRows, RunContext, splitRows } from './run-context';
import { createRunHead } from './run-head';

/** Epochs each L2 candidate trains for when logistic regression picks its L2 on the validation split. */
const L2_SEARCH_EPOCHS = 10;

/**
 * Logistic regression without a given L2: the grid value with the lowest validation loss. The
 * candidates train together, on each batch read once (CandidateTraining). The run's phase is
 * `choosing-l2` meanwhile: rows through the candidates of all the search's passes (each epoch's
 * training pass, then the validation pass), and the epoch they are in.
 */
@Injectable()
export class L2Search {
  constructor(
    private readonly candidates: CandidateTraining,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async choose(context: RunContext): Promise<number> {
    requireValidationRows(context, 'a logistic head without l2');
    const epochs = Math.min(context.config.epochs, L2_SEARCH_EPOCHS);
    const { phase } = context;
    phase.begin({
      step: 'choosing-l2',
      unit: 'rows',
      done: 0,
      total: epochs * splitRows(context, 'training') + splitRows(context, 'validation'),
      rowsPerSecond: null,
      candidates: L2_GRID.length,
      epoch: 1,
      epochs,
    });
    const heads: TrainableHead[] = [];
    try {
      for (const l2 of L2_GRID) heads.push(createRunHead(context, l2));
      const progress = await this.candidates.trainCandidates(context, heads, {
        epochs,
        validate: 'last-epoch',
        onEpochStart: (epoch) => phase.candidatesEpoch(epoch + 1),
        onRows: (rows) => phase.addRows(rows),
      });
      const losses = progress.map((candidate) => candidate.valLoss ?? Number.NaN);
      const chosen = selectL2(L2_GRID, losses);
      this.logger.info('L2 chosen on the validation split', { runId: context.run.id, l2: chosen, grid: L2_GRID, validationLosses: losses });
      return chosen;
    } finally {
      heads.forEach((head) => head.dispose());
    }
  }
}
