/**
 * `npm run build` (nx run-many -t build) runs this once per app: `tools/build.ts <app>` compiles
 * the app and the lib modules it reaches to CommonJS in dist/apps/<app>, so that
 * `node dist/apps/<app>/main.js` runs with no transpiler, no tsconfig paths and no dev dependencies.
 *
 * Why swc, file by file:
 * - it is the compiler that `npm run dev` and the tests already run (tools/register.js, jest), with
 *   the same settings, so the build runs the code the tests ran; decorator metadata, which Nest's
 *   dependency injection reads, comes out as it does there;
 * - it rewrites the @featx/* aliases into relative requires from tsconfig.json's paths, so nothing
 *   resolves them at run time;
 * - not tsc: it would type-check a second time (npm run typecheck does) and leave the aliases for
 *   another tool to rewrite; not an esbuild bundle: esbuild emits no decorator metadata, and
 *   native or ESM packages (onnxruntime-node, sharp, h5wasm, tfjs-backend-wasm's .wasm files)
 *   must stay in node_modules anyway, where they find their own files.
 *
 * dist/apps/<app> mirrors the repository (apps/<app>/src, libs/<lib>/src, migrations) so that paths
 * relative to a module are those of the sources: the migrations folder, the ONNX session worker
 * and pool.js, plain JavaScript loaded by path, and the onednn engine's native addon, which are
 * copied beside their module.
 */
import { transformFileSync, parseSync } from '@swc/core';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

/** Folders a lib reads by path relative to its modules, copied into the build when the lib is in it. */
const LIB_ASSETS: Record<string, string[]> = {
  db: ['migrations'], // libs/db/src/database.ts: ../../../migrations
};

/**
 * Native addons a module loads by path relative to itself, copied beside it when the module is in
 * the build and the addon has been built (tools/build-native.js; optional: without it the module
 * reports the engine unavailable). The image's runtime stage installs the libraries they link.
 */
const MODULE_NATIVE_ASSETS: Record<string, string[]> = {
  // featx_dense.node, the onednn head engine (links libdnnl2, libgomp1)
  'libs/learning/src/onednn/dense-addon.ts': ['native/build/Release/featx_dense.node'],
};

export interface BuildResult {
  app: string;
  outDir: string;
  /** Repository-relative paths of the modules written (compiled TypeScript and copied JavaScript). */
  modules: string[];
  /** Repository-relative paths of the native addons copied beside their modules (MODULE_NATIVE_ASSETS). */
  nativeAddons: string[];
  libs: string[];
  bytes: number;
  ms: number;
}

export function buildApp(app: string): BuildResult {
  const started = process.hrtime.bigint();
  const entry = path.join(ROOT, 'apps', app, 'src', 'main.ts');
  if (!existsSync(entry)) {
    throw new Error(`unknown app "${app}": ${path.relative(ROOT, entry)} does not exist (apps: ${appNames().join(', ')})`);
  }
  const outDir = path.join(ROOT, 'dist', 'apps', app);
  rmSync(outDir, { recursive: true, force: true });

  const options = swcOptions();
  const dependencies = productionDependencies();
  const written = new Set<string>();
  const projects = new Set<string>();
  const queue = [entry];
  let bytes = 0;
  const write = (file: string, content: string) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    bytes += Buffer.byteLength(content);
  };

  while (queue.length > 0) {
    const source = queue.shift()!;
    if (written.has(source)) continue;
    written.add(source);
    const project = projectSourceRoot(source, app);
    if (!projects.has(project)) {
      projects.add(project);
      // Plain JavaScript in a project is loaded by path (a worker thread's script), not required.
      queue.push(...plainJavaScript(path.join(ROOT, project)));
    }

    const relative = path.relative(ROOT, source);
    const target = path.join(outDir, relative.replace(/\.ts$/, '.js'));
    let code: string;
    if (source.endsWith('.ts')) {
      const output = transformFileSync(source, { ...options, sourceFileName: path.relative(path.dirname(target), source) });
      code = `${output.code}\n//# sourceMappingURL=${path.basename(target)}.map\n`;
      write(`${target}.map`, output.map!);
    } else {
      code = readFileSync(source, 'utf8');
    }
    write(target, code);

    for (const specifier of requiredSpecifiers(code, relative)) {
      if (specifier.startsWith('.')) {
        queue.push(resolveModule(path.resolve(path.dirname(source), specifier), `${relative}: require("${specifier}")`));
      } else {
        checkProductionDependency(specifier, relative, dependencies);
      }
    }
  }

  const nativeAddons: string[] = [];
  for (const [module, files] of Object.entries(MODULE_NATIVE_ASSETS)) {
    if (!written.has(path.join(ROOT, module))) continue;
    for (const file of files) {
      const relative = path.join(path.dirname(module), file);
      if (!existsSync(path.join(ROOT, relative))) continue;
      mkdirSync(path.dirname(path.join(outDir, relative)), { recursive: true });
      copyFileSync(path.join(ROOT, relative), path.join(outDir, relative));
      bytes += statSync(path.join(ROOT, relative)).size;
      nativeAddons.push(relative);
    }
  }

  const libs = [...projects].filter((p) => p.startsWith('libs/')).map((p) => p.split('/')[1]).sort();
  for (const lib of libs) {
    for (const folder of LIB_ASSETS[lib] ?? []) {
      cpSync(path.join(ROOT, folder), path.join(outDir, folder), { recursive: true });
      bytes += folderBytes(path.join(ROOT, folder));
    }
  }
  write(
    path.join(outDir, 'main.js'),
    `'use strict';\n// Built by tools/build.ts; the tree beside this file mirrors the repository.\nrequire('./apps/${app}/src/main.js');\n`,
  );

  return {
    app,
    outDir,
    modules: [...written].map((f) => path.relative(ROOT, f)).sort(),
    nativeAddons,
    libs,
    bytes,
    ms: Number(process.hrtime.bigint() - started) / 1e6,
  };
}

/** The settings tools/register.js derives from tsconfig.json for `npm run dev`, written out. */
function swcOptions() {
  const tsconfig = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8')) as {
    compilerOptions: { paths: Record<string, string[]> };
  };
  const paths = Object.fromEntries(
    Object.entries(tsconfig.compilerOptions.paths).map(([alias, targets]) => [alias, targets.map((t) => path.join(ROOT, t))]),
  );
  return {
    swcrc: false,
    jsc: {
      parser: { syntax: 'typescript' as const, decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: true },
      target: 'es2022' as const,
      // Nest names providers and log contexts after classes.
      keepClassNames: true,
      baseUrl: ROOT,
      paths,
    },
    module: { type: 'commonjs' as const },
    sourceMaps: true,
    // Stack traces map to the TypeScript lines; the sources themselves are not shipped.
    inlineSourcesContent: false,
  };
}

/** `apps/<app>/src` or `libs/<lib>/src`: the only folders a build may take modules from. */
function projectSourceRoot(file: string, app: string): string {
  const [kind, name, src] = path.relative(ROOT, file).split(path.sep);
  if (src === 'src' && (kind === 'libs' || (kind === 'apps' && name === app))) return `${kind}/${name}/src`;
  throw new Error(`${path.relative(ROOT, file)} is reached from apps/${app}/src/main.ts but is not in apps/${app}/src or a lib's src folder`);
}

function plainJavaScript(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.js'))
    .map((name) => path.join(folder, name));
}

/** Literal `require("...")` calls, the form swc gives every import of the compiled code. */
function requiredSpecifiers(code: string, file: string): string[] {
  let ast: unknown;
  try {
    ast = parseSync(code, { syntax: 'ecmascript' });
  } catch (error) {
    throw new Error(`${file}: cannot parse the compiled code (${(error as Error).message})`);
  }
  const specifiers: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    const n = node as { type?: string; callee?: { type: string; value?: string }; arguments?: Array<{ expression: { type: string; value: string } }> };
    if (n.type === 'CallExpression' && n.callee?.type === 'Identifier' && n.callee.value === 'require') {
      const argument = n.arguments?.[0]?.expression;
      if (argument?.type === 'StringLiteral') specifiers.push(argument.value);
    }
    Object.values(node).forEach(visit);
  };
  visit(ast);
  return specifiers;
}

function resolveModule(base: string, context: string): string {
  const candidates = [base, `${base}.ts`, `${base}.js`, path.join(base, 'index.ts'), path.join(base, 'index.js')];
  const found = candidates.find((c) => existsSync(c) && statSync(c).isFile() && /\.(ts|js|json)$/.test(c) && !c.endsWith('.d.ts'));
  if (!found) throw new Error(`${context}: no module at ${path.relative(ROOT, base)} (.ts, .js or index)`);
  return found;
}

function productionDependencies(): Set<string> {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return new Set(Object.keys(pkg.dependencies ?? {}));
}

const BUILTINS = new Set(builtinModules);

/** The image installs `dependencies` only: a module that requires anything else would fail there. */
function checkProductionDependency(specifier: string, file: string, dependencies: Set<string>): void {
  if (specifier.startsWith('node:') || BUILTINS.has(specifier.split('/')[0])) return;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  if (!dependencies.has(name)) {
    throw new Error(`${file}: requires "${specifier}", but "${name}" is not in package.json "dependencies" (the image installs only those)`);
  }
}

function folderBytes(folder: string): number {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .map((name) => statSync(path.join(folder, name)))
    .filter((s) => s.isFile())
    .reduce((sum, s) => sum + s.size, 0);
}

function appNames(): string[] {
  return readdirSync(path.join(ROOT, 'apps')).filter((name) => existsSync(path.join(ROOT, 'apps', name, 'src', 'main.ts')));
}

if (require.main === module) {
  const apps = process.argv.slice(2);
  if (apps.length === 0) {
    console.error(`usage: tools/build.ts <app>... (apps: ${appNames().join(', ')})`);
    process.exit(2);
  }
  try {
    for (const app of apps) {
      const result = buildApp(app);
      const size = (result.bytes / 1024).toFixed(0);
      const addons = result.nativeAddons.length > 0 ? `, native: ${result.nativeAddons.map((a) => path.basename(a)).join(', ')}` : '';
      console.log(`${path.relative(ROOT, result.outDir)}: ${result.modules.length} modules (libs: ${result.libs.join(', ') || 'none'}${addons}), ${size} KiB in ${result.ms.toFixed(0)} ms`);
    }
  } catch (error) {
    console.error(`build failed: ${(error as Error).message}`);
    process.exit(1);
  }
}
