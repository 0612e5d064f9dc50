#!/usr/bin/env node
/**
 * Builds featx_dense.node, the native addon of the `onednn` head engine
 * (libs/learning/src/onednn/native: binding.gyp, featx_dense.cc), with node-gyp, into
 * libs/learning/src/onednn/native/build/ (ignored by git; tools/build.ts copies the .node into dist).
 *
 * Run by npm's `postinstall` (so `npm ci` builds it) and by `npm run build:native`. The engine is
 * optional: where oneDNN's headers, a compiler or the sources are missing, or the build fails, this
 * prints one line saying so and exits 0 — an install never fails because of it, and
 * `createHead(…, { engine: 'auto' })` then picks TF.js. `--strict` (the image's build stage) exits 1
 * instead; FEATX_BUILD_NATIVE=skip skips it (the image's install steps: its build stage runs
 * `npm run build:native` once the sources are copied, and its runtime stage takes the built addon).
 *
 * Plain JavaScript: it runs at install time, when neither TypeScript nor the dev dependencies may be
 * there. No header download: node-gyp gets --nodedir from npm's configuration (nodedir=/usr here)
 * or, run without npm, from the installation of the node running this script.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const ADDON_DIR = path.join(ROOT, 'libs', 'learning', 'src', 'onednn', 'native');
const ADDON = path.join(ADDON_DIR, 'build', 'Release', 'featx_dense.node');
const HINT = 'install libdnnl-dev (Debian: apt-get install libdnnl-dev; a C++ compiler, make and python3 too), then npm run build:native';

const strict = process.argv.includes('--strict');

function notBuilt(reason) {
  console.log(`onednn head engine not built: ${reason}; ${HINT} (createHead's 'auto' engine uses tfjs meanwhile)`);
  process.exit(strict ? 1 : 0);
}

/** oneDNN's C header where the compiler looks by default (Debian's libdnnl-dev puts it in /usr/include). */
function oneDnnHeader() {
  const dirs = ['/usr/include', '/usr/local/include', ...(process.env.CPATH ?? '').split(':').filter(Boolean)];
  return dirs.map((dir) => path.join(dir, 'oneapi', 'dnnl', 'dnnl.h')).find((file) => existsSync(file));
}

/** node-gyp: npm's own (npm names it to lifecycle scripts), else the one bundled with this node's npm, else PATH's. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    process.env.npm_execpath && path.resolve(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.resolve(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ].filter(Boolean);
  const script = candidates.find((file) => file.endsWith('.js') && existsSync(file));
  return script ? [process.execPath, script] : ['node-gyp'];
}

/** Node's headers without a download: npm's nodedir, else this node's prefix when it has include/node. */
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [`--nodedir=${process.env.npm_config_nodedir}`];
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

function main() {
  if (process.env.FEATX_BUILD_NATIVE === 'skip') {
    console.log('onednn head engine: build skipped (FEATX_BUILD_NATIVE=skip)');
    return;
  }
  if (!existsSync(path.join(ADDON_DIR, 'binding.gyp'))) notBuilt(`${path.relative(ROOT, ADDON_DIR)}/binding.gyp is not here`);
  if (!oneDnnHeader()) notBuilt("oneDNN's headers (oneapi/dnnl/dnnl.h) are not installed");
  const [command, ...prefix] = nodeGyp();
  const started = Date.now();
  const result = spawnSync(command, [...prefix, 'rebuild', '--release', ...nodedirArgs()], { cwd: ADDON_DIR, encoding: 'utf8', env: process.env });
  if (result.error || result.status !== 0 || !existsSync(ADDON)) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n');
    const detail = result.error ? result.error.message : output.filter((line) => /error|not found|cannot/i.test(line)).slice(0, 3).join(' | ') || `node-gyp exited with ${result.status}`;
    if (strict) console.error(output.slice(-40).join('\n'));
    notBuilt(`node-gyp failed (${detail})`);
  }
  console.log(`onednn head engine built: ${path.relative(ROOT, ADDON)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main();
