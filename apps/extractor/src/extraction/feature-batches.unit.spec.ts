import { ImageRef } from '@featx/contracts';
import { cutFeatureBatches, ExtractedRow } from './feature-batches';

const DIM = 4;
const ENVELOPE = 16 * 1024;
/** A max_payload that holds exactly `rows` float32 rows of DIM values per part. */
const payloadFor = (rows: number) => ENVELOPE + rows * (DIM * 4 + 64);

function item(imageId: number, split: ImageRef['split'] = 'training'): ImageRef {
  return { imageId, root: 'data', path: `${imageId}.jpg`, label: imageId % 3, split };
}

/** Rows of these images in order; each training image followed by its mirror's row when `mirrored`. */
function rowsOf(images: ImageRef[], mirrored: boolean): { rows: ExtractedRow[]; vectors: Float32Array } {
  const rows: ExtractedRow[] = [];
  for (const image of images) {
    rows.push({ item: image, augmented: false, offset: rows.length * DIM });
    if (mirrored && image.split === 'training') rows.push({ item: image, augmented: true, offset: rows.length * DIM });
  }
  const vectors = Float32Array.from({ length: rows.length * DIM }, (_, i) => i);
  return { rows, vectors };
}

describe('cutFeatureBatches', () => {
  it('never puts an image and its mirror in different parts, and flags the mirrored rows', () => {
    const images = [item(1), item(2, 'validation'), item(3), item(4), item(5, 'evaluation'), item(6)];
    const { rows, vectors } = rowsOf(images, true);
    const parts = cutFeatureBatches(rows, vectors, DIM, 'float32', payloadFor(3));

    expect(parts.map((p) => p.imageIds)).toEqual([[1, 1, 2], [3, 3], [4, 4, 5], [6, 6]]);
    expect(parts.map((p) => p.augmented)).toEqual([[false, true, false], [false, true], [false, true, false], [false, true]]);
    // Every value arrives once, in order.
    const values = parts.flatMap((p) => Array.from(new Float32Array(p.vectors.buffer, p.vectors.byteOffset, p.vectors.byteLength / 4)));
    expect(values).toEqual(Array.from(vectors));
  });

  it('sends no augmented flags for a work item without mirrors, cut by bytes as before', () => {
    const { rows, vectors } = rowsOf([item(1), item(2), item(3)], false);
    const parts = cutFeatureBatches(rows, vectors, DIM, 'float32', payloadFor(2));
    expect(parts.map((p) => p.imageIds)).toEqual([[1, 2], [3]]);
    expect(parts.every((p) => p.augmented === undefined)).toBe(true);
  });

  it('refuses mirrored rows when a part cannot hold an image and its mirror', () => {
    const { rows, vectors } = rowsOf([item(1)], true);
    expect(() => cutFeatureBatches(rows, vectors, DIM, 'float32', payloadFor(1))).toThrow(/an image and its mirror, two vectors of 4 float32 values, do not fit in the server's max_payload/);
  });
});
