import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type * as H5 from 'h5wasm';

/** The h5wasm module namespace (File, Group, Dataset, ready, ...). */
export type H5Wasm = typeof H5;

let loading: Promise<H5Wasm> | undefined;

/**
 * Loads h5wasm's Node build (host filesystem through NODERAWFS) once.
 *
 * Why not `require('h5wasm/node')`: the package is ESM-only and its `exports` map offers only the
 * `import` condition, so a CommonJS require of the subpath fails. Requiring the file by absolute
 * path works in both places we run: Node >= 20.19 loads synchronous ESM through require(), and
 * jest compiles h5wasm to CommonJS (see transformIgnorePatterns in jest.config.js).
 */
export function loadH5wasm(): Promise<H5Wasm> {
  loading ??= (async () => {
    const entry = findH5wasmNodeEntry();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const h5 = require(entry) as H5Wasm;
    await h5.ready;
    return h5;
  })();
  return loading;
}

function findH5wasmNodeEntry(): string {
  const searchDirs = require.resolve.paths('h5wasm') ?? [];
  for (const dir of searchDirs) {
    const candidate = path.join(dir, 'h5wasm', 'dist', 'node', 'hdf5_hl.js');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`h5wasm is not installed (looked for h5wasm/dist/node/hdf5_hl.js under: ${searchDirs.join(', ')})`);
}
