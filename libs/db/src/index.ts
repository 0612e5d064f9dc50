export * from './database';
export * as schema from './schema';
export * from './schema';
export * from './repositories/datasets.repository';
export * from './repositories/commands.repository';
export * from './repositories/rejected-messages.repository';
export * from './repositories/feature-sets.repository';
export * from './repositories/runs.repository';
export * from './repositories/feature-stores.repository';
