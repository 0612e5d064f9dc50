import { createHead, TrainableHead } from '@featx/learning';
import { RunContext } from './run-context';

/** A new head as the run's configuration describes it, with the given L2 strength. */
export function createRunHead(context: RunContext, l2: number): TrainableHead {
  const { config } = context;
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
