export * from './connection';
export * from './provision';
export * from './errors';
export * from './publisher';
export * from './consumer';
export * from './transport';
export * from './artifact-store';
export { releasePayload } from './payload-buffers';
