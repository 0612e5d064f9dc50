import { Inject, Injectable } from '@nestjs/common';
import { L2_GRID, selectL2 } from '@featx/learning';
import { JsonLogger, LOGGER } from '@featx/runtime';
import { HeadPasses } from './head-passes.service';
import { RunContext } from './run-context';
import { createRunHead } from './run-head';

/** Epochs each L2 candidate trains for when logistic regression picks its L2 on the validation split. */
const L2_SEARCH_EPOCHS = 10;

/** Logistic regression without a given L2: the grid value with the lowest validation loss. */
@Injectable()
export class L2Search {
  constructor(
    private readonly passes: HeadPasses,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async choose(context: RunContext): Promise<number> {
    if (context.shards.validation.length === 0) return 1e-4;
    const epochs = Math.min(context.config.epochs, L2_SEARCH_EPOCHS);
    const chosen = await selectL2(L2_GRID, async (l2: number) => {
      const head = createRunHead(context, l2);
      try {
        for (let epoch = 0; epoch < epochs; epoch++) await this.passes.train(context, head, epoch);
        return (await this.passes.evaluate(context, head, 'validation')).loss;
      } finally {
        head.dispose();
      }
    });
    this.logger.info('L2 chosen on the validation split', { runId: context.run.id, l2: chosen, grid: L2_GRID });
    return chosen;
  }
}
