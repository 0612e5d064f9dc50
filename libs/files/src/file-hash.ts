import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';

/** sha256 for datasets and caches; md5 only where a publisher gives nothing else (Keras weights). */
export const HASH_ALGORITHMS = ['sha256', 'md5'] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

/** Lower-case hex digest of a file's bytes, read as a stream (constant memory whatever its size). */
export async function hashFile(filePath: string, algorithm: HashAlgorithm): Promise<string> {
  if (!HASH_ALGORITHMS.includes(algorithm)) {
    throw new TypeError(`hash algorithm must be one of ${HASH_ALGORITHMS.join(', ')}, got ${JSON.stringify(algorithm)}`);
  }
  const hash = createHash(algorithm);
  await pipeline(createReadStream(filePath), hash);
  return hash.digest('hex');
}
