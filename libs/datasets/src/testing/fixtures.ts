import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { DataRoots } from '../data-roots';
import { isSkipped, SkippedFile } from '../walk';

/** Test helpers: temporary folders filled with real (tiny) images made by sharp. */

export type FixtureFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff';

/** A fresh temporary folder, as a real path (macOS's /tmp is a symlink). */
export async function makeTempDir(prefix = 'featx-datasets-'): Promise<string> {
  return fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), prefix)));
}

export async function removeDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}

/** An 8x8 image whose colour comes from `seed`, so different seeds give different bytes. */
export async function imageBytes(seed = 0, format: FixtureFormat = 'jpeg'): Promise<Buffer> {
  const background = { r: (seed * 37) % 256, g: (seed * 91) % 256, b: (seed * 173) % 256 };
  return sharp({ create: { width: 8, height: 8, channels: 3, background } }).toFormat(format).toBuffer();
}

/** Writes a real image at `file` (creating folders); the format follows the extension. */
export async function writeImage(file: string, seed = 0): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, await imageBytes(seed, formatOf(file)));
}

/** Writes real images at paths relative to `dir`; returns them as given. */
export async function writeImages(dir: string, relativePaths: readonly string[]): Promise<readonly string[]> {
  await Promise.all(relativePaths.map((relativePath, seed) => writeImage(path.join(dir, relativePath), seed)));
  return relativePaths;
}

/** Writes a text file (creating folders). */
export async function writeText(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, text);
}

/** A temporary folder holding a data root `data` (empty) and, beside it, a folder `outside` the roots. */
export interface DataRootSandbox {
  tmp: string;
  data: string;
  outside: string;
  roots: DataRoots;
}

/**
 * A fresh sandbox for each test of the describe block (made in beforeEach, removed in afterEach),
 * its `outside` folder holding real images at `outsideImages`. Read its fields inside the tests:
 * they change from test to test.
 */
export function dataRootSandbox(outsideImages: readonly string[]): DataRootSandbox {
  const sandbox = {} as DataRootSandbox;
  beforeEach(async () => {
    const tmp = await makeTempDir();
    const data = path.join(tmp, 'data');
    const outside = path.join(tmp, 'outside');
    await fs.mkdir(data);
    await writeImages(outside, outsideImages);
    Object.assign(sandbox, { tmp, data, outside, roots: await DataRoots.open([{ name: 'data', path: data }]) });
  });
  afterEach(() => removeDir(sandbox.tmp));
  return sandbox;
}

/** Walked or scanned entries, the kept ones apart from the skipped ones, each sorted by path (the walk's order is the file system's). */
export function splitSkipped<T extends { relativePath: string }>(entries: ReadonlyArray<T | SkippedFile>): { kept: T[]; skipped: SkippedFile[] } {
  const byPath = (a: { relativePath: string }, b: { relativePath: string }) => (a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0);
  return {
    kept: entries.filter((e): e is T => !isSkipped(e)).sort(byPath),
    skipped: entries.filter(isSkipped).sort(byPath),
  };
}

/** Drains an async iterable into an array (tests only: their trees are small). */
export async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}

function formatOf(file: string): FixtureFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.png') return 'png';
  if (ext === '.webp') return 'webp';
  if (ext === '.gif') return 'gif';
  if (ext === '.tif' || ext === '.tiff') return 'tiff';
  return 'jpeg';
}
