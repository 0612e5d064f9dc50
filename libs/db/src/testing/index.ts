export * from './stand-in';
export * from './in-memory-commands.repository';
export * from './in-memory-datasets.repository';
export * from './in-memory-feature-sets.repository';
export * from './in-memory-runs.repository';
