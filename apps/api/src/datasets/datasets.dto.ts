/** What the datasets endpoints return. */
export interface DatasetSummary {
  id: string;
  name: string;
  root: string;
  path: string;
  layout: string;
  classes: string[];
  status: string;
  error: string | null;
  imageCount: number;
  splitSeed: number | null;
  splitRatios: { training: number; validation: number; evaluation: number } | null;
  createdAt: string;
  scannedAt: string | null;
}

export interface DatasetDetails extends DatasetSummary {
  counts: {
    bySplit: Record<string, number>;
    byClass: Record<string, number>;
    bySplitAndClass: Record<string, Record<string, number>>;
  };
}

export interface QueuedCommand {
  commandId: string;
  type: string;
  status: 'queued';
}
