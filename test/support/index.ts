export * from './test-database';
export * from './test-bus';
export * from './shared-folder';
export * from './skip-unless';
export * from './service-processes';
export * from './suite-temp-dir';
export * from './in-memory-backend';
export * from './cross-realm-typed-arrays';
