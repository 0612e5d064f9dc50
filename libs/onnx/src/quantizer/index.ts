export { CALIBRATION_METHODS, calibrateRanges, type CalibrationBatch, type CalibrationMethod, type TensorRange } from './calibrate';
export { EditableGraph } from './graph';
export { activationQuantization, quantizeWeightsPerChannel } from './qdq';
export { countOpTypes, QUANTIZER_FORMAT, quantizeOnnxModel, type QuantizedModel, type QuantizeModelOptions } from './quantize-model';
