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
 * The tensors are made on first use: heads on the onnx and onednn engines read the rows
 * themselves, and a batch only they use is never uploaded.
 *
 * The owner disposes it once every head is done with it.
 */
export class UploadedBatch {
  readonly rows: number;
  private tensors?: { x: tf.Tensor2D; xT: tf.Tensor2D; y: tf.Tensor1D };

  constructor(
    /** The rows as given; an engine that does not run on TF.js (onnx, onednn) reads them from here. */
    readonly features: Float32Array,
    /** Class per row; kept for the per-row class weights. */
    readonly labels: Int32Array,
    readonly shape: BatchShape,
  ) {
    this.rows = checkedRows(features, labels, shape.inputDim, shape.classes);
  }

  /** [rows, inputDim]: what the first layer's kernel gradient multiplies. */
  get x(): tf.Tensor2D {
    return this.uploaded().x;
  }

  /** [inputDim, rows]: what the first layer multiplies. */
  get xT(): tf.Tensor2D {
    return this.uploaded().xT;
  }

  /** [rows] class indices. */
  get y(): tf.Tensor1D {
    return this.uploaded().y;
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
    if (this.tensors) tf.dispose([this.tensors.x, this.tensors.xT, this.tensors.y]);
    this.tensors = undefined;
  }

  private uploaded(): { x: tf.Tensor2D; xT: tf.Tensor2D; y: tf.Tensor1D } {
    if (!this.tensors) {
      // Kept outside any caller's tf.tidy: the batch outlives the step that first uses it.
      const x = tf.keep(tf.tensor2d(this.features, [this.rows, this.shape.inputDim]));
      this.tensors = { x, xT: tf.keep(tf.transpose(x)), y: tf.keep(tf.tensor1d(this.labels, 'int32')) };
    }
    return this.tensors;
  }
}
