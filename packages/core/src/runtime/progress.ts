/** Progress events shared by every task, job and host adapter. */
export type Progress =
  | { kind: 'step'; step: number; of: number }
  | { kind: 'tile'; tile: number; of: number }
  | { kind: 'stage'; stage: 'decode' | 'load' | 'infer' | 'encode' | 'features' | 'train' | 'predict' }
  | { kind: 'item'; item: number; of: number; name?: string };

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
}
