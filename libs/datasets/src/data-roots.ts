import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DataRootsConfigError, DatasetInputError, PathNotFoundError, PathOutsideRootsError } from './errors';

/** One configured data root, as written in the configuration. */
export interface DataRootSpec {
  name: string;
  /** Absolute path as configured; may itself be a symlink. */
  path: string;
}

/** An opened data root. */
export interface DataRoot {
  readonly name: string;
  /** Real path (symlinks resolved): the one every check compares against. */
  readonly path: string;
}

export interface ResolvedPath {
  root: DataRoot;
  /** Real path, symlinks resolved; always inside `root.path`. */
  absolutePath: string;
  /** Posix path relative to `root.path`; `.` for the root itself. */
  relativePath: string;
}

const ROOT_NAME = /^[a-zA-Z0-9_.-]+$/;
// `name=` may not contain '/', so a bare path that happens to contain '=' stays a bare path.
const NAMED_ENTRY = /^([^=/]*)=(.*)$/;

/**
 * Parses the data roots configuration: a comma-separated list of `name=/abs/path` or bare
 * `/abs/path` entries (a bare entry is named after its basename). Blank entries are ignored.
 */
export function parseDataRoots(spec: string): DataRootSpec[] {
  const specs: DataRootSpec[] = [];
  for (const raw of spec.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const named = NAMED_ENTRY.exec(entry);
    const rootPath = (named ? named[2] : entry).trim();
    if (!path.isAbsolute(rootPath)) {
      throw new DataRootsConfigError(`data root "${entry}": the path must be absolute`);
    }
    const normalized = path.resolve(rootPath);
    specs.push({ name: named ? named[1].trim() : path.basename(normalized), path: normalized });
  }
  validateSpecs(specs);
  return specs;
}

function validateSpecs(specs: readonly DataRootSpec[]): void {
  if (specs.length === 0) throw new DataRootsConfigError('no data roots configured');
  const seen = new Set<string>();
  for (const { name, path: rootPath } of specs) {
    if (!ROOT_NAME.test(name) || name === '.' || name === '..') {
      throw new DataRootsConfigError(
        `data root name "${name}" (${rootPath}) is invalid: use letters, digits, '_', '.' or '-'` +
          (name === '' ? ', or write name=/path' : ''),
      );
    }
    if (!path.isAbsolute(rootPath)) {
      throw new DataRootsConfigError(`data root "${name}": the path "${rootPath}" must be absolute`);
    }
    if (seen.has(name)) throw new DataRootsConfigError(`data root name "${name}" is used twice`);
    seen.add(name);
  }
}

/**
 * The folders featx may read images from. Every path a client sends goes through `resolve`,
 * which refuses anything that ends up outside the roots, whether by `..`, by an absolute path
 * or by a symlink.
 */
export class DataRoots {
  private constructor(
    readonly roots: readonly DataRoot[],
    /** Configured (possibly symlinked) paths, parallel to `roots`, for the lexical check. */
    private readonly configuredPaths: readonly string[],
  ) {}

  /** Opens the roots, from a configuration string or parsed specs; each must exist and be a folder. */
  static async open(specs: string | readonly DataRootSpec[]): Promise<DataRoots> {
    const list = typeof specs === 'string' ? parseDataRoots(specs) : specs;
    validateSpecs(list);
    const roots: DataRoot[] = [];
    for (const spec of list) {
      let real: string;
      try {
        real = await fs.realpath(spec.path);
      } catch (error) {
        throw new DataRootsConfigError(`data root "${spec.name}" (${spec.path}) cannot be opened: ${describeFsError(error)}`);
      }
      if (!(await fs.stat(real)).isDirectory()) {
        throw new DataRootsConfigError(`data root "${spec.name}" (${spec.path}) is not a folder`);
      }
      roots.push(Object.freeze({ name: spec.name, path: real }));
    }
    return new DataRoots(Object.freeze(roots), list.map((spec) => path.resolve(spec.path)));
  }

  /**
   * Resolves a client's path (absolute, or relative to the first root) to a real path inside
   * a root. Throws `PathOutsideRootsError` or `PathNotFoundError`; never says whether
   * something exists outside the roots.
   */
  async resolve(input: string): Promise<ResolvedPath> {
    if (typeof input !== 'string' || input === '' || input.includes('\0')) {
      throw new DatasetInputError(`path ${JSON.stringify(input)} is not a valid path`);
    }
    const lexical = path.isAbsolute(input) ? path.resolve(input) : path.resolve(this.roots[0].path, input);
    if (!this.lexicallyInside(lexical)) throw new PathOutsideRootsError(input, this.roots);

    let real: string;
    try {
      real = await fs.realpath(lexical);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        // A missing path behind a symlink that leads out is "outside", not "not found".
        const existing = await this.realpathOfExistingAncestor(lexical);
        if (existing !== undefined && !this.isInside(existing)) throw new PathOutsideRootsError(input, this.roots);
        throw new PathNotFoundError(input);
      }
      if (code === 'ELOOP') throw new DatasetInputError(`path "${input}" cannot be resolved: a symlink loop`);
      throw error;
    }

    const root = this.rootOf(real);
    if (!root) throw new PathOutsideRootsError(input, this.roots);
    return { root, absolutePath: real, relativePath: relativePosix(root.path, real) };
  }

  /** Whether a real (symlink-free) absolute path lies inside some root. */
  isInside(realAbsolutePath: string): boolean {
    return this.rootOf(realAbsolutePath) !== undefined;
  }

  /** The root holding a real absolute path; the deepest one when roots are nested. */
  rootOf(realAbsolutePath: string): DataRoot | undefined {
    let best: DataRoot | undefined;
    for (const root of this.roots) {
      if (contains(root.path, realAbsolutePath) && (!best || root.path.length > best.path.length)) best = root;
    }
    return best;
  }

  toString(): string {
    return this.roots.map((root) => `${root.name}=${root.path}`).join(',');
  }

  private lexicallyInside(absolutePath: string): boolean {
    return (
      this.roots.some((root) => contains(root.path, absolutePath)) ||
      this.configuredPaths.some((configured) => contains(configured, absolutePath))
    );
  }

  private async realpathOfExistingAncestor(absolutePath: string): Promise<string | undefined> {
    for (let current = path.dirname(absolutePath); ; current = path.dirname(current)) {
      try {
        return await fs.realpath(current);
      } catch {
        if (current === path.dirname(current)) return undefined;
      }
    }
  }
}

/** Whether `child` is `parent` or lies below it (both absolute and normalized). */
export function contains(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith(`..${path.sep}`) && relative !== '..' && !path.isAbsolute(relative));
}

/** `path.relative` with '/' separators; `.` when both are the same. */
export function relativePosix(from: string, to: string): string {
  const relative = path.relative(from, to);
  return relative === '' ? '.' : relative.split(path.sep).join('/');
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'it does not exist';
  if (code === 'EACCES') return 'permission denied';
  return (error as Error).message;
}
