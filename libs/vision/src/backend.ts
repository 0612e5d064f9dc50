import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { z } from 'zod';

/** What the configuration may ask for. `tensorflow` means libtensorflow via tfjs-node(-gpu). */
export const BackendPreferenceSchema = z.enum(['auto', 'tensorflow', 'wasm', 'cpu']);
export type BackendPreference = z.infer<typeof BackendPreferenceSchema>;

/** The backend that actually runs, and why. */
export interface BackendChoice {
  /** tf.getBackend() after selection: 'tensorflow' | 'wasm' | 'cpu'. */
  backend: string;
  preference: BackendPreference;
  /** npm package that provides it. */
  provider: string;
  /** wasm only: whether the SIMD binary is in use. */
  simd?: boolean;
  /** Backends tried first and why each was skipped (for logs). */
  skipped: string[];
}

export interface SelectBackendOptions {
  /** Where to say which backend runs; default console.info. */
  log?: (line: string) => void;
}

// Optional native bindings, fastest first. Not dependencies of this project: libtensorflow must be
// downloaded at install time, which fails offline, so they are only used where someone installed them.
const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

let current: { preference: BackendPreference; choice: BackendChoice } | undefined;
let wasmPathsSet = false;

/**
 * Makes the fastest available TF.js backend (or the configured one) active and returns which runs.
 * Idempotent: a repeated call with the same preference returns the earlier choice without re-initialising.
 */
export async function selectBackend(
  preference: BackendPreference = 'auto',
  options: SelectBackendOptions = {},
): Promise<BackendChoice> {
  if (current && current.preference === preference && tf.getBackend() === current.choice.backend) {
    return current.choice;
  }
  const log = options.log ?? ((line: string) => console.info(line));
  const skipped: string[] = [];
  let choice: BackendChoice | undefined;

  if (preference === 'auto' || preference === 'tensorflow') {
    choice = await tryNative(preference, skipped);
    if (!choice && preference === 'tensorflow') {
      throw new Error(`TF.js backend 'tensorflow' was requested but is unavailable: ${skipped.join('; ')}`);
    }
  }
  if (!choice && (preference === 'auto' || preference === 'wasm')) {
    choice = await tryWasm(preference, skipped);
    if (!choice && preference === 'wasm') {
      throw new Error(`TF.js backend 'wasm' was requested but failed to start: ${skipped.join('; ')}`);
    }
  }
  if (!choice) {
    if (!(await tf.setBackend('cpu'))) throw new Error('TF.js cpu backend failed to start');
    await tf.ready();
    choice = { backend: 'cpu', preference, provider: '@tensorflow/tfjs-backend-cpu', skipped };
  }

  current = { preference, choice };
  const detail = choice.simd === undefined ? '' : choice.simd ? ' (SIMD)' : ' (no SIMD)';
  const why = skipped.length > 0 ? `; skipped: ${skipped.join('; ')}` : '';
  log(`TF.js backend: ${choice.backend}${detail} from ${choice.provider} [requested ${preference}]${why}`);
  return choice;
}

/** The choice made by the last selectBackend call, if any. */
export function currentBackend(): BackendChoice | undefined {
  return current?.choice;
}

async function tryNative(preference: BackendPreference, skipped: string[]): Promise<BackendChoice | undefined> {
  for (const pkg of NATIVE_PACKAGES) {
    try {
      // Requiring the binding registers the 'tensorflow' backend with the shared tfjs-core.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(pkg);
    } catch (error) {
      skipped.push(`${pkg} not installed (${firstLine(error)})`);
      continue;
    }
    // A binding built against another tfjs-core copy registers there, not with ours.
    if (!tf.findBackendFactory('tensorflow')) {
      skipped.push(`${pkg} registered no 'tensorflow' backend with this @tensorflow/tfjs (version mismatch?)`);
      continue;
    }
    try {
      if (await tf.setBackend('tensorflow')) {
        await tf.ready();
        return { backend: 'tensorflow', preference, provider: pkg, skipped };
      }
      skipped.push(`${pkg} failed to initialise`);
    } catch (error) {
      skipped.push(`${pkg} failed to initialise (${firstLine(error)})`);
    }
  }
  return undefined;
}

async function tryWasm(preference: BackendPreference, skipped: string[]): Promise<BackendChoice | undefined> {
  try {
    if (!wasmPathsSet) {
      // Point the loader at the .wasm binaries inside the installed package so it reads them
      // from disk; the default would fetch them relative to a script URL, which fails offline in Node.
      const distDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
      setWasmPaths(distDir + path.sep);
      wasmPathsSet = true;
    }
    if (!(await tf.setBackend('wasm'))) {
      skipped.push('wasm failed to initialise');
      return undefined;
    }
    await tf.ready();
    const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    return { backend: 'wasm', preference, provider: '@tensorflow/tfjs-backend-wasm', simd, skipped };
  } catch (error) {
    skipped.push(`wasm failed (${firstLine(error)})`);
    return undefined;
  }
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}
