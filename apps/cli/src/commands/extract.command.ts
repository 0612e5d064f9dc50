import * as path from 'node:path';
import { Command, Option } from 'commander';
import { AUGMENTS, ENGINES, FEATURE_DTYPES, FeatureFailure, FeatureSetDetails, INT8_DEFAULTS, ListPage, POOLINGS, PRECISIONS, QueuedCommand } from '@featx/contracts';
import { ApiClient, CliError } from '../api-client';
import { followLive } from '../follow-live';
import { integerOption, numberOption } from '../options';
import { LiveLine, LiveProgressIo } from '../progress-bar';
import { waitForCommand } from '../wait-for-command';
import { describeFeatureSet, printFailures, progressLine, runLine } from './features.command';

/** The result of a features.extract command, written by the feature-store service. */
interface ExtractResult {
  featureSetId: string;
  images: number;
  pending: number;
  workItems: number;
}

const PROGRESS_POLL_MS = 500;
const FAILURES_SHOWN = 5;
const BUILTIN_MODEL = 'resnet50';

/**
 * `featx extract <datasetId>`: asks the API for a feature set (the same options resume the same
 * set), then follows it with a live progress bar until it is complete (exit 0) or failed (exit 1).
 */
export function extractCommand(client: () => Promise<ApiClient>, print: (text: string) => void, printError: (text: string) => void, io: LiveProgressIo = {}): Command {
  return new Command('extract')
    .description('extract CNN features of a dataset (re-running with the same options resumes the same feature set)')
    .argument('<datasetId>', 'dataset id (featx datasets ls)')
    .option('--model <model>', `${BUILTIN_MODEL}, a TF.js model folder, or an ONNX model (folder or .onnx file) inside a data root`, BUILTIN_MODEL)
    .option('--layer <name>', "feature layer (default: the network's own, for resnet50 its last block)")
    .addOption(new Option('--pool <pooling>', 'pooling of the feature map').choices([...POOLINGS]).default('avg'))
    .addOption(new Option('--dtype <dtype>', 'stored value type').choices([...FEATURE_DTYPES]).default('float32'))
    .addOption(new Option('--engine <engine>', 'what runs the network: onnx (ONNX Runtime), tfjs, or auto = the fastest available').choices([...ENGINES]).default('auto'))
    .addOption(new Option('--precision <precision>', 'fp32, or int8 = quantized on ONNX Runtime, calibrated on the training split, checked against fp32').choices([...PRECISIONS]).default('fp32'))
    .addOption(new Option('--augment <augment>', 'hflip = also store each image\'s mirror\'s vector (tagged augmented): training rows for heads, and test-time augmentation of validation and evaluation').choices([...AUGMENTS]).default('none'))
    .addOption(integerOption('--calibration-images <n>', `int8: training images to calibrate on (8-5000, default ${INT8_DEFAULTS.calibrationImages})`, { min: 8, max: 5000 }))
    .addOption(integerOption('--parity-images <n>', `int8: other training images to compare with fp32 on (8-5000, default ${INT8_DEFAULTS.parityImages})`, { min: 8, max: 5000 }))
    .addOption(numberOption('--parity-threshold <x>', `int8: lowest accepted mean cosine similarity to fp32 (default ${INT8_DEFAULTS.parityThreshold})`))
    .addOption(integerOption('--batch-size <n>', 'images per work item (1-256, default 64)', { min: 1, max: 256 }))
    .option('--no-wait', 'return once the command is queued')
    .option('--json', 'print JSON')
    .action(async (datasetId: string, opts) => {
      const api = await client();
      const queued = await api.post<QueuedCommand>('/feature-sets', {
        datasetId,
        model: opts.model === BUILTIN_MODEL ? BUILTIN_MODEL : path.resolve(opts.model),
        layer: opts.layer,
        pooling: opts.pool,
        dtype: opts.dtype,
        engine: opts.engine,
        precision: opts.precision,
        augment: opts.augment,
        calibrationImages: opts.calibrationImages,
        parityImages: opts.parityImages,
        parityThreshold: opts.parityThreshold,
        batchSize: opts.batchSize,
      });
      if (!opts.wait) return print(opts.json ? JSON.stringify(queued) : `queued command ${queued.commandId}`);

      const done = await waitForCommand(api, queued.commandId, io.progress ?? process.stderr);
      if (done.status !== 'succeeded') throw new CliError(`extraction ${done.status}: ${done.error ?? 'no reason recorded'}`);
      const result = done.result as unknown as ExtractResult;
      const route = `/feature-sets/${result.featureSetId}`;
      if (!opts.json) {
        const before = result.images - result.pending;
        print(
          `feature set ${result.featureSetId}: ${result.images} images, ${result.pending} to extract in ${result.workItems} work item${result.workItems === 1 ? '' : 's'}` +
            (before > 0 ? ` (resuming: ${before} already done)` : ''),
        );
      }

      const line = new LiveLine({ stream: io.progress, printLine: printError });
      const set = await followLive(line, () => api.get<FeatureSetDetails>(route), PROGRESS_POLL_MS, (state) => {
        if (state.status !== 'running') return false;
        line.update(progressLine(state));
        return true;
      });
      line.finish(progressLine(set));

      const failures = set.failed > 0 ? (await api.get<ListPage<FeatureFailure>>(`${route}/failures?limit=${FAILURES_SHOWN}`)).items : [];
      if (opts.json) print(JSON.stringify({ result, featureSet: set, failures: failures.slice(0, FAILURES_SHOWN) }, null, 2));
      else {
        print(describeFeatureSet(set));
        print(`${set.status}: ${runLine(set)}`);
        printFailures(print, set, failures, FAILURES_SHOWN);
      }
      if (set.status === 'failed') throw new CliError(`feature set ${set.id} failed: ${set.error ?? 'no reason recorded'}`);
    });
}
