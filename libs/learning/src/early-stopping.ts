/** The early-stopping record of a training: its best epoch so far and how long ago that was. */
export interface BestEpochRecord {
  bestEpoch: number | null;
  bestValLoss: number | null;
  epochsSinceBest: number;
}

/**
 * The record after epoch `epoch` (0-based): improved = a validation loss lower than any before.
 * An epoch without validation (null) is not an improvement.
 */
export function recordEpoch(before: BestEpochRecord, epoch: number, valLoss: number | null): BestEpochRecord {
  const improved = valLoss !== null && (before.bestValLoss === null || valLoss < before.bestValLoss);
  return {
    bestEpoch: improved ? epoch + 1 : before.bestEpoch,
    bestValLoss: improved ? valLoss : before.bestValLoss,
    epochsSinceBest: improved ? 0 : before.epochsSinceBest + 1,
  };
}

/** True once `patience` epochs went by without an improvement (never without a patience). */
export function shouldStopEarly(record: BestEpochRecord, patience: number | undefined): boolean {
  return patience !== undefined && record.epochsSinceBest >= patience;
}
