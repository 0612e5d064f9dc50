export * from './exporter';
export * from './engine';
export * from './quantizer';
