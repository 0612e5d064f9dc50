import { FeatureDtype, ImageRef } from '@featx/contracts';
import { toFloat16 } from '@featx/features';

export interface ExtractedRow {
  item: ImageRef;
  /** The vector of the image's mirror (an hflip set's training image), not of the image. */
  augmented?: boolean;
  /** Offset of the row's vector in `vectors` (in values). */
  offset: number;
}

export interface FeatureBatchPart {
  imageIds: number[];
  labels: number[];
  splits: ImageRef['split'][];
  /** Present when some row of the work item is augmented. */
  augmented?: boolean[];
  vectors: Uint8Array;
}

/** Room left for the message's other fields and the headers. */
const ENVELOPE_BYTES = 16 * 1024;

/**
 * Cuts a work item's vectors into parts that each fit in one NATS message: by bytes, not by
 * count (one flattened ResNet-50 vector is 401,408 bytes in float32). An image's rows (its own
 * and its mirror's, adjacent) stay in one part: the store commits them together, so an image
 * that has a vector always has its augmented one too.
 */
export function cutFeatureBatches(rows: ExtractedRow[], vectors: Float32Array, dim: number, dtype: FeatureDtype, maxPayload: number): FeatureBatchPart[] {
  const valueBytes = dtype === 'float16' ? 2 : 4;
  const rowBytes = dim * valueBytes + 64; // + id, label and split
  const rowsPerPart = Math.floor((maxPayload - ENVELOPE_BYTES) / rowBytes);
  if (rowsPerPart < 1) throw new Error(`one vector of ${dim} ${dtype} values (${dim * valueBytes} bytes) does not fit in the server's max_payload of ${maxPayload} bytes`);
  const anyAugmented = rows.some((row) => row.augmented);
  if (anyAugmented && rowsPerPart < 2) throw new Error(`an image and its mirror, two vectors of ${dim} ${dtype} values, do not fit in the server's max_payload of ${maxPayload} bytes`);
  const parts: FeatureBatchPart[] = [];
  for (let start = 0, end = 0; start < rows.length; start = end) {
    end = Math.min(start + rowsPerPart, rows.length);
    // Not between an image's row and its mirror's.
    if (end < rows.length && rows[end]!.augmented && rows[end]!.item.imageId === rows[end - 1]!.item.imageId) end -= 1;
    const chunk = rows.slice(start, end);
    const values = new Float32Array(chunk.length * dim);
    chunk.forEach((row, k) => values.set(vectors.subarray(row.offset, row.offset + dim), k * dim));
    const encoded = dtype === 'float16' ? toFloat16(values) : values;
    parts.push({
      imageIds: chunk.map((r) => r.item.imageId),
      labels: chunk.map((r) => r.item.label),
      splits: chunk.map((r) => r.item.split),
      ...(anyAugmented ? { augmented: chunk.map((r) => r.augmented === true) } : {}),
      // A Buffer travels as msgpack bin, which the feature store reads in place; a plain Uint8Array
      // would be msgpackr's typed-array extension, copied out on every decode.
      vectors: Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength),
    });
  }
  return parts;
}
