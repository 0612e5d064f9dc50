import type { Int8CalibrationPlan, Int8Network } from '@featx/contracts';
import type { FeatureSetRow } from '@featx/db';
import { saveTrainedModel, TrainableHead } from '@featx/learning';
import { testTimeMirrors } from './head-passes.service';
import { RunContext } from './run-context';

/** Writes the run's model folder — all prediction needs — replacing any earlier one whole. */
export async function saveRunModel(context: RunContext, head: TrainableHead): Promise<void> {
  const { run, set, artifacts } = context;
  await artifacts.replaceFolder(artifacts.model, async (dir) => {
    await saveTrainedModel(dir, {
      head,
      runId: run.id,
      featureSetId: set.id,
      network: {
        model: set.model,
        layer: set.layer || null,
        pooling: set.pooling,
        dtype: set.dtype,
        dim: context.dim,
        engine: set.engine,
        precision: set.precision,
        int8: set.precision === 'int8' ? int8NetworkOf(set) : null,
      },
      classes: context.classes,
      standardization: context.standardization,
      config: context.config,
      members: context.members.map((member) => ({ head: member.head, normalize: member.input === 'power' ? 'power' : 'none', standardization: member.standardization })),
      testTimeAugment: testTimeMirrors(context) ? 'hflip' : 'none',
    });
  });
}

/** The quantized network an int8 set's vectors came from: the key its extractors recorded, and its plan. */
function int8NetworkOf(set: FeatureSetRow): Int8Network {
  const plan = set.spec['int8'] as Int8CalibrationPlan | undefined;
  const quantization = set.quantization as { key?: string; method?: Int8Network['method'] } | null;
  if (!plan || !quantization?.key || !quantization.method) {
    throw new Error(`feature set ${set.id} is int8 but has no recorded quantization or calibration plan: extract it again (featx extract --precision int8)`);
  }
  return { key: quantization.key, method: quantization.method, calibration: plan.calibration, heldBack: plan.heldBack, threshold: plan.threshold };
}
