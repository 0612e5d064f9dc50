import type { DecodedImage } from './image-decode';

/**
 * The horizontal mirror of a decoded image (what sharp's `flop()` makes of the same pixels), for
 * feature-level augmentation and test-time augmentation. It mirrors the pixels the network sees,
 * after decoding and resizing, so that both engines (TF.js, ONNX Runtime) get the same mirrored
 * input without a second decode; the preprocessing (normalization) is per pixel and commutes with it.
 */
export function mirrorImage(image: DecodedImage): DecodedImage {
  const { width, height, data } = image;
  if (data.length !== width * height * 3) throw new Error(`expected ${width}x${height}x3 bytes of RGB pixels, got ${data.length}`);
  const mirrored = new Uint8Array(data.length);
  const rowBytes = width * 3;
  for (let y = 0; y < height; y++) {
    const row = y * rowBytes;
    for (let x = 0; x < width; x++) {
      const from = row + x * 3;
      const to = row + (width - 1 - x) * 3;
      mirrored[to] = data[from]!;
      mirrored[to + 1] = data[from + 1]!;
      mirrored[to + 2] = data[from + 2]!;
    }
  }
  return { data: mirrored, width, height };
}
