import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The console's build: React's JSX compiled by Vite's own transform (oxc, automatic runtime), so
 * no React plugin is needed for a production bundle; only types are taken from @featx/contracts.
 */
export default defineConfig({
  root,
  base: './',
  oxc: { jsx: { runtime: 'automatic' } },
  resolve: { alias: { '@featx/contracts': `${root}../../libs/contracts/src/index.ts` } },
  build: { outDir: `${root}../../dist/apps/web`, emptyOutDir: true, sourcemap: false, target: 'es2022' },
  logLevel: 'warn',
});
