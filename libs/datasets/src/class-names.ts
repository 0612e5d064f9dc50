import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DataRoots } from './data-roots';
import { DatasetLayoutError } from './errors';

/** File in a Food-5K style dataset folder that names the classes, one per line, by index. */
export const CLASS_NAMES_FILE = 'classes.txt';

/** A class list has at most 100,000 names (the API's limit); this bounds the file we read. */
const MAX_CLASS_NAMES_BYTES = 16 * 1024 * 1024;

/**
 * Reads `classes.txt` from a dataset folder: one name per line, line n (from 0) naming class
 * index n. Surrounding whitespace, a BOM and blank lines are dropped. Undefined when absent.
 */
export async function readClassNamesFile(folder: string, roots: DataRoots): Promise<string[] | undefined> {
  const file = path.join(folder, CLASS_NAMES_FILE);
  let real: string;
  try {
    real = await fs.realpath(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (!roots.isInside(real)) {
    throw new DatasetLayoutError(`${CLASS_NAMES_FILE} in "${folder}" is a symlink leading outside the data roots`);
  }
  const stats = await fs.stat(real);
  if (!stats.isFile()) throw new DatasetLayoutError(`${CLASS_NAMES_FILE} in "${folder}" is not a file`);
  if (stats.size > MAX_CLASS_NAMES_BYTES) {
    throw new DatasetLayoutError(`${CLASS_NAMES_FILE} in "${folder}" is too large (${stats.size} bytes)`);
  }
  const text = (await fs.readFile(real, 'utf8')).replace(/^\uFEFF/, '');
  const names = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  return checkClassNames(names, `${CLASS_NAMES_FILE} in "${folder}"`);
}

/** Checks a class list (non-empty, no blank or repeated names); `source` says where it came from. */
export function checkClassNames(names: readonly string[], source: string): string[] {
  if (names.length === 0) throw new DatasetLayoutError(`${source} names no classes`);
  const seen = new Set<string>();
  for (const name of names) {
    if (typeof name !== 'string' || name.trim() === '') throw new DatasetLayoutError(`${source} has a blank class name`);
    if (seen.has(name)) throw new DatasetLayoutError(`${source} names class "${name}" twice`);
    seen.add(name);
  }
  return [...names];
}
