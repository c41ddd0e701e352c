import { IGNORE_INDEX } from '../ensemble/ensemble-manifest.js';

/** Counts of (true class, predicted class) pairs over labelled pixels; row = truth. */
export class ConfusionMatrix {
  readonly counts: Float64Array;

  constructor(readonly classes: number) {
    this.counts = new Float64Array(classes * classes);
  }

  /** Adds one image; pixels whose truth is IGNORE_INDEX, or whose prediction is (nodata), are skipped. */
  add(truth: Uint8Array, predicted: Uint8Array): void {
    const c = this.classes;
    for (let i = 0; i < truth.length; i++) {
      const t = truth[i]!;
      const p = predicted[i]!;
      if (t === IGNORE_INDEX || p === IGNORE_INDEX || t >= c || p >= c) continue;
      this.counts[t * c + p]!++;
    }
  }

  /** Intersection over union per class (NaN for a class absent from both truth and prediction). */
  iou(): number[] {
    const c = this.classes;
    return Array.from({ length: c }, (_, k) => {
      let truth = 0;
      let predicted = 0;
      for (let j = 0; j < c; j++) {
        truth += this.counts[k * c + j]!;
        predicted += this.counts[j * c + k]!;
      }
      const intersection = this.counts[k * c + k]!;
      const union = truth + predicted - intersection;
      return union === 0 ? NaN : intersection / union;
    });
  }

  /** Mean IoU over the classes that occur (in truth or prediction). */
  meanIou(): number {
    const present = this.iou().filter((v) => !Number.isNaN(v));
    return present.reduce((a, b) => a + b, 0) / present.length;
  }

  pixelAccuracy(): number {
    let correct = 0;
    let total = 0;
    for (let k = 0; k < this.classes; k++) correct += this.counts[k * this.classes + k]!;
    for (const v of this.counts) total += v;
    return total === 0 ? NaN : correct / total;
  }
}
