import { BadRequestException, ConflictException, Injectable } from '@nestjs/common';
import { ListPage, RunImagePrediction } from '@featx/contracts';
import { PageRequest, RunImagePredictionSplit, RunImagePredictionsRepository, RunsRepository } from '@featx/db';
import { foundOrThrow } from '../common/not-found';

/** Which images of a run's held-out split to list: a confusion cell, a row (true class) or a column (predicted class). */
export interface PredictionFilter {
  split: RunImagePredictionSplit;
  trueClass?: string;
  predictedClass?: string;
}

/** The images behind a run's confusion matrices: each held-out image's true and predicted class. */
@Injectable()
export class RunPredictionsService {
  constructor(
    private readonly runs: RunsRepository,
    private readonly predictions: RunImagePredictionsRepository,
  ) {}

  async list(runId: string, filter: PredictionFilter, page: PageRequest): Promise<ListPage<RunImagePrediction>> {
    const run = foundOrThrow(await this.runs.get(runId), 'run', runId);
    const classIndex = (name: string | undefined, parameter: string): number | undefined => {
      if (name === undefined) return undefined;
      const index = run.classes.indexOf(name);
      if (index < 0) throw new BadRequestException(`${parameter}: "${name}" is not a class of run ${runId} (${run.classes.join(', ')})`);
      return index;
    };
    const cell = { split: filter.split, trueClass: classIndex(filter.trueClass, 'true'), predictedClass: classIndex(filter.predictedClass, 'predicted') };
    const { items, next } = await this.predictions.page(runId, cell, page);
    // An empty first page may mean the run recorded none at all: say so rather than list nothing.
    if (items.length === 0 && page.cursor === undefined && !(await this.predictions.recorded(runId))) {
      throw new ConflictException(
        run.status === 'succeeded'
          ? `run ${runId} has no per-image predictions: it was trained before featx recorded them (its confusion matrices have counts only)`
          : `run ${runId} is ${run.status}: it records each image's prediction when it evaluates its final head`,
      );
    }
    return {
      items: items.map((row) => ({ imageId: row.imageId, path: row.path, trueClass: run.classes[row.trueClass], predictedClass: run.classes[row.predictedClass], probability: row.probability })),
      next,
    };
  }
}
