import { labelVolumeInfo, mapVolumeSlices, volumeFromSlices, type Progress, type Raster, type Volume, type VolumeAxis } from '@diffusekit/core';
import { labelRaster, uncertaintyRaster, type SegmentClass, type Segmentation, type Segmenter } from '@diffusekit/segment';

/** Pixels per class and the mean entropy over everything segmented (a slice, a volume or a whole 4-D series). */
export class SegmentTally {
  readonly #counts: number[];
  #entropySum = 0;
  #entropyCount = 0;

  constructor(readonly classes: readonly SegmentClass[]) {
    this.#counts = new Array<number>(classes.length).fill(0);
  }

  add(seg: Segmentation): void {
    for (const v of seg.labels) if (v < this.#counts.length) this.#counts[v]!++;
    for (const h of seg.entropy) this.#entropySum += h;
    this.#entropyCount += seg.entropy.length;
  }

  summary(): { pixelsPerClass: Record<string, number>; meanEntropy: number } {
    return {
      pixelsPerClass: Object.fromEntries(this.classes.map((c, i) => [c.name, this.#counts[i]!])),
      meanEntropy: this.#entropyCount ? Math.round((this.#entropySum / this.#entropyCount) * 1e4) / 1e4 : 0,
    };
  }
}

export interface VolumeSegmentation {
  /** uint8 labels on the input's grid, with its geometry and no value mapping. */
  labels: Volume;
  /** Entropy scaled to 0-255 (255 = ln(classes)), when asked for. */
  uncertainty?: Volume;
}

/** A DICOM or NIfTI volume slice by slice through the segmenter: one slice in flight, each reported as an item. */
export async function segmentVolumeSlices(
  segmenter: Segmenter,
  volume: Volume,
  options: { axis: VolumeAxis; tile?: number; uncertainty: boolean; tally: SegmentTally; signal: AbortSignal; onProgress: (p: Progress) => void },
): Promise<VolumeSegmentation> {
  const { axis, tally, signal } = options;
  const classes = tally.classes.length;
  const entropy: Raster[] = [];
  const { volume: labels } = await mapVolumeSlices(
    volume,
    axis,
    async (slice, index, of) => {
      options.onProgress({ kind: 'item', item: index + 1, of, name: `slice ${index + 1}` });
      const seg = await segmenter.segment(slice, { signal, ...(options.tile ? { tile: options.tile } : {}) });
      tally.add(seg);
      if (options.uncertainty) entropy.push(uncertaintyRaster(seg, classes, undefined));
      return labelRaster(seg, undefined);
    },
    signal,
  );
  const medical = labelVolumeInfo(volume.medical);
  const result: VolumeSegmentation = { labels: { ...labels, medical: { ...medical, dims: labels.medical.dims } } };
  if (options.uncertainty) {
    const unc = volumeFromSlices(entropy, axis, medical);
    result.uncertainty = { ...unc, medical: { ...medical, dims: unc.medical.dims } };
  }
  return result;
}
