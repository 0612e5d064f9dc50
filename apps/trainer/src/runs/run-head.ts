import { createHead, TrainableHead } from '@featx/learning';
import { RunContext } from './run-context';

/** A new head as the run's configuration describes it, with the given L2 strength. */
export function createRunHead(context: RunContext, l2: number): TrainableHead {
  const { config } = context;
  // A converged (lbfgs) head exists only as a search's winner, restored from its checkpoint.
  if (config.optimizer === 'lbfgs') throw new Error(`run ${context.run.id}: optimizer lbfgs is fit by head auto's search, not trained from new weights`);
  return createHead(
    { kind: config.head === 'auto' ? 'mlp' : config.head, inputDim: context.dim, classes: context.classes.length, hidden: config.hidden, dropout: config.dropout, l2 },
    config.seed,
    config.optimizer === 'adam'
      ? { kind: 'adam', learningRate: config.learningRate, decay: config.decay ?? 0 }
      : { kind: 'sgd', learningRate: config.learningRate, momentum: config.momentum, decay: config.decay ?? config.learningRate / config.epochs },
    undefined,
    { engine: context.engine },
  );
}
