export * from './exporter';
export * from './engine';
