import { mapVolumeSlices, readImageFileHeader, type ImageTaskResult, type LoadedTask, type Progress, type Raster, type Volume, type VolumeAxis } from '@diffusekit/core';

export interface VolumeTaskOutcome {
  volume: Volume;
  /** The integer factor the slices came back scaled by (1 for restoration). */
  scale: number;
  /** The first slice's run info (model, sampler, ...). */
  info: Record<string, unknown> | undefined;
  /** Model and total milliseconds summed over the slices. */
  modelMs: number;
  totalMs: number;
}

/**
 * An image task over a DICOM or NIfTI volume: every slice across `axis` through the task, one at a time (each takes
 * the grey path, mapped with the volume's value range), put back together with the geometry scaled. Reports each
 * slice as an item, then the task's own progress. What the batch, the HTTP service and queue workers all run.
 */
export async function runTaskOnVolume(
  task: LoadedTask<Raster, unknown, ImageTaskResult>,
  volume: Volume,
  axis: VolumeAxis,
  options: unknown,
  context: { signal: AbortSignal; onProgress: (p: Progress) => void },
): Promise<VolumeTaskOutcome> {
  let info: Record<string, unknown> | undefined;
  let modelMs = 0;
  let totalMs = 0;
  const { volume: out, scale } = await mapVolumeSlices(
    volume,
    axis,
    async (slice, index, of) => {
      context.onProgress({ kind: 'item', item: index + 1, of, name: `slice ${index + 1}` });
      const result = await task.run(slice, options, context);
      info ??= result.info;
      modelMs += Number(result.info?.modelMs ?? 0);
      totalMs += Number(result.info?.totalMs ?? 0);
      return result.raster;
    },
    context.signal,
  );
  return { volume: out, scale, info, modelMs, totalMs };
}

/**
 * Progress of volume `index` (from 0) of a 4-D series of `volumes`, as the whole series: slice items count over all
 * volumes and name the volume; other events pass through.
 */
export function seriesProgress(onProgress: (p: Progress) => void, index: number, volumes: number): (p: Progress) => void {
  return (p) => onProgress(p.kind === 'item' ? { kind: 'item', item: index * p.of + p.item, of: volumes * p.of, name: `volume ${index + 1}/${volumes}, ${p.name ?? `slice ${p.item}`}` } : p);
}

/** How many 3-D volumes a file holds, from its header (more than 1 only for a 4-D NIfTI or a 4-D pair). */
export async function volumeCountOf(file: string, signal: AbortSignal): Promise<number> {
  const header = await readImageFileHeader(file, { signal });
  return header.format === 'nifti' ? header.volumes ?? 1 : 1;
}
