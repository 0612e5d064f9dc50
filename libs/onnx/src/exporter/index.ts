export { exportLayersModelToOnnx, UnsupportedLayerError, type ExportLayersModelOptions, type ExportedOnnxModel } from './export-layers-model';
export { OnnxGraphBuilder, encodeGraph, type GraphIo } from './onnx-graph';
