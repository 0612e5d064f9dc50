import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '@featx/files';
import { readExactly, removeStale, uniqueName, writeDurably } from './durable-files';
import { HeadOptions, TrainableHead, createHead } from './head';
import { ResolvedHeadSpec } from './head-spec';
import { ResolvedOptimizerSpec } from './optimizers';

export const CHECKPOINT_FORMAT = 'featx-learning-checkpoint';
export const CHECKPOINT_VERSION = 1;
const MANIFEST = 'checkpoint.json';
const DATA_FILE = /^tensors-.*\.bin$/;

/** checkpoint.json: everything needed to rebuild the head, and where each tensor's bytes are. */
export interface CheckpointManifest {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  spec: ResolvedHeadSpec;
  seed: number;
  optimizer: ResolvedOptimizerSpec;
  /** Optimizer updates done when it was saved. */
  step: number;
  savedAt: string;
  /** File (in the same folder) holding every tensor as little-endian float32, back to back. */
  data: string;
  tensors: Array<{ name: string; shape: number[]; offset: number; length: number }>;
  /** Whatever the caller saved alongside (epoch, best validation loss…). */
  metadata?: Record<string, unknown>;
}

/**
 * Saves a head's weights, optimizer state and step count into `dir`, crash-safely: the tensors go
 * to a new data file, flushed, then checkpoint.json naming it replaces the previous one atomically
 * (the commit point), then older data files are removed. A process killed at any moment leaves
 * either the previous checkpoint or the new one.
 */
export async function saveCheckpoint(head: TrainableHead, dir: string, metadata?: Record<string, unknown>): Promise<CheckpointManifest> {
  await fs.mkdir(dir, { recursive: true });
  const named = [...head.parameters(), ...head.optimizer.state()];
  const data = uniqueName(`tensors-${head.step}`, '.bin');
  const tensors: CheckpointManifest['tensors'] = [];
  let offset = 0;
  for (const { name, tensor } of named) {
    tensors.push({ name, shape: tensor.shape, offset, length: tensor.size });
    offset += tensor.size * 4;
  }
  // One tensor at a time in JavaScript memory (dataSync copies it out of the backend).
  async function* tensorBytes() {
    for (const { tensor } of named) yield tensor.dataSync() as Float32Array;
  }
  await writeDurably(path.join(dir, data), tensorBytes());
  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    spec: head.spec,
    seed: head.seed,
    optimizer: head.optimizer.spec,
    step: head.step,
    savedAt: new Date().toISOString(),
    data,
    tensors,
    ...(metadata ? { metadata } : {}),
  };
  await writeFileAtomic(path.join(dir, MANIFEST), JSON.stringify(manifest, null, 2));
  await removeStale(dir, DATA_FILE, new Set([data]));
  return manifest;
}

/** The manifest of the checkpoint in `dir`, or undefined where none was saved yet. */
export async function readCheckpointManifest(dir: string): Promise<CheckpointManifest | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path.join(dir, MANIFEST), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const manifest = JSON.parse(text) as CheckpointManifest;
  if (manifest.format !== CHECKPOINT_FORMAT || manifest.version !== CHECKPOINT_VERSION) {
    throw new Error(`${path.join(dir, MANIFEST)} is not a ${CHECKPOINT_FORMAT} v${CHECKPOINT_VERSION} checkpoint`);
  }
  return manifest;
}

/**
 * Rebuilds the head saved in `dir` — same weights, optimizer state and step — to continue training
 * exactly as if it had never stopped, on `options.engine` (any engine reads any checkpoint).
 * (readCheckpointManifest gives the step and metadata.)
 */
export async function loadCheckpoint(dir: string, options: HeadOptions = {}): Promise<TrainableHead> {
  const manifest = await readCheckpointManifest(dir);
  if (!manifest) throw new Error(`no checkpoint in ${dir}`);
  const file = path.join(dir, manifest.data);
  const values = new Map<string, Float32Array>();
  const handle = await fs.open(file, 'r');
  try {
    for (const tensor of manifest.tensors) {
      const into = new Float32Array(tensor.length);
      await readExactly(handle, into, tensor.offset, file);
      values.set(tensor.name, into);
    }
  } finally {
    await handle.close();
  }
  return createHead(manifest.spec, manifest.seed, manifest.optimizer, { step: manifest.step, values }, options);
}
