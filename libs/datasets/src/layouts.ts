import { Dirent, promises as fs } from 'node:fs';
import path from 'node:path';
import { DatasetLayout, Split } from '@featx/contracts';
import { checkClassNames, CLASS_NAMES_FILE, readClassNamesFile } from './class-names';
import { DataRoots, ResolvedPath } from './data-roots';
import { DatasetInputError, DatasetLayoutError } from './errors';
import { imageSuffixOf, isHiddenName, isImageFileName } from './image-files';
import { describeSplitFolderNames, splitOfFolderName } from './split-names';
import { isSkipped, SkippedFile, walkFiles, WalkedFile } from './walk';

/** A layout that was detected or asked for; never 'auto'. */
export type ResolvedLayout = Exclude<DatasetLayout, 'auto'>;

/** One image of a dataset, with the split and label its place in the folder gives it. */
export interface ScannedImage {
  /** null in the 'class' layout: the split is assigned later (seeded, stratified). */
  split: Split | null;
  label: string;
  /** Posix path relative to the dataset folder, as it appears there (through symlinks). */
  relativePath: string;
  /** Real path, checked to lie inside the data roots. */
  absolutePath: string;
  bytes: number;
  mtimeMs: number;
}

export type ScanEntry = ScannedImage | SkippedFile;

export interface ScanOptions {
  layout: DatasetLayout;
  /** Food-5K layout: class names by index; else read from classes.txt in the folder. */
  classes?: readonly string[];
  roots: DataRoots;
}

export interface DatasetScan {
  layout: ResolvedLayout;
  folder: ResolvedPath;
  /** Food-5K layout only: the class names by index. */
  classes?: string[];
  /**
   * The folder's images and the files skipped (with reasons), streamed. Each iteration walks the
   * folder afresh. Ends with a `DatasetLayoutError` when it found no usable image at all.
   */
  entries: AsyncIterable<ScanEntry>;
}

/**
 * Resolves a dataset folder inside the data roots, settles its layout (detecting it for 'auto')
 * and returns a stream of its images. Errors about the folder itself (outside the roots,
 * missing, no layout fits, no class names) are thrown here, before anything streams.
 */
export async function scanDataset(folder: string, options: ScanOptions): Promise<DatasetScan> {
  const { roots } = options;
  const resolved = await roots.resolve(folder);
  if (!(await fs.stat(resolved.absolutePath)).isDirectory()) {
    throw new DatasetInputError(`path "${folder}" is not a folder`);
  }
  const layout =
    options.layout === 'auto'
      ? await detectLayout(resolved.absolutePath, roots)
      : await checkLayout(resolved.absolutePath, options.layout);

  if (options.classes !== undefined && layout !== 'food5k') {
    throw new DatasetLayoutError(`class names apply to the food5k layout only; "${folder}" has the ${layout} layout`);
  }
  const classes = layout === 'food5k' ? await food5kClasses(resolved.absolutePath, options.classes, roots) : undefined;
  const rules = layoutRules(layout, classes);
  return {
    layout,
    folder: resolved,
    classes,
    entries: { [Symbol.asyncIterator]: () => scanEntries(resolved.absolutePath, layout, rules, roots) },
  };
}

/**
 * Detects a dataset folder's layout from its first two levels:
 * - 'split-class' when a top-level split folder (train, val, test, ...) holds subfolders;
 * - 'food5k' when split folders directly hold `<classIndex>_<n>.<ext>` images;
 * - 'class' otherwise, when there are top-level folders.
 * Throws `DatasetLayoutError` when none fits or no image is found. Symlinks are followed only
 * inside `roots`, by default the folder itself.
 */
export async function detectLayout(folder: string, roots?: DataRoots): Promise<ResolvedLayout> {
  const allowed = roots ?? (await DataRoots.open([{ name: 'dataset', path: folder }]));
  const top = await surveyFolder(folder);
  let layout: ResolvedLayout | undefined;
  let food5kFiles = false;
  for (const splitFolder of top.splitFolders) {
    // A split folder that is a symlink leading out is not looked into (the walk reports it).
    const real = await fs.realpath(splitFolder).catch(() => undefined);
    if (real === undefined || !allowed.isInside(real)) continue;
    const inside = await surveyFolder(real, { stopAtFirstFolder: true });
    if (inside.folders > 0) {
      layout = 'split-class';
      break;
    }
    food5kFiles ||= inside.food5kFiles > 0;
  }
  layout ??= food5kFiles ? 'food5k' : 'class';
  if (layout === 'class' && top.folders === 0) {
    throw new DatasetLayoutError(
      top.imageFiles > 0
        ? `"${folder}" fits no dataset layout: its images lie directly in it; put them in class folders ` +
            `(<class>/<file>) or split and class folders (<split>/<class>/<file>)`
        : `no images found in "${folder}"`,
    );
  }
  if (!(await containsImage(folder, layout, allowed))) {
    const loose = top.imageFiles > 0 ? `; ${top.imageFiles} images lie directly in the folder, outside any folder` : '';
    throw new DatasetLayoutError(`no images found in "${folder}" (looked for the ${layout} layout${loose})`);
  }
  return layout;
}

/** A cheap check that an explicitly requested layout can fit before walking everything. */
async function checkLayout(folder: string, layout: ResolvedLayout): Promise<ResolvedLayout> {
  const top = await surveyFolder(folder);
  if (layout === 'class') {
    if (top.folders === 0) throw new DatasetLayoutError(`"${folder}" has no class folders (<class>/<file>)`);
  } else if (top.splitFolders.length === 0) {
    throw new DatasetLayoutError(
      `"${folder}" has no split folders for the ${layout} layout (expected ${describeSplitFolderNames()})`,
    );
  }
  return layout;
}

async function food5kClasses(folder: string, given: readonly string[] | undefined, roots: DataRoots): Promise<string[]> {
  if (given !== undefined) return checkClassNames(given, 'the classes option');
  const fromFile = await readClassNamesFile(folder, roots);
  if (fromFile === undefined) {
    throw new DatasetLayoutError(
      `the food5k layout needs class names: pass "classes" or write ${CLASS_NAMES_FILE} (one name per line) in "${folder}"`,
    );
  }
  return fromFile;
}

/** How a layout reads an image's split and label off its place in the folder. */
interface LayoutRules {
  /** Posix example path used in skip reasons. */
  expected: string;
  skipFolder(relativePath: string): string | undefined;
  toEntry(file: WalkedFile): ScanEntry;
}

/** `classes` undefined (detection only): any class index is accepted, labelled by its number. */
function layoutRules(layout: ResolvedLayout, classes: readonly string[] | undefined): LayoutRules {
  const notASplitFolder = `not a split folder (expected ${describeSplitFolderNames()})`;
  const skipped = (file: WalkedFile, reason: string): SkippedFile => ({
    skipped: true,
    relativePath: file.relativePath,
    reason,
  });
  const image = (file: WalkedFile, split: Split | null, label: string): ScannedImage => ({
    split,
    label,
    relativePath: file.relativePath,
    absolutePath: file.absolutePath,
    bytes: file.bytes,
    mtimeMs: file.mtimeMs,
  });

  switch (layout) {
    case 'split-class': {
      const expected = '<split>/<class>/<file>';
      return {
        expected,
        skipFolder: (relativePath) => (isTopLevel(relativePath) && !splitOfFolderName(relativePath) ? notASplitFolder : undefined),
        toEntry: (file) => {
          const parts = file.relativePath.split('/');
          if (parts.length === 1) return skipped(file, `not inside a split folder: expected ${expected}`);
          if (parts.length === 2) return skipped(file, `not inside a class folder: expected ${expected}`);
          // Deeper files belong to their first-level class folder.
          return image(file, splitOfFolderName(parts[0]), parts[1]);
        },
      };
    }
    case 'food5k': {
      const expected = '<split>/<classIndex>_<n>.<ext>';
      return {
        expected,
        skipFolder: (relativePath) => {
          if (isTopLevel(relativePath)) return splitOfFolderName(relativePath) ? undefined : notASplitFolder;
          return `food5k split folders hold images directly, not folders: expected ${expected}`;
        },
        toEntry: (file) => {
          const parts = file.relativePath.split('/');
          if (parts.length !== 2) return skipped(file, `not inside a split folder: expected ${expected}`);
          const parsed = parseFood5kFileName(file.name);
          if (!parsed) return skipped(file, `name does not match <classIndex>_<n>.<ext>`);
          const label = classes ? classes[parsed.classIndex] : String(parsed.classIndex);
          if (label === undefined) {
            return skipped(file, `class index ${parsed.classIndex} has no class name (${classes?.length} classes are named)`);
          }
          return image(file, splitOfFolderName(parts[0]), label);
        },
      };
    }
    case 'class': {
      const expected = '<class>/<file>';
      return {
        expected,
        skipFolder: () => undefined,
        toEntry: (file) => {
          const parts = file.relativePath.split('/');
          if (parts.length === 1) return skipped(file, `not inside a class folder: expected ${expected}`);
          return image(file, null, parts[0]);
        },
      };
    }
  }
}

async function* scanEntries(
  folder: string,
  layout: ResolvedLayout,
  rules: LayoutRules,
  roots: DataRoots,
): AsyncGenerator<ScanEntry, void, undefined> {
  let images = 0;
  let skippedCount = 0;
  let firstSkipped: SkippedFile | undefined;
  for await (const walked of walkFiles(folder, { roots, skipFolder: rules.skipFolder })) {
    const entry = isSkipped(walked) ? walked : rules.toEntry(walked);
    if (isSkipped(entry)) {
      skippedCount++;
      firstSkipped ??= entry;
    } else {
      images++;
    }
    yield entry;
  }
  if (images === 0) {
    const why = firstSkipped
      ? `; ${skippedCount} skipped, e.g. "${firstSkipped.relativePath}": ${firstSkipped.reason}`
      : '';
    throw new DatasetLayoutError(`no images found in "${folder}" for the ${layout} layout (${rules.expected})${why}`);
  }
}

/** Parses a Food-5K file name, `<classIndex>_<n>.<image ext>` (e.g. `1_234.jpg`). */
export function parseFood5kFileName(name: string): { classIndex: number; n: number } | undefined {
  const suffix = imageSuffixOf(name);
  if (suffix === undefined || isHiddenName(name)) return undefined;
  const match = /^(\d+)_(\d+)$/.exec(name.slice(0, -suffix.length));
  return match ? { classIndex: Number(match[1]), n: Number(match[2]) } : undefined;
}

function isTopLevel(relativePath: string): boolean {
  return !relativePath.includes('/');
}

/** Walks until the first image the layout would use: quick when there is one. */
async function containsImage(folder: string, layout: ResolvedLayout, roots: DataRoots): Promise<boolean> {
  const { skipFolder, toEntry } = layoutRules(layout, undefined);
  for await (const entry of walkFiles(folder, { roots, skipFolder })) {
    if (!isSkipped(entry) && !isSkipped(toEntry(entry))) return true;
  }
  return false;
}

interface FolderSurvey {
  /** Visible subfolders (symlinks to folders included). */
  folders: number;
  /** Paths of the subfolders whose names are split names. */
  splitFolders: string[];
  imageFiles: number;
  food5kFiles: number;
}

/** Counts one folder's visible entries by kind, streaming; never recurses. */
async function surveyFolder(folder: string, options: { stopAtFirstFolder?: boolean } = {}): Promise<FolderSurvey> {
  const survey: FolderSurvey = { folders: 0, splitFolders: [], imageFiles: 0, food5kFiles: 0 };
  for await (const entry of await fs.opendir(folder, { bufferSize: 128 })) {
    if (isHiddenName(entry.name)) continue;
    const absolutePath = path.join(folder, entry.name);
    const kind = await kindOf(entry, absolutePath);
    if (kind === 'folder') {
      survey.folders++;
      if (splitOfFolderName(entry.name)) survey.splitFolders.push(absolutePath);
      if (options.stopAtFirstFolder) break;
    } else if (kind === 'file' && isImageFileName(entry.name)) {
      survey.imageFiles++;
      if (parseFood5kFileName(entry.name)) survey.food5kFiles++;
    }
  }
  return survey;
}

async function kindOf(entry: Dirent, absolutePath: string): Promise<'folder' | 'file' | 'other'> {
  if (entry.isDirectory()) return 'folder';
  if (entry.isFile()) return 'file';
  if (!entry.isSymbolicLink()) return 'other';
  try {
    // Only the kind is looked at; the walk decides later whether the link may be followed.
    const stats = await fs.stat(absolutePath);
    return stats.isDirectory() ? 'folder' : stats.isFile() ? 'file' : 'other';
  } catch {
    return 'other';
  }
}
