import { spawnSync } from 'node:child_process';
import { itIf } from '@featx/testing';

/**
 * Runs Python with NumPy to check files against NumPy itself. Where `python3 -c 'import numpy'`
 * fails, the checks are skipped with a warning rather than failed: NumPy is not a dependency
 * of the project, only a witness.
 */

let available: boolean | undefined;

export function numpyAvailable(): boolean {
  available ??= spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore', timeout: 30_000 }).status === 0;
  return available;
}

/** `it`, or a visible skip naming the reason when python3 with NumPy is missing. */
export function itWithNumpy(name: string, fn: () => Promise<void>, timeout?: number): void {
  itIf(numpyAvailable(), "python3 with numpy is not available: python3 -c 'import numpy' failed")(name, fn, timeout);
}

/** Runs `script` with `args` as `sys.argv[1:]`; the script prints one JSON value, returned parsed. */
export function runPython<T = unknown>(script: string, args: readonly string[] = []): T {
  const result = spawnSync('python3', ['-c', script, ...args], { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) {
    throw new Error(`python3 failed (${result.status ?? result.signal}): ${result.stderr || result.error?.message}`);
  }
  return JSON.parse(result.stdout) as T;
}

/** What NumPy sees in a `.npy` file opened with `mmap_mode='r'`. */
export interface NumpyView {
  memmap: boolean;
  dtype: string;
  shape: number[];
  /** SHA-256 of the values' bytes in C order. */
  sha256: string;
}

const LOAD_MMAP_SCRIPT = `
import hashlib, json, sys
import numpy as np
out = {}
for path in sys.argv[1:]:
    a = np.load(path, mmap_mode='r')
    out[path] = {
        'memmap': isinstance(a, np.memmap),
        'dtype': a.dtype.str,
        'shape': list(a.shape),
        'sha256': hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest(),
    }
print(json.dumps(out))
`;

/** Loads each file with `numpy.load(path, mmap_mode='r')`. */
export function loadWithNumpy(paths: readonly string[]): Record<string, NumpyView> {
  return runPython<Record<string, NumpyView>>(LOAD_MMAP_SCRIPT, paths);
}
