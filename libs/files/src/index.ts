export { writeFileAtomic } from './atomic-write';
export { HASH_ALGORITHMS, hashFile } from './file-hash';
export type { HashAlgorithm } from './file-hash';
export { syncDirectory } from './sync-directory';
