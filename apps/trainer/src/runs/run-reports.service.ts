import { promises as fs } from 'node:fs';
import { Injectable } from '@nestjs/common';
import { RunImagePredictionsRepository, RunsRepository } from '@featx/db';
import { TrainableHead } from '@featx/learning';
import { classificationReport, confusionMatrixSvg, formatClassificationReport, svgToPng, trainingCurvesSvg } from '@featx/reports';
import { HeadPasses } from './head-passes.service';
import { RunContext, splitRows } from './run-context';

/**
 * The final head's results: a classification report per held-out split on record with each of its
 * images' prediction (the images behind each confusion cell), the evaluation split's confusion
 * matrix and the training curves as pictures in the run's folder. The run's phase is `evaluating`
 * meanwhile: rows of the held-out splits done.
 */
@Injectable()
export class RunReports {
  constructor(
    private readonly runs: RunsRepository,
    private readonly predictions: RunImagePredictionsRepository,
    private readonly passes: HeadPasses,
  ) {}

  async write(context: RunContext, head: TrainableHead): Promise<void> {
    await this.evaluations(context, head);
    await this.curves(context);
  }

  private async evaluations(context: RunContext, head: TrainableHead): Promise<void> {
    const { run, artifacts, classes, phase } = context;
    const splits = (['validation', 'evaluation'] as const).filter((split) => context.shards[split].length > 0);
    phase.begin({ step: 'evaluating', unit: 'rows', done: 0, total: splits.reduce((rows, split) => rows + splitRows(context, split), 0), rowsPerSecond: null });
    for (const split of splits) {
      const result = await this.passes.evaluate(context, head, split, (rows) => phase.addRows(rows));
      const report = classificationReport(result.truth, result.predicted, classes);
      await this.runs.saveEvaluation({
        runId: run.id,
        split,
        accuracy: report.accuracy,
        loss: result.loss,
        perClass: report.perClass,
        macroAvg: report.macroAvg,
        weightedAvg: report.weightedAvg,
        confusion: report.confusion,
        report: formatClassificationReport(report),
      });
      await this.predictions.replace(run.id, split, { imageIds: result.imageIds, trueClasses: result.truth, predictedClasses: result.predicted, probabilities: result.probabilities });
      if (split === 'evaluation') {
        const svg = confusionMatrixSvg(report.confusion, classes, { title: `Confusion matrix — evaluation split (accuracy ${(report.accuracy * 100).toFixed(1)}%)` });
        await fs.writeFile(artifacts.file('confusion.svg'), svg);
        await fs.writeFile(artifacts.file('confusion.png'), await svgToPng(svg));
      }
    }
  }

  private async curves(context: RunContext): Promise<void> {
    const { run, artifacts } = context;
    const epochs = await this.runs.epochs(run.id);
    const curves = trainingCurvesSvg(
      epochs.map((e) => ({ epoch: e.epoch, trainLoss: e.trainLoss, trainAccuracy: e.trainAccuracy, valLoss: e.valLoss ?? undefined, valAccuracy: e.valAccuracy ?? undefined })),
      { title: `Training — run ${run.id.slice(0, 8)}` },
    );
    await fs.writeFile(artifacts.file('curves.svg'), curves);
    await fs.writeFile(artifacts.file('curves.png'), await svgToPng(curves));
  }
}
