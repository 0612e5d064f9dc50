/** What the datasets endpoints of the admin API return (GET /datasets, GET /datasets/:id). */
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
