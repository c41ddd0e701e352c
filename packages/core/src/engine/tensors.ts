/** A float32 tensor as plain data, so it can cross worker boundaries and stay independent of onnxruntime's classes. */
export interface TensorData {
  data: Float32Array;
  dims: readonly number[];
}

export function tensorSize(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}
