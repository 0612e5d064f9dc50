import { saveTrainedModel, TrainableHead } from '@featx/learning';
import { RunContext } from './run-context';

/** Writes the run's model folder — all prediction needs — replacing any earlier one whole. */
export async function saveRunModel(context: RunContext, head: TrainableHead): Promise<void> {
  const { run, set, artifacts } = context;
  await artifacts.replaceFolder(artifacts.model, async (dir) => {
    await saveTrainedModel(dir, {
      head,
      runId: run.id,
      featureSetId: set.id,
      network: { model: set.model, layer: set.layer || null, pooling: set.pooling, dtype: set.dtype, dim: context.dim, engine: set.engine },
      classes: context.classes,
      standardization: context.standardization,
      config: context.config,
    });
  });
}
