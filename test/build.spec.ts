import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { launchTestServiceProcesses, TestServiceProcesses } from '@featx/testing';
import { DENSE_ADDON_PATH } from '../libs/learning/src/onednn/dense-addon';
import { buildApp, BuildResult } from '../tools/build';
import { serviceInstances } from '../tools/service-launcher';

/**
 * The production build (tools/build.ts, `npm run build`): apps compiled to JavaScript that plain
 * `node dist/apps/<app>/main.js` runs, as the image does: no swc hook, no tsconfig paths.
 */
describe('production build', () => {
  const repo = path.resolve(__dirname, '..');
  let api: BuildResult;
  let extractor: BuildResult;

  beforeAll(() => {
    api = buildApp('api');
    extractor = buildApp('extractor');
  });

  it('writes JavaScript, the migrations and the entry, no TypeScript and no tests', () => {
    for (const build of [api, extractor]) {
      expect(build.outDir).toBe(path.join(repo, 'dist/apps', build.app));
      const files = readdirSync(build.outDir, { recursive: true, encoding: 'utf8' });
      expect(files).toContain('main.js');
      expect(files).toContain(path.join('migrations', '0000_init.sql'));
      expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
      expect(build.modules.filter((m) => m.endsWith('.spec.ts'))).toEqual([]);
    }
    expect(api.libs).toEqual(expect.arrayContaining(['bus', 'contracts', 'db', 'runtime', 'learning']));
    // Loaded by path, not required: found through the project's plain JavaScript.
    expect(extractor.modules).toEqual(expect.arrayContaining(['libs/onnx/src/engine/session-worker.js', 'libs/onnx/src/engine/pool.js']));
  });

  it('names the app it does not know', () => {
    expect(() => buildApp('nope')).toThrow(/^unknown app "nope": apps\/nope\/src\/main\.ts does not exist \(apps: api, cli, /);
  });

  it('runs the ONNX engine, its session worker on a thread, from the build', () => {
    const script = `
      const { createOnnxFeatureExtractor, pointwiseConvModel } = require('./dist/apps/extractor/libs/onnx/src');
      (async () => {
        const model = pointwiseConvModel({ size: [8, 8], layout: 'NCHW', outChannels: 4 });
        const extractor = await createOnnxFeatureExtractor({ modelPath: model.bytes, spec: { layout: 'NCHW', inputSize: [8, 8], preprocessing: { mode: 'tf' } }, pooling: 'avg', threads: 1 });
        const out = await extractor.extract([{ data: new Uint8Array(8 * 8 * 3).fill(200), width: 8, height: 8 }]);
        extractor.dispose();
        console.log(JSON.stringify({ backend: extractor.backend, shape: out.shape }));
      })().catch((error) => { console.error(error); process.exit(1); });`;
    const result = spawnSync(process.execPath, ['-e', script], { cwd: repo, encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout.trim().split('\n').pop()!)).toEqual({ backend: 'onnxruntime-cpu', shape: [1, 4] });
  });

  // The addon is optional (tools/build-native.js); where it is built, the build carries it beside its loader.
  const addonBuilt = existsSync(DENSE_ADDON_PATH);
  (addonBuilt ? it : it.skip)(`carries the onednn engine's addon and trains a head on it from the build${addonBuilt ? '' : ' (skipped: featx_dense.node not built: npm run build:native)'}`, () => {
    expect(api.nativeAddons).toEqual(['libs/learning/src/onednn/native/build/Release/featx_dense.node']);
    expect(extractor.nativeAddons).toEqual([]); // it does not reach @featx/learning's heads
    const script = `
      const { createHead, resolveHeadEngine } = require('./dist/apps/api/libs/learning/src');
      const head = createHead({ kind: 'mlp', inputDim: 6, classes: 2, hidden: [4] }, 1, undefined, undefined, { engine: 'onednn' });
      const first = head.trainBatch(new Float32Array(12).fill(0.5), Int32Array.of(0, 1));
      console.log(JSON.stringify({ engine: resolveHeadEngine('auto'), head: head.constructor.name, finite: Number.isFinite(first.loss), step: head.step }));`;
    const result = spawnSync(process.execPath, ['-e', script], { cwd: repo, encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout.trim().split('\n').pop()!)).toEqual({ engine: 'onednn', head: 'OnednnHead', finite: true, step: 1 });
  });

  describe('services started from it', () => {
    let processes: TestServiceProcesses | undefined;
    const instances = serviceInstances(1, 600).filter((i) => i.service === 'api' || i.service === 'extractor');

    afterAll(() => processes?.cleanup());

    it('migrate the database from the build\'s migrations/, answer /health/ready and stop cleanly on SIGTERM', async () => {
      processes = await launchTestServiceProcesses(instances, 'build', { PATH: process.env.PATH });
      const { services, lines } = processes;
      await services.ready(45000);
      for (const instance of instances) {
        const ready = await fetch(`http://127.0.0.1:${instance.port}/health/ready`);
        expect(await ready.json()).toEqual({ status: 'ok', nats: 'ok', postgres: 'ok', pid: services.pids()[instance.label] });
      }
      expect(lines.filter((l) => l.includes('"msg":"service started"'))).toHaveLength(instances.length);

      const exits = await services.stop(15000);
      for (const exit of exits) expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
      expect(lines.filter((l) => /"level":"(error|fatal)"/.test(l))).toEqual([]);
    }, 60000);
  });
});
