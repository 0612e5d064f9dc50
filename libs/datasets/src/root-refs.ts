import * as path from 'node:path';
import { DataRoots, ResolvedPath } from './data-roots';
import { DatasetInputError } from './errors';

/**
 * A file by reference, as it travels between services: the data root's name and the path under
 * it. Each machine maps root names to its own mount points, so refs stay valid across machines.
 */
export interface RootRef {
  root: string;
  path: string;
}

export function formatRootRef(ref: RootRef): string {
  return `${ref.root}:${ref.path}`;
}

export function parseRootRef(text: string): RootRef {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new DatasetInputError(`"${text}" is not a <data root>:<path> reference`);
  return { root: text.slice(0, colon), path: text.slice(colon + 1) };
}

export function rootRefOf(resolved: ResolvedPath): RootRef {
  return { root: resolved.root.name, path: resolved.relativePath };
}

/**
 * The real path of a ref on this machine, confined like any client path: an unknown root, `..`
 * or a symlink leading out is refused.
 */
export async function resolveRootRef(roots: DataRoots, ref: RootRef): Promise<ResolvedPath> {
  const root = roots.roots.find((r) => r.name === ref.root);
  if (!root) throw new DatasetInputError(`data root "${ref.root}" is not configured here (configured: ${roots.roots.map((r) => r.name).join(', ')})`);
  if (path.isAbsolute(ref.path)) throw new DatasetInputError(`path "${ref.path}" under data root "${ref.root}" must be relative`);
  return roots.resolve(path.join(root.path, ref.path));
}
