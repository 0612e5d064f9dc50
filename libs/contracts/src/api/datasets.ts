/** A page of a list endpoint: `next` is the cursor of the following page (`?cursor=`), null on the last. */
export interface ListPage<T> {
  items: T[];
  next: string | null;
}

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

/** One image of a dataset, as GET /datasets/:id/images lists it. */
export interface DatasetImage {
  id: number;
  split: 'training' | 'validation' | 'evaluation' | null;
  label: string;
  /** Relative to the dataset's data root. */
  path: string;
  bytes: number;
  sha256: string;
  status: 'present' | 'missing' | 'failed';
  error: string | null;
  createdAt: string;
  updatedAt: string;
  /** When a re-scan last found its content, label or split changed; null: as first registered. */
  changedAt: string | null;
}
