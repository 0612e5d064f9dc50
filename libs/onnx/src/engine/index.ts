export * from './onnx-feature-extractor';
export * from './pool';
export * from './test-models';
