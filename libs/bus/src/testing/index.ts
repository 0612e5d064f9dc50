export * from './recording-bus.client';
