import { Inject, Injectable } from '@nestjs/common';
import { searchSharesOf } from '@featx/contracts';
import { RunsRepository } from '@featx/db';
import { CONFIG, FeatxConfig, JsonLogger, LOGGER } from '@featx/runtime';
import { HeadSearch } from './head-search.service';
import { L2Search } from './l2-search.service';
import { RunContext } from './run-context';
import { loadRunCheckpoint, NO_PROGRESS, TrainingState } from './run-checkpoints';
import { createRunHead } from './run-head';
import { SearchShares } from './search-shares.service';
import { loadRunMembers } from './run-members';

/**
 * Where a run's training starts: its checkpoint when it has trained before (a trainer restarted or
 * took the run over), else a new head, with the configuration's open choices (L2, decay) resolved
 * and recorded on the run; `head: auto` runs the head search (here, or split into shares that any
 * trainer claims), whose winner is the start.
 */
@Injectable()
export class TrainingStart {
  constructor(
    private readonly runs: RunsRepository,
    private readonly l2Search: L2Search,
    private readonly headSearch: HeadSearch,
    private readonly searchShares: SearchShares,
    @Inject(CONFIG) private readonly appConfig: FeatxConfig,
    @Inject(LOGGER) private readonly logger: JsonLogger,
  ) {}

  async begin(context: RunContext): Promise<TrainingState> {
    const { run, config } = context;
    const resumed = run.epochsDone > 0 ? await loadRunCheckpoint(context.artifacts, context.engine) : undefined;
    if (resumed) {
      this.logger.info('resumed from checkpoint', { runId: run.id, epochsDone: resumed.progress.epochsDone });
      // A searched run whose model is an ensemble: its further members were kept beside the checkpoint.
      const members = config.search?.members?.length ?? 1;
      if (members > 1) {
        try {
          context.members = await loadRunMembers(context.artifacts, members - 1, context.engine, context.statistics);
        } catch (error) {
          resumed.head.dispose();
          throw error;
        }
      }
      return resumed;
    }
    if (config.head === 'auto') {
      // Left open, the split is this trainer's FEATX_SEARCH_SHARES, on record from now on (it decides
      // the result), as is a validation split held out of the training split (preparation's).
      const shares = searchSharesOf(config, this.appConfig.training.searchShares);
      context.config = { ...config, searchShares: shares };
      await this.runs.setConfig(run.id, context.config);
      return shares > 1 ? this.searchShares.run(context) : this.headSearch.run(context);
    }
    const l2 = config.head === 'logistic' ? (config.l2 ?? (await this.l2Search.choose(context))) : (config.l2 ?? 0);
    // Time-based decay is the tutorial's SGD setting; Adam runs without it unless asked.
    const resolved = { ...config, l2, decay: config.optimizer === 'sgd' ? (config.decay ?? config.learningRate / config.epochs) : config.decay };
    await this.runs.setConfig(run.id, resolved);
    context.config = resolved;
    return { head: createRunHead(context, l2), progress: NO_PROGRESS };
  }
}
