export * from './names';
export * from './codec';
export * from './contract';
export * from './messages/datasets';
export * from './messages/events';
export * from './messages/features';
export * from './messages/runs';
