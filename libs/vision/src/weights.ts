import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { hashFile, type HashAlgorithm } from '@featx/files';
import { WeightsChecksumError, WeightsUnavailableError } from './errors';

/** A weights file as its publisher ships it, with the checksum Keras' get_file verifies. */
export interface PublishedWeights {
  /** What the weights are, for messages. */
  description: string;
  fileName: string;
  url: string;
  hash: string;
  hashAlgorithm: HashAlgorithm;
}

export const KERAS_RESNET_WEIGHTS_URL = 'https://storage.googleapis.com/tensorflow/keras-applications/resnet/';

/** md5 values from WEIGHTS_HASHES['resnet50'] in keras/applications/resnet.py (with top, without top). */
export const RESNET50_WEIGHTS = {
  top: published('ResNet-50 ImageNet weights (with top)', 'resnet50_weights_tf_dim_ordering_tf_kernels.h5', '2cb95161c43110f7111970584f804107'),
  notop: published('ResNet-50 ImageNet weights (no top)', 'resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5', '4d473c1dd8becc155b73f8504c6f6626'),
} as const;

function published(description: string, fileName: string, md5: string): PublishedWeights {
  return { description, fileName, url: KERAS_RESNET_WEIGHTS_URL + fileName, hash: md5, hashAlgorithm: 'md5' };
}

export interface ResolveWeightsOptions {
  /** Use this file instead of the cache (still checksum-verified unless verify is false). */
  localPath?: string;
  /** Download cache; default defaultWeightsCacheDir(). */
  cacheDir?: string;
  /** Other folders that may already hold the file; default Keras' own cache ~/.keras/models. */
  searchDirs?: string[];
  /** Allow downloading when no verified copy exists. Default true. */
  download?: boolean;
  /** Check the checksum. Default true; turn off only for deliberately different (e.g. fine-tuned) weights. */
  verify?: boolean;
  /** Injected for tests; default the global fetch. */
  fetch?: typeof fetch;
  log?: (line: string) => void;
}

/** $FEATX_WEIGHTS_DIR, else $XDG_CACHE_HOME/featx/weights, else ~/.cache/featx/weights. */
export function defaultWeightsCacheDir(): string {
  return featxCacheDir('weights', process.env['FEATX_WEIGHTS_DIR']);
}

/** `override` if set, else $XDG_CACHE_HOME/featx/<name>, else ~/.cache/featx/<name>. */
export function featxCacheDir(name: string, override?: string): string {
  if (override) return override;
  const cacheHome = process.env['XDG_CACHE_HOME'] || path.join(os.homedir(), '.cache');
  return path.join(cacheHome, 'featx', name);
}

/**
 * Returns the path of a verified copy of the weights: the given local file, else a cached copy
 * (ours or Keras'), else a fresh download into the cache. Downloads go to a temporary name and are
 * renamed only after the checksum matches, so a crash or a concurrent replica never leaves a bad file.
 */
export async function resolveWeightsFile(weights: PublishedWeights, options: ResolveWeightsOptions = {}): Promise<string> {
  const verify = options.verify ?? true;
  const log = options.log ?? (() => undefined);
  if (options.localPath) {
    if (!existsSync(options.localPath)) {
      throw new WeightsUnavailableError(`${weights.description}: no file at ${options.localPath}`);
    }
    if (verify) await verifyFileHash(options.localPath, weights);
    return options.localPath;
  }

  const cacheDir = options.cacheDir ?? defaultWeightsCacheDir();
  const target = path.join(cacheDir, weights.fileName);
  const searchDirs = options.searchDirs ?? [path.join(os.homedir(), '.keras', 'models')];
  for (const candidate of [target, ...searchDirs.map((d) => path.join(d, weights.fileName))]) {
    if (!existsSync(candidate)) continue;
    if (!verify) return candidate;
    const actual = await hashFile(candidate, weights.hashAlgorithm);
    if (actual === weights.hash) return candidate;
    log(`ignoring ${candidate}: ${weights.hashAlgorithm} ${actual} is not the published ${weights.hash}`);
  }

  const howToFix =
    `Download ${weights.url} on a machine with network access and put it at ${target} ` +
    `(${weights.hashAlgorithm} ${weights.hash}), or pass its path as weightsPath.`;
  if (options.download === false) {
    throw new WeightsUnavailableError(`${weights.description} not found and downloading is disabled. ${howToFix}`);
  }
  log(`downloading ${weights.description} from ${weights.url} to ${target}`);
  try {
    await downloadVerified(weights, target, options.fetch ?? fetch, verify);
  } catch (error) {
    if (error instanceof WeightsChecksumError) throw error;
    throw new WeightsUnavailableError(`cannot download ${weights.description} from ${weights.url}: ${describe(error)}. ${howToFix}`, {
      cause: error,
    });
  }
  return target;
}

/** Throws WeightsChecksumError unless the file has the published checksum. */
export async function verifyFileHash(filePath: string, weights: Pick<PublishedWeights, 'hash' | 'hashAlgorithm'>): Promise<void> {
  const actual = await hashFile(filePath, weights.hashAlgorithm);
  if (actual !== weights.hash.toLowerCase()) throw new WeightsChecksumError(filePath, weights.hashAlgorithm, weights.hash, actual);
}

async function downloadVerified(weights: PublishedWeights, target: string, fetchImpl: typeof fetch, verify: boolean): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const partial = `${target}.${process.pid}.${Date.now()}.part`;
  try {
    const response = await fetchImpl(weights.url);
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status} ${response.statusText}`);
    const hash = createHash(weights.hashAlgorithm);
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), hashing, createWriteStream(partial));
    const actual = hash.digest('hex');
    if (verify && actual !== weights.hash.toLowerCase()) {
      throw new WeightsChecksumError(weights.url, weights.hashAlgorithm, weights.hash, actual);
    }
    await rename(partial, target);
  } finally {
    await rm(partial, { force: true });
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ? `${error.message} (${cause.code})` : cause?.message ? `${error.message} (${cause.message})` : error.message;
}
