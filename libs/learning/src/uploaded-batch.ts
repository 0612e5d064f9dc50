import * as tf from '@tensorflow/tfjs';
import { checkedRows } from './batch-check';

/** The input size and class count a batch was checked against; every head using it must have both. */
export interface BatchShape {
  inputDim: number;
  classes: number;
}

/**
 * A labelled batch uploaded to the TF.js backend once, for any number of heads of its shape.
 *
 * Candidate heads training on one feature set share it: the upload, the transpose the first layer
 * multiplies (dense-network.ts) and XNNPACK's packing of both (cached per tensor) are paid once
 * per batch instead of once per head. For a flattened batch they cost far more than a logistic
 * head's own arithmetic: five logistic 62,720 → 10 steps of batch 32 took ~130 ms one head after
 * another and ~35 ms on one upload (one head alone: ~23 ms).
 *
 * The owner disposes it once every head is done with it.
 */
export class UploadedBatch {
  readonly rows: number;
  /** [rows, inputDim]: what the first layer's kernel gradient multiplies. */
  readonly x: tf.Tensor2D;
  /** [inputDim, rows]: what the first layer multiplies. */
  readonly xT: tf.Tensor2D;
  /** [rows] class indices. */
  readonly y: tf.Tensor1D;

  constructor(
    /** The rows as given; an engine that does not run on TF.js (onnx) reads them from here. */
    readonly features: Float32Array,
    /** Class per row; kept for the per-row class weights. */
    readonly labels: Int32Array,
    readonly shape: BatchShape,
  ) {
    this.rows = checkedRows(features, labels, shape.inputDim, shape.classes);
    this.x = tf.tensor2d(features, [this.rows, shape.inputDim]);
    this.xT = tf.transpose(this.x);
    this.y = tf.tensor1d(labels, 'int32');
  }

  /** Throws unless a head of `shape` can use this batch. */
  checkFits(shape: BatchShape): void {
    if (shape.inputDim !== this.shape.inputDim || shape.classes !== this.shape.classes) {
      throw new RangeError(
        `a batch of ${this.shape.inputDim} features and ${this.shape.classes} classes does not fit a head of ${shape.inputDim} inputs and ${shape.classes} classes`,
      );
    }
  }

  dispose(): void {
    tf.dispose([this.x, this.xT, this.y]);
  }
}
