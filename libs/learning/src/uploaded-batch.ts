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
 * Uploaded on first use, so that heads of an engine that reads `features` itself (onnx, onednn)
 * cost no upload. The owner disposes it once every head is done with it.
 */
export class UploadedBatch {
  readonly rows: number;
  private uploaded?: { x: tf.Tensor2D; xT: tf.Tensor2D; y: tf.Tensor1D };

  constructor(
    /** The rows as given; an engine that does not run on TF.js (onnx) reads them from here. */
    readonly features: Float32Array,
    /** Class per row; kept for the per-row class weights. */
    readonly labels: Int32Array,
    readonly shape: BatchShape,
  ) {
    this.rows = checkedRows(features, labels, shape.inputDim, shape.classes);
  }

  /** [rows, inputDim]: what the first layer's kernel gradient multiplies. */
  get x(): tf.Tensor2D {
    return this.upload().x;
  }

  /** [inputDim, rows]: what the first layer multiplies. */
  get xT(): tf.Tensor2D {
    return this.upload().xT;
  }

  /** [rows] class indices. */
  get y(): tf.Tensor1D {
    return this.upload().y;
  }

  private upload(): { x: tf.Tensor2D; xT: tf.Tensor2D; y: tf.Tensor1D } {
    if (!this.uploaded) {
      // Kept: the first use may be inside a head's tf.tidy, and the batch outlives it.
      const x = tf.keep(tf.tensor2d(this.features, [this.rows, this.shape.inputDim]));
      this.uploaded = { x, xT: tf.keep(tf.transpose(x)), y: tf.keep(tf.tensor1d(this.labels, 'int32')) };
    }
    return this.uploaded;
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
    if (this.uploaded) tf.dispose([this.uploaded.x, this.uploaded.xT, this.uploaded.y]);
    this.uploaded = undefined;
  }
}
