export * from './export-sources';
export * from './exported-network';
export * from './int8-plan';
export * from './onnx-feature-extractor';
export * from './pool';
export * from './quantized-network';
export * from './select-engine';
export * from './test-models';
