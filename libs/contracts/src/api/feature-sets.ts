import type { Augment, EngineChoice, Precision } from '../messages/features';
import type { FeatureSetStoreView } from './feature-stores';

/** What the feature-sets endpoints of the admin API return. */
export interface FeatureSetProgress {
  /** Images with a vector or a failure: stored + failed. */
  done: number;
  /** Images of the dataset when the set was (re)started. */
  total: number;
  /** done / total in percent, one decimal; 100 for an empty set that is complete. */
  percent: number;
  /** This run only: (done - doneAtStart) / seconds since startedAt (until finishedAt once finished). */
  imagesPerSecond: number;
  /** Seconds this run has taken so far (or took, once finished). */
  elapsedSeconds: number;
  /** Seconds left at this run's rate; null when unknown (no rate yet) or not running. */
  etaSeconds: number | null;
}

export interface FeatureSetSummary {
  id: string;
  datasetId: string;
  /** `resnet50`, or the model folder. */
  model: string;
  /** Feature layer; '' = the network's default feature layer. */
  layer: string;
  pooling: string;
  dtype: string;
  /** What runs the network (see the extractor logs for what `auto` chose). */
  engine: EngineChoice;
  /** fp32, or int8 (quantized on ONNX Runtime; see `quantization`). */
  precision: Precision;
  /**
   * int8: what the extractor's quantization recorded — calibration method and images, the ops made
   * int8, and `parity` (mean and min cosine similarity to fp32 on held-back images, the threshold).
   * Null for fp32, and for int8 until an extractor has loaded the network.
   */
  quantization: Record<string, unknown> | null;
  /** `hflip`: the training images' mirrors are stored too, as augmented rows (`augmented` of them, in shards of their own). */
  augment: Augment;
  /** Values per vector; null until the first batch is stored. */
  dim: number | null;
  status: 'running' | 'complete' | 'failed';
  error: string | null;
  images: number;
  /** Images with a vector (progress counts images: an augmented row is not one). */
  stored: number;
  failed: number;
  /** Augmented rows stored: one per stored training image of an hflip set, 0 otherwise. */
  augmented: number;
  doneAtStart: number;
  createdAt: string;
  startedAt: string;
  finishedAt: string | null;
  progress: FeatureSetProgress;
}

export interface FeatureSetDetails extends FeatureSetSummary {
  datasetName: string | null;
  /** The set's shards by the feature store that holds them, with each store's state. */
  stores: FeatureSetStoreView[];
}

export interface FeatureShardSummary {
  id: string;
  split: string;
  /** `none`: the images' own rows; `hflip`: augmented rows (their mirrors'), never mixed in one shard. */
  augment: Augment;
  index: number;
  /** Folder of the shard, relative to the feature store's root. */
  path: string;
  rows: number;
  bytes: number;
  checksum: string | null;
  status: 'open' | 'sealed';
  writer: string;
  createdAt: string;
  updatedAt: string;
}

export interface FeatureFailure {
  imageId: number;
  /** Path of the image relative to its data root. */
  path: string;
  reason: string;
  at: string;
}

/** Where one image's vector lives, as GET /feature-sets/:id/vectors lists it. */
export interface FeatureVectorLocation {
  imageId: number;
  shardId: string;
  /** Row of the vector in the shard's files. */
  row: number;
}
