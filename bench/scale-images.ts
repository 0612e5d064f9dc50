import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { mapConcurrent } from '@featx/datasets';

/**
 * The image files `bench:scale` registers and extracts: N distinct real files in split/class
 * layout, drawn once with sharp into a cache folder and reused by every later run.
 *
 * Image i belongs to class i % 10 and to a split by i % 10 of the tens (8 training, 1 validation,
 * 1 evaluation); its content is a small class-dependent pattern (the class's colour and stripe
 * direction) with per-image noise, resized to a width and height between 100 and 800 px; 3% are
 * PNG, 2% WebP, the rest JPEG. The same i always gives the same file.
 */

export const SCALE_CLASSES = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9'];
/** Pattern side before resizing: enough for stripes and noise, small enough to draw in JS. */
const PATTERN = 24;
/** Files drawn at once: sharp runs each on a libuv thread, so both cores stay busy. */
const CONCURRENCY = 4;
const COMPLETE_MARKER = '.complete';

export interface GeneratedImages {
  folder: string;
  images: number;
  bytes: number;
  /** Seconds spent drawing in this run (0 when the cache held the set already). */
  seconds: number;
}

/** Deterministic 32-bit hash of an integer (Wang's mix), for sizes and noise. */
function mix(value: number): number {
  let x = value >>> 0;
  x = (x ^ 61 ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 9);
  x ^= x >>> 4;
  x = Math.imul(x, 0x27d4eb2d);
  return (x ^ (x >>> 15)) >>> 0;
}

export function scaleImageEntry(i: number): { split: string; label: string; file: string; width: number; height: number; format: 'jpeg' | 'png' | 'webp' } {
  const label = SCALE_CLASSES[i % SCALE_CLASSES.length];
  const tens = Math.floor(i / SCALE_CLASSES.length) % 10;
  const split = tens < 8 ? 'training' : tens === 8 ? 'validation' : 'evaluation';
  const percent = mix(i * 7 + 1) % 100;
  const format = percent < 3 ? 'png' : percent < 5 ? 'webp' : 'jpeg';
  const width = 100 + (mix(i * 7 + 2) % 701);
  const height = 100 + (mix(i * 7 + 3) % 701);
  const ext = format === 'jpeg' ? 'jpg' : format;
  return { split, label, file: `${split}/${label}/img-${String(i).padStart(7, '0')}.${ext}`, width, height, format };
}

function pattern(i: number): Buffer {
  const c = i % SCALE_CLASSES.length;
  const hue = [(c * 53) % 256, (c * 97 + 80) % 256, (c * 151 + 160) % 256];
  const angle = (c / SCALE_CLASSES.length) * Math.PI;
  const [dx, dy] = [Math.cos(angle), Math.sin(angle)];
  const pixels = Buffer.alloc(PATTERN * PATTERN * 3);
  let seed = mix(i + 0x9e3779b9);
  for (let y = 0; y < PATTERN; y++) {
    for (let x = 0; x < PATTERN; x++) {
      const stripe = Math.sin((x * dx + y * dy) * 0.9) * 60;
      for (let ch = 0; ch < 3; ch++) {
        seed = mix(seed);
        const noise = (seed % 81) - 40;
        pixels[(y * PATTERN + x) * 3 + ch] = Math.max(0, Math.min(255, hue[ch] + stripe + noise));
      }
    }
  }
  return pixels;
}

async function drawImage(folder: string, i: number): Promise<number> {
  const entry = scaleImageEntry(i);
  const target = path.join(folder, entry.file);
  const existing = await fs.stat(target).catch(() => undefined);
  if (existing) return existing.size; // an interrupted generation goes on where it stopped
  const resized = sharp(pattern(i), { raw: { width: PATTERN, height: PATTERN, channels: 3 } }).resize(entry.width, entry.height, { kernel: 'linear' });
  const encoded = entry.format === 'jpeg' ? resized.jpeg({ quality: 80, optimiseCoding: false }) : entry.format === 'png' ? resized.png({ compressionLevel: 3 }) : resized.webp({ quality: 75, effort: 0 });
  const bytes = await encoded.toBuffer();
  await fs.writeFile(`${target}.tmp`, bytes);
  await fs.rename(`${target}.tmp`, target);
  return bytes.length;
}

/**
 * The folder of N generated images under `cacheDir`, drawn now where it is not complete yet;
 * `progress` is told the images done every couple of seconds.
 */
export async function generateScaleImages(cacheDir: string, count: number, progress: (done: number, total: number, perSecond: number) => void): Promise<GeneratedImages> {
  const folder = path.join(cacheDir, `images-${count}`);
  const marker = path.join(folder, COMPLETE_MARKER);
  if (existsSync(marker)) {
    const { bytes } = JSON.parse(await fs.readFile(marker, 'utf8')) as { bytes: number };
    return { folder, images: count, bytes, seconds: 0 };
  }
  for (const split of ['training', 'validation', 'evaluation']) {
    for (const label of SCALE_CLASSES) await fs.mkdir(path.join(folder, split, label), { recursive: true });
  }
  const started = Date.now();
  let lastReport = started;
  let done = 0;
  let bytes = 0;
  const indices = (function* () {
    for (let i = 0; i < count; i++) yield i;
  })();
  for await (const size of mapConcurrent(indices, CONCURRENCY, (i) => drawImage(folder, i))) {
    done += 1;
    bytes += size;
    if (Date.now() - lastReport >= 2000 || done === count) {
      lastReport = Date.now();
      progress(done, count, done / ((Date.now() - started) / 1000));
    }
  }
  await fs.writeFile(marker, JSON.stringify({ images: count, bytes, generatedAt: new Date().toISOString() }));
  return { folder, images: count, bytes, seconds: (Date.now() - started) / 1000 };
}

/**
 * N image files of which only the first `distinct` are drawn (the cached set of that size): image
 * i is a hard link to image i % distinct, which has the same split and class (both repeat every
 * 100 images). Real files for ingest to walk, stat and hash, without drawing and storing N images:
 * how `BENCH_SCALE_DISTINCT` measures ingest at 1M here (content repeats; the page cache holds it).
 */
export async function linkScaleImages(cacheDir: string, count: number, distinct: number, progress: (done: number, total: number) => void): Promise<GeneratedImages> {
  if (distinct % 100 !== 0) throw new Error(`BENCH_SCALE_DISTINCT: ${distinct} is not a multiple of 100 (splits and classes repeat every 100 images)`);
  const source = await generateScaleImages(cacheDir, distinct, () => undefined);
  const folder = path.join(cacheDir, `images-${count}-of-${distinct}`);
  const marker = path.join(folder, COMPLETE_MARKER);
  const bytes = Math.round((source.bytes * count) / distinct);
  if (existsSync(marker)) return { folder, images: count, bytes, seconds: 0 };
  for (const split of ['training', 'validation', 'evaluation']) {
    for (const label of SCALE_CLASSES) await fs.mkdir(path.join(folder, split, label), { recursive: true });
  }
  const started = Date.now();
  const indices = (function* () {
    for (let i = 0; i < count; i++) yield i;
  })();
  let done = 0;
  for await (const _ of mapConcurrent(indices, CONCURRENCY, async (i) => {
    const original = scaleImageEntry(i % distinct);
    const target = path.join(folder, original.file.replace(/img-\d+/, `img-${String(i).padStart(7, '0')}`));
    await fs.link(path.join(source.folder, original.file), target).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  })) {
    if (++done % 50000 === 0 || done === count) progress(done, count);
  }
  await fs.writeFile(marker, JSON.stringify({ images: count, distinct, linkedAt: new Date().toISOString() }));
  return { folder, images: count, bytes, seconds: (Date.now() - started) / 1000 };
}
