import { RecordingBusClient } from '@featx/bus/testing';
import { DataRoots } from '@featx/datasets';
import { InMemoryCommandsRepository, InMemoryDatasetsRepository, InMemoryFeatureSetsRepository, InMemoryRunsRepository } from '@featx/db/testing';
import { suiteTempDir } from './suite-temp-dir';

/** What an app service's unit spec builds the service on: the repositories and the bus, in memory. */
export interface InMemoryBackend {
  datasets: InMemoryDatasetsRepository;
  /** Looks its datasets up in `datasets`. */
  featureSets: InMemoryFeatureSetsRepository;
  runs: InMemoryRunsRepository;
  commands: InMemoryCommandsRepository;
  bus: RecordingBusClient;
}

/**
 * Registers a beforeEach that gives every test of the describe block a fresh, empty backend (so no
 * test sees another's rows or messages). Read its fields inside hooks and tests: they change from
 * test to test. A beforeEach of the spec's own, registered after this call, runs after it.
 */
export function inMemoryBackend(): InMemoryBackend {
  const backend = {} as InMemoryBackend;
  beforeEach(() => {
    const datasets = new InMemoryDatasetsRepository();
    Object.assign(backend, {
      datasets,
      featureSets: new InMemoryFeatureSetsRepository(datasets),
      runs: new InMemoryRunsRepository(),
      commands: new InMemoryCommandsRepository(),
      bus: new RecordingBusClient(),
    });
  });
  return backend;
}

export interface SuiteDataRoot {
  /** The root's folder, as a real path. */
  path(): string;
  /** The data roots holding just this one, named `data`. */
  roots(): DataRoots;
}

/** A data root `data` over a temporary folder of the describe block (see suiteTempDir), opened once before its tests. */
export function suiteDataRoot(prefix: string): SuiteDataRoot {
  const folder = suiteTempDir(prefix);
  let roots: DataRoots | undefined;
  beforeAll(async () => {
    roots = await DataRoots.open([{ name: 'data', path: folder.path() }]);
  });
  return {
    path: () => folder.path(),
    roots: () => {
      if (!roots) throw new Error('suiteDataRoot: roots() is read before the beforeAll that opens them ran');
      return roots;
    },
  };
}
