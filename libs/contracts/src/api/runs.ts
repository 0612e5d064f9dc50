import type { Split } from '../messages/datasets';
import type { RunStatus } from '../messages/runs';

/** What the runs endpoints of the admin API return. */

export interface RunSummary {
  id: string;
  featureSetId: string;
  status: RunStatus;
  error: string | null;
  /** The training configuration, defaults filled in (contracts' trainingConfigSchema). */
  config: Record<string, unknown>;
  /** Class names in the order of the labels; empty until the trainer has taken the run. */
  classes: string[];
  /** Epochs planned (config.epochs). */
  epochs: number;
  /** Epochs completed and checkpointed. */
  epochsDone: number;
  bestEpoch: number | null;
  bestValLoss: number | null;
  /** Times the run was resumed after its trainer died. */
  resumes: number;
  cancelRequested: boolean;
  worker: string | null;
  heartbeatAt: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** One epoch, as Keras prints it. */
export interface EpochMetricView {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
  learningRate: number;
  durationMs: number;
  rowsPerSecond: number;
  at: string;
}

export interface RunDetails extends RunSummary {
  /** The epochs finished so far, in order. */
  epochMetrics: EpochMetricView[];
}

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** A classification report on one split. */
export interface EvaluationView {
  split: Split;
  accuracy: number;
  loss: number | null;
  perClass: Array<ClassMetrics & { label: string }>;
  macroAvg: ClassMetrics;
  weightedAvg: ClassMetrics;
  /** Rows = true class, columns = predicted, in the run's class order. */
  confusion: number[][];
  /** The report text exactly as sklearn.metrics.classification_report formats it. */
  report: string;
  at: string;
}

export interface RunReport {
  runId: string;
  status: RunStatus;
  classes: string[];
  /** Per split, in the order training, validation, evaluation; empty until the run is evaluated. */
  evaluations: EvaluationView[];
}

export interface QueuedRun {
  commandId: string;
  runId: string;
  type: string;
  status: 'queued';
}

export interface QueuedCancel {
  commandId: string;
  runId: string;
  type: string;
  status: 'queued';
}
