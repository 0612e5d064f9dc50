export * from './datasets';
export * from './bus';
