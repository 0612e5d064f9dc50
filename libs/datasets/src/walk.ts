import { Dir, promises as fs, Stats } from 'node:fs';
import path from 'node:path';
import { DataRoots } from './data-roots';
import { PathOutsideRootsError } from './errors';
import { isHiddenName, isImageFileName } from './image-files';

/** An image file found by `walkFiles`. */
export interface WalkedFile {
  /** Real path (symlinks resolved): the file that was checked against the roots and will be read. */
  absolutePath: string;
  /** File name as it appears in the tree (a symlink's own name, not its target's). */
  name: string;
  /** Posix path relative to the walked folder, as it appears in the tree (through symlinks). */
  relativePath: string;
  bytes: number;
  mtimeMs: number;
}

/** Something the walk saw but will not use, reported so the caller can tell the user why. */
export interface SkippedFile {
  skipped: true;
  /** Posix path relative to the walked (or dataset) folder; may name a folder. */
  relativePath: string;
  reason: string;
}

export type WalkEntry = WalkedFile | SkippedFile;

export function isSkipped(entry: object): entry is SkippedFile {
  return (entry as Partial<SkippedFile>).skipped === true;
}

export interface WalkOptions {
  /** Symlinks are followed only when their real path stays inside these roots. */
  roots: DataRoots;
  /**
   * Called for each folder (posix path relative to the walked folder) before entering it:
   * a returned reason skips the whole folder with one `SkippedFile` instead of one per file.
   */
  skipFolder?: (relativePath: string) => string | undefined;
}

interface WalkContext extends WalkOptions {
  /** Real paths of the folders being walked, from the top down, to recognize cycles. */
  ancestors: Map<string, string>;
}

/** Entries fetched per `readdir` call; the walk holds at most this many names per open folder. */
const DIR_BUFFER_SIZE = 128;
/** Files stat'ed together: one at a time costs ~8x more on a busy disk or a network file system. */
const STAT_BATCH_SIZE = 64;

interface FileToStat {
  absolutePath: string;
  name: string;
  relativePath: string;
}

/**
 * Walks a folder tree as a stream and yields its visible image files. Folders are read with
 * `opendir`, a batch of entries at a time, so a folder of a million files never sits in memory;
 * order is the file system's, not sorted. Hidden entries are ignored, as are files that are not
 * images. Symlinks are followed when they lead inside the data roots; one leading out, broken
 * or closing a cycle is yielded as a `SkippedFile` instead.
 */
export async function* walkFiles(dir: string, options: WalkOptions): AsyncGenerator<WalkEntry, void, undefined> {
  const real = await fs.realpath(dir);
  if (!options.roots.isInside(real)) throw new PathOutsideRootsError(dir, options.roots.roots);
  const context: WalkContext = { ...options, ancestors: new Map([[real, '.']]) };
  yield* walkFolder(real, '', context);
}

async function* walkFolder(
  realDir: string,
  relativeDir: string,
  context: WalkContext,
): AsyncGenerator<WalkEntry, void, undefined> {
  let dir: Dir;
  try {
    dir = await fs.opendir(realDir, { bufferSize: DIR_BUFFER_SIZE });
  } catch (error) {
    if (relativeDir === '') throw error;
    yield skip(relativeDir, `cannot read folder: ${errorCode(error)}`);
    return;
  }
  const files: FileToStat[] = [];
  // The Dir's iterator closes the handle when the loop ends, breaks or throws.
  for await (const entry of dir) {
    if (isHiddenName(entry.name)) continue;
    const relativePath = relativeDir === '' ? entry.name : `${relativeDir}/${entry.name}`;
    const absolutePath = path.join(realDir, entry.name);
    if (entry.isDirectory()) {
      yield* descend(absolutePath, relativePath, context);
    } else if (entry.isFile()) {
      if (isImageFileName(entry.name)) files.push({ absolutePath, name: entry.name, relativePath });
      if (files.length >= STAT_BATCH_SIZE) yield* statFiles(files.splice(0));
    } else if (entry.isSymbolicLink()) {
      yield* followSymlink(absolutePath, entry.name, relativePath, context);
    }
    // Sockets, FIFOs and devices are never images.
  }
  yield* statFiles(files);
}

async function* statFiles(files: readonly FileToStat[]): AsyncGenerator<WalkEntry, void, undefined> {
  yield* await Promise.all(files.map(fileEntry));
}

async function* descend(
  realDir: string,
  relativePath: string,
  context: WalkContext,
): AsyncGenerator<WalkEntry, void, undefined> {
  const { ancestors, skipFolder } = context;
  const ancestor = ancestors.get(realDir);
  if (ancestor !== undefined) {
    yield skip(relativePath, `symlink cycle: leads back to the enclosing folder "${ancestor}"`);
    return;
  }
  const reason = skipFolder?.(relativePath);
  if (reason !== undefined) {
    yield skip(relativePath, reason);
    return;
  }
  ancestors.set(realDir, relativePath);
  try {
    yield* walkFolder(realDir, relativePath, context);
  } finally {
    ancestors.delete(realDir);
  }
}

async function* followSymlink(
  linkPath: string,
  name: string,
  relativePath: string,
  context: WalkContext,
): AsyncGenerator<WalkEntry, void, undefined> {
  let target: string;
  let stats: Stats;
  try {
    target = await fs.realpath(linkPath);
    // Checked before stat: nothing outside the roots is even looked at.
    if (!context.roots.isInside(target)) {
      yield skip(relativePath, `symlink leads outside the data roots (to ${target})`);
      return;
    }
    stats = await fs.stat(target);
  } catch (error) {
    const code = errorCode(error);
    yield skip(
      relativePath,
      code === 'ENOENT' ? 'broken symlink' : code === 'ELOOP' ? 'symlink loop' : `cannot follow symlink: ${code}`,
    );
    return;
  }
  if (stats.isDirectory()) {
    yield* descend(target, relativePath, context);
  } else if (stats.isFile() && isImageFileName(name)) {
    yield { absolutePath: target, name, relativePath, bytes: stats.size, mtimeMs: stats.mtimeMs };
  }
}

async function fileEntry({ absolutePath, name, relativePath }: FileToStat): Promise<WalkEntry> {
  try {
    const stats = await fs.stat(absolutePath);
    return { absolutePath, name, relativePath, bytes: stats.size, mtimeMs: stats.mtimeMs };
  } catch (error) {
    // Deleted or made unreadable between readdir and stat.
    return skip(relativePath, `cannot read file: ${errorCode(error)}`);
  }
}

function skip(relativePath: string, reason: string): SkippedFile {
  return { skipped: true, relativePath, reason };
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
}
