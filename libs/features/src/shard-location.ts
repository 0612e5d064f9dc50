import * as path from 'node:path';
import { ShardError } from './errors';

/**
 * Where shards lie: `<features dir>/<feature set>/<split>/<store>-<n>/`, n zero-padded to five
 * digits. Databases record the path relative to the features dir (feature_shards.path), so the
 * folder can move and the API, trainer and feature store each find a shard from their own root.
 */
export interface ShardLocation {
  featureSetId: string;
  split: string;
  /** The feature store that writes the shard (FEATX_STORE_ID); one writer per shard. */
  storeId: string;
  /** The shard's number within its set, split and store. */
  index: number;
}

/** The shard's folder relative to the features dir, with `/` separators (as recorded). */
export function shardPath(location: ShardLocation): string {
  const { featureSetId, split, storeId, index } = location;
  for (const [name, value] of Object.entries({ featureSetId, split, storeId })) {
    if (typeof value !== 'string' || value === '' || value === '.' || value === '..' || /[/\\]/.test(value)) {
      throw new ShardError(`${name} must be one folder name (not empty, no / or \\, not . or ..), got ${JSON.stringify(value)}`);
    }
  }
  if (!Number.isSafeInteger(index) || index < 0) throw new ShardError(`index must be a non-negative integer, got ${index}`);
  return path.posix.join(featureSetId, split, `${storeId}-${String(index).padStart(5, '0')}`);
}

/**
 * The absolute folder of the shard recorded at `relativePath`. It must lie inside `featuresDir`:
 * a path that escapes it (`..`, absolute) is a `ShardError`, so a bad row never reads other files.
 */
export function shardDir(featuresDir: string, relativePath: string): string {
  const root = path.resolve(featuresDir);
  const dir = path.resolve(root, relativePath);
  const inside = path.relative(root, dir);
  if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) {
    throw new ShardError(`shard path ${JSON.stringify(relativePath)} is not a folder inside the features dir`);
  }
  return dir;
}
