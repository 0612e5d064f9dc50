export { exportLayersModelToOnnx, UnsupportedLayerError, type ExportLayersModelOptions, type ExportedOnnxModel } from './export-layers-model';
export { OnnxGraphBuilder } from './onnx-graph';
