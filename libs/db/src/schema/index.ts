export * from './datasets';
export * from './bus';
export * from './features';
export * from './runs';
export * from './run-candidates';
export * from './run-image-predictions';
