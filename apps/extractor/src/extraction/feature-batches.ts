import { FeatureDtype, ImageRef } from '@featx/contracts';
import { toFloat16 } from '@featx/features';

export interface ExtractedRow {
  item: ImageRef;
  /** Offset of the row's vector in `vectors` (in values). */
  offset: number;
}

export interface FeatureBatchPart {
  imageIds: number[];
  labels: number[];
  splits: ImageRef['split'][];
  vectors: Uint8Array;
}

/** Room left for the message's other fields and the headers. */
const ENVELOPE_BYTES = 16 * 1024;

/**
 * Cuts a work item's vectors into parts that each fit in one NATS message: by bytes, not by
 * count (one flattened ResNet-50 vector is 401,408 bytes in float32).
 */
export function cutFeatureBatches(rows: ExtractedRow[], vectors: Float32Array, dim: number, dtype: FeatureDtype, maxPayload: number): FeatureBatchPart[] {
  const valueBytes = dtype === 'float16' ? 2 : 4;
  const rowBytes = dim * valueBytes + 64; // + id, label and split
  const rowsPerPart = Math.floor((maxPayload - ENVELOPE_BYTES) / rowBytes);
  if (rowsPerPart < 1) throw new Error(`one vector of ${dim} ${dtype} values (${dim * valueBytes} bytes) does not fit in the server's max_payload of ${maxPayload} bytes`);
  const parts: FeatureBatchPart[] = [];
  for (let start = 0; start < rows.length; start += rowsPerPart) {
    const chunk = rows.slice(start, start + rowsPerPart);
    const values = new Float32Array(chunk.length * dim);
    chunk.forEach((row, k) => values.set(vectors.subarray(row.offset, row.offset + dim), k * dim));
    const encoded = dtype === 'float16' ? toFloat16(values) : values;
    parts.push({
      imageIds: chunk.map((r) => r.item.imageId),
      labels: chunk.map((r) => r.item.label),
      splits: chunk.map((r) => r.item.split),
      // A Buffer travels as msgpack bin, which the feature store reads in place; a plain Uint8Array
      // would be msgpackr's typed-array extension, copied out on every decode.
      vectors: Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength),
    });
  }
  return parts;
}
