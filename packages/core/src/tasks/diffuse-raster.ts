import { throwIfAborted } from '../errors.js';
import type { SamplerStats } from '../diffusion/sampler-loop.js';
import type { Scheduler } from '../diffusion/scheduler.js';
import type { ModelManifest } from '../models/manifest.js';
import { allocateSamples } from '../raster/dtype.js';
import { nodataMask } from '../raster/nodata-mask.js';
import type { Stretch } from '../raster/stretch.js';
import { rasterToTensor, tensorToRaster } from '../raster/tensor.js';
import type { Raster } from '../raster/types.js';
import type { Progress } from '../runtime/progress.js';
import { planBandGroups } from './band-groups.js';
import type { GroupSampler, TileSettings } from './conditional-sampling.js';
import { scaleGeoInfo } from './georeference.js';
import { scaleSliceMedicalInfo, volumeStretch } from '../medical/volume.js';
import { upscaleBilinear, upscaleNearestMask } from './resample.js';

export interface DiffuseRasterOptions {
  raster: Raster;
  manifest: ModelManifest;
  /** Samples one band group (see imageConditionedSampler, encoderResidualSampler). */
  sampleGroup: GroupSampler;
  /** Shared by every band group: the sampler loop clones it. */
  scheduler: Scheduler;
  /** Output pixels per input pixel (the SR factor; 1 for restoration). */
  scale: number;
  tiling: TileSettings;
  seed: number;
  /** Explicit band groups (each 1 or `channels` bands); default groups by band count. */
  bands?: readonly (readonly number[])[];
  /**
   * How samples map to the model range; default: a medical slice's volume-wide value range, else per dtype (full range
   * for uint8, percentiles otherwise).
   */
  stretch?: Stretch;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export interface DiffuseRasterResult {
  raster: Raster;
  info: {
    groups: number[][];
    seed: number;
    steps: number;
    sampler: string;
    tile: number;
    stretch: { min: number[]; max: number[] }[];
    modelMs: number;
    totalMs: number;
  };
}

/** Replaces nodata pixels by each channel's mean over valid pixels, so the network never sees the sentinel value. */
function fillMasked(data: Float32Array, channels: number, pixels: number, mask: Uint8Array): void {
  for (let c = 0; c < channels; c++) {
    const plane = c * pixels;
    let sum = 0;
    let count = 0;
    for (let i = 0; i < pixels; i++) if (!mask[i]) (sum += data[plane + i]!), count++;
    const mean = count > 0 ? sum / count : 0;
    for (let i = 0; i < pixels; i++) if (mask[i]) data[plane + i] = mean;
  }
}

/**
 * Runs a conditional diffusion model over every band group of a raster and reassembles a raster of the same dtype,
 * band order, band names and nodata, with the georeference scaled. Used by every image-to-image task.
 */
export async function diffuseRaster(options: DiffuseRasterOptions): Promise<DiffuseRasterResult> {
  const { raster, manifest, scale } = options;
  const channels = manifest.channels;
  const plan = planBandGroups(raster, channels, options.bands);
  const width = raster.width * scale;
  const height = raster.height * scale;
  const pixels = raster.width * raster.height;
  const outPixels = width * height;
  const data = allocateSamples(raster.dtype, outPixels * plan.outputBands);
  const hasNodata = raster.nodata !== undefined;
  const mask = hasNodata ? nodataMask(raster) : undefined;
  const anyMasked = mask?.some((m) => m === 1) ?? false;
  const stats = { modelMs: 0, totalMs: 0 };
  const stretches: { min: number[]; max: number[] }[] = [];

  // A medical slice maps with the range of its whole volume: one recorded mapping for every slice, nothing clipped.
  const mapping: Stretch | undefined = options.stretch ?? volumeStretch(raster);
  for (const group of plan.groups) {
    throwIfAborted(options.signal);
    const tensor = rasterToTensor(raster, { bands: group.bands, range: manifest.range, ...(mapping ? { stretch: mapping } : {}) });
    if (anyMasked) fillMasked(tensor.data, channels, pixels, mask!);
    const sample = await options.sampleGroup(tensor, {
      scheduler: options.scheduler,
      tiling: options.tiling,
      seed: options.seed,
      ...(raster.origin ? { noiseOrigin: { x: raster.origin.x * scale, y: raster.origin.y * scale } } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      onStats: (s: SamplerStats) => {
        stats.modelMs += s.modelMs;
        stats.totalMs += s.totalMs;
      },
    });
    let values = sample;
    let stretch = tensor.stretch;
    if (group.kind === 'grey') {
      // The replicated channels each estimate the same band; their mean is the grey output.
      values = new Float32Array(outPixels);
      for (let c = 0; c < channels; c++) for (let i = 0; i < outPixels; i++) values[i]! += sample[c * outPixels + i]! / channels;
      stretch = { kind: 'fixed', min: [tensor.stretch.min[0]!], max: [tensor.stretch.max[0]!] };
    }
    stretches.push({ min: stretch.min, max: stretch.max });
    const groupRaster = tensorToRaster(values, { width, height, channels: group.outputs.length, range: manifest.range, stretch, dtype: raster.dtype });
    for (let i = 0; i < group.outputs.length; i++) {
      data.set(groupRaster.data.subarray(i * outPixels, (i + 1) * outPixels) as never, group.outputs[i]! * outPixels);
    }
  }

  if (plan.alpha) {
    const source = new Float32Array(pixels);
    const offset = plan.alpha.source * pixels;
    for (let i = 0; i < pixels; i++) source[i] = raster.data[offset + i]!;
    const resized = upscaleBilinear(source, raster.width, raster.height, scale);
    const isInt = raster.dtype !== 'float32';
    for (let i = 0; i < outPixels; i++) data[plan.alpha.output * outPixels + i] = isInt ? Math.round(resized[i]!) : resized[i]!;
  }

  if (anyMasked) {
    const outMask = scale === 1 ? mask! : upscaleNearestMask(mask!, raster.width, raster.height, scale);
    for (let b = 0; b < plan.outputBands; b++) {
      const plane = b * outPixels;
      for (let i = 0; i < outPixels; i++) if (outMask[i]) data[plane + i] = raster.nodata!;
    }
  }

  const bandNames = raster.bandNames ? plan.sourceOfOutput.map((b) => raster.bandNames![b] ?? '') : undefined;
  const out: Raster = {
    width,
    height,
    bands: plan.outputBands,
    dtype: raster.dtype,
    data,
    ...(hasNodata ? { nodata: raster.nodata! } : {}),
    ...(raster.geo ? { geo: scale === 1 ? raster.geo : scaleGeoInfo(raster.geo, scale) } : {}),
    ...(bandNames ? { bandNames } : {}),
    ...(raster.sourceFormat ? { sourceFormat: raster.sourceFormat } : {}),
    ...(raster.medical ? { medical: scale === 1 ? raster.medical : scaleSliceMedicalInfo(raster.medical, scale) } : {}),
  };
  return {
    raster: out,
    info: {
      groups: plan.groups.map((g) => (g.kind === 'grey' ? [g.bands[0]!] : g.bands)),
      seed: options.seed,
      steps: options.scheduler.timesteps.length,
      sampler: options.scheduler.config.sampler,
      tile: options.tiling.tile,
      stretch: stretches,
      modelMs: stats.modelMs,
      totalMs: stats.totalMs,
    },
  };
}
