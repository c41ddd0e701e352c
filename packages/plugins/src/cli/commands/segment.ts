import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_MAX_PIXELS, DiffusekitError, dicomSegBlocker, encodeDicomSeg, labelVolumeInfo, writeFileAtomic, type FeatureSelection, readImageFile, readImageFileBytes, readNiftiVolumes, writeImageFile, writeNiftiSeriesFiles, writeVolumeFile, type Progress, type Runtime, type Volume, type VolumeAxis } from '@diffusekit/core';
import {
  ConfusionMatrix,
  IGNORE_INDEX,
  Segmenter,
  defaultClasses,
  labelRaster,
  overlayRaster,
  uncertaintyRaster,
  listLabelledImages,
  openFeatureBackbone,
  readLabelPalette,
  readLabelledImages,
  saveEnsemble,
  featureSelectionRecord,
  selectReadout,
  trainSegmenter,
  type FeatureReadout,
  type LabelPalette,
  type LabelledImage,
  type SegmentClass,
  type SliceSelection,
} from '@diffusekit/segment';
import { discoverInputs } from '../../batch/discover.js';
import { isCompleteImage } from '../../batch/image-file-work.js';
import { runBatch, type FileWorkContext } from '../../batch/run-batch.js';
import { createBatchReporter, reporterMode } from '../batch-reporter.js';
import { writeLine, type CliIo } from '../io.js';
import { seriesProgress, volumeCountOf } from '../../volume-task.js';
import { SegmentTally, segmentVolumeSlices } from './segment-volumes.js';

export const DEFAULT_BACKBONE = 'ddpm-aerial';

export interface SegmentTrainFlags {
  images: string;
  masks: string;
  output: string;
  palette?: string;
  backbone?: string;
  members?: number;
  maxPixels?: number;
  epochs?: number;
  seed?: number;
  bands?: number[];
  /** DICOM/NIfTI volumes: the slices used (axis, indices). */
  selection?: SliceSelection;
  /** Decoder outputs and timesteps to read (default: the backbone's manifest); see `segment select`. */
  readout?: FeatureReadout;
  /** A file written by `segment select`: its chosen read-out (and backbone, unless `backbone` is given). */
  readoutFile?: string;
  json: boolean;
}

/** What `segment select` writes: the chosen read-out, for `segment train --readout`, and every candidate's score. */
export interface ReadoutFile {
  kind: 'diffusekit-segment-readout';
  backbone: { id: string; sha256: string };
  outputs: string[];
  timesteps: number[];
  selection: FeatureSelection;
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string');
const isIntegerArray = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x));

/** Reads a `segment select` result; anything else is INVALID_OPTION naming what was expected. */
export async function readReadoutFile(file: string): Promise<ReadoutFile> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new DiffusekitError('INVALID_OPTION', `Expected a JSON file written by "segment select" for --readout but ${file} could not be read as JSON`, { cause: error, details: { option: 'readout' } });
  }
  const r = parsed as Partial<ReadoutFile> | null;
  if (!r || r.kind !== 'diffusekit-segment-readout' || typeof r.backbone?.id !== 'string' || !isStringArray(r.outputs) || !isIntegerArray(r.timesteps)) {
    throw new DiffusekitError('INVALID_OPTION', `Expected a file written by "segment select" (kind "diffusekit-segment-readout", backbone, outputs, timesteps) for --readout but ${file} is not one`, { details: { option: 'readout' } });
  }
  return r as ReadoutFile;
}

/** With --json, one JSON event per line on stdout; otherwise the human line on stderr. */
function eventLog(json: boolean, io: CliIo): (event: Record<string, unknown>, text: string) => void {
  return (event, text) => {
    if (json) writeLine(io.stdout, JSON.stringify(event));
    else writeLine(io.stderr, text);
  };
}

async function readDataset(imagesDir: string, masksDir: string, palette: LabelPalette | undefined, selection: SliceSelection, signal: AbortSignal): Promise<LabelledImage[]> {
  const pairs = await listLabelledImages(imagesDir, masksDir);
  const images: LabelledImage[] = [];
  for (const pair of pairs) images.push(...(await readLabelledImages(pair, palette, selection, signal)));
  return images;
}

/** Classes from the palette, else as many as the masks' largest index needs. */
function classesFor(images: readonly LabelledImage[], palette: LabelPalette | undefined): SegmentClass[] {
  if (palette) return palette.classes;
  let max = 0;
  for (const img of images) for (const v of img.labels) if (v !== IGNORE_INDEX && v > max) max = v;
  return defaultClasses(Math.max(2, max + 1));
}

export async function segmentTrainCommand(runtime: Runtime, flags: SegmentTrainFlags, io: CliIo, signal: AbortSignal): Promise<number> {
  const palette = flags.palette ? await readLabelPalette(flags.palette) : undefined;
  const images = await readDataset(flags.images, flags.masks, palette, flags.selection ?? {}, signal);
  const classes = classesFor(images, palette);
  const fromFile = flags.readoutFile ? await readReadoutFile(flags.readoutFile) : undefined;
  if (fromFile && flags.backbone && flags.backbone !== fromFile.backbone.id) {
    throw new DiffusekitError('INVALID_OPTION', `Expected --backbone ${fromFile.backbone.id} (the backbone the read-out in ${flags.readoutFile} was chosen for) but received ${flags.backbone}: drop --backbone, or run "segment select" with it`, { details: { option: 'backbone' } });
  }
  const model = await runtime.catalog.resolve(flags.backbone ?? fromFile?.backbone.id ?? DEFAULT_BACKBONE);
  const readout: FeatureReadout = { ...(fromFile ? { outputs: fromFile.outputs, timesteps: fromFile.timesteps } : {}), ...flags.readout };
  const backbone = await openFeatureBackbone(runtime.engine, model, readout);
  const log = eventLog(flags.json, io);
  const roles = backbone.outputs.map((o) => o.role);
  log({ event: 'start', images: images.length, classes: classes.map((c) => c.name), backbone: backbone.id, outputs: roles, timesteps: backbone.timesteps, features: backbone.dim },
    `${images.length} labelled images, classes ${classes.map((c) => c.name).join(', ')}; backbone ${backbone.id}: ${roles.join('+')} at t = ${backbone.timesteps.join(', ')} (${backbone.dim} features per pixel)`);
  const trained = await trainSegmenter(images, {
    engine: runtime.engine,
    backbone,
    classes,
    signal,
    ...(flags.members ? { members: flags.members } : {}),
    ...(flags.maxPixels ? { maxPixels: flags.maxPixels } : {}),
    ...(flags.epochs ? { maxEpochs: flags.epochs } : {}),
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
    ...(flags.bands ? { bands: flags.bands } : {}),
    onProgress: (p: Progress) => {
      if (p.kind === 'item') log({ event: 'features', image: p.item, of: p.of, name: p.name }, `features ${p.item}/${p.of} ${p.name ?? ''}`);
    },
    onEpoch: (e) => {
      const mean = e.losses.reduce((a, b) => a + b, 0) / e.losses.length;
      log({ event: 'epoch', epoch: e.epoch, maxEpochs: e.maxEpochs, losses: e.losses, active: e.active },
        `epoch ${e.epoch}/${e.maxEpochs}: mean loss ${mean.toFixed(4)}, ${e.active} of ${e.losses.length} members still improving`);
    },
  });
  const manifest = await saveEnsemble(flags.output, trained.manifest, trained.weights);
  log({ event: 'done', output: path.resolve(flags.output), training: manifest.training },
    `wrote ${flags.output}: ${manifest.members} members, ${manifest.training.labelledPixels} labelled pixels, ${manifest.training.epochs} epochs, ${manifest.training.seconds} s`);
  return 0;
}

export interface SegmentSelectFlags {
  images: string;
  masks: string;
  validationImages: string;
  validationMasks: string;
  palette?: string;
  backbone?: string;
  /** Candidate timesteps (default 10, 50, 150, 250, 400). */
  timesteps?: number[];
  members?: number;
  /** Ensembles per candidate whose scores are averaged (default 3). */
  repeats?: number;
  maxPixels?: number;
  seed?: number;
  bands?: number[];
  selection?: SliceSelection;
  validationSelection?: SliceSelection;
  output?: string;
  json: boolean;
}

/**
 * `segment select`: chooses the backbone's read-out for this data set on labelled validation images (the paper picks
 * blocks and timesteps per data set), prints every candidate's score, and writes the result for `train --readout`.
 */
export async function segmentSelectCommand(runtime: Runtime, flags: SegmentSelectFlags, io: CliIo, signal: AbortSignal): Promise<number> {
  const palette = flags.palette ? await readLabelPalette(flags.palette) : undefined;
  const train = await readDataset(flags.images, flags.masks, palette, flags.selection ?? {}, signal);
  const validation = await readDataset(flags.validationImages, flags.validationMasks, palette, flags.validationSelection ?? flags.selection ?? {}, signal);
  const classes = classesFor([...train, ...validation], palette);
  const model = await runtime.catalog.resolve(flags.backbone ?? DEFAULT_BACKBONE);
  const log = eventLog(flags.json, io);
  log({ event: 'start', trainImages: train.length, validationImages: validation.length, classes: classes.map((c) => c.name), backbone: model.manifest.id },
    `${train.length} training and ${validation.length} validation images, classes ${classes.map((c) => c.name).join(', ')}; backbone ${model.manifest.id}`);
  const result = await selectReadout(train, validation, {
    engine: runtime.engine,
    model,
    classes: classes.length,
    signal,
    ...(flags.timesteps ? { timesteps: flags.timesteps } : {}),
    ...(flags.members ? { members: flags.members } : {}),
    ...(flags.repeats ? { repeats: flags.repeats } : {}),
    ...(flags.maxPixels ? { trainPixels: flags.maxPixels } : {}),
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
    ...(flags.bands ? { bands: flags.bands } : {}),
    onCandidate: (c, index, of) =>
      log({ event: 'candidate', index, of, outputs: c.outputs, timesteps: c.timesteps, features: c.dim, meanIou: c.meanIou, seconds: c.seconds },
        `${index}/${of} ${c.outputs.join('+')} at t = ${c.timesteps.join(', ')} (${c.dim} features): validation mIoU ${(100 * c.meanIou).toFixed(1)}`),
  });
  const file: ReadoutFile = {
    kind: 'diffusekit-segment-readout',
    backbone: { id: model.manifest.id, sha256: model.manifest.files.find((f) => f.role === 'model')?.sha256 ?? '' },
    outputs: result.best.outputs,
    timesteps: result.best.timesteps,
    selection: featureSelectionRecord(result, `${result.trainImages} training images (${flags.images}), ${result.validationImages} validation images (${flags.validationImages}); ${result.repeats} × ${result.members}-member ensembles on ${result.trainPixels} labelled pixels, scored on ${result.validationPixels}`),
  };
  if (flags.output) {
    await mkdir(path.dirname(path.resolve(flags.output)), { recursive: true });
    await writeFile(`${flags.output}.tmp`, JSON.stringify(file, null, 2) + '\n');
    await rename(`${flags.output}.tmp`, flags.output);
  }
  log({ event: 'done', best: { outputs: file.outputs, timesteps: file.timesteps, meanIou: result.best.meanIou }, ...(flags.output ? { output: path.resolve(flags.output) } : {}) },
    `best: ${file.outputs.join('+')} at t = ${file.timesteps.join(', ')}, validation mIoU ${(100 * result.best.meanIou).toFixed(1)}${flags.output ? `; wrote ${flags.output} (segment train --readout ${flags.output})` : ''}`);
  return 0;
}

export interface SegmentPredictFlags {
  ensemble: string;
  inputs: string[];
  output: string;
  uncertainty: boolean;
  tile?: number;
  concurrency?: number;
  resume: boolean;
  json: boolean;
  /** DICOM/NIfTI volumes: the axis slices are cut across (default k). */
  axis?: VolumeAxis;
  /** 4-D NIfTI: the 3-D volume segmented, or 'all' for a 4-D label NIfTI of every volume. */
  volumeIndex?: number | 'all';
}

/** The file name without its extension (both parts of .nii.gz and .img.gz). */
function withoutExtension(relative: string): string {
  return /\.(nii|img)\.gz$/i.test(relative) ? relative.slice(0, -7) : relative.slice(0, relative.length - path.extname(relative).length);
}

export async function segmentPredictCommand(runtime: Runtime, flags: SegmentPredictFlags, io: CliIo, signal: AbortSignal): Promise<number> {
  const segmenter = await Segmenter.load(runtime.engine, runtime.catalog, flags.ensemble);
  const classes = segmenter.manifest.classes;
  const items = await discoverInputs(flags.inputs);
  await mkdir(flags.output, { recursive: true });
  const stems = new Map(items.map((item) => [item.input, path.join(flags.output, withoutExtension(item.relative))]));
  const report = createBatchReporter(reporterMode(flags.json, io), io);
  const labelsPath = (stem: string, geo: boolean): string => `${stem}.labels.${geo ? 'tif' : 'png'}`;
  const volumeLabelsPath = (stem: string): string => `${stem}.labels.nii.gz`;
  const uncertaintyVolumePath = (stem: string): string => `${stem}.uncertainty.nii.gz`;
  /**
   * A DICOM source also gets a DICOM Segmentation that references its images, for PACS viewers. A source without plane
   * geometry (orientation and a position per slice) cannot be referenced by one: the reason is returned instead.
   */
  const writeDicomSeg = async (labels: Volume, stem: string, written: string[], signal: AbortSignal): Promise<string | undefined> => {
    if (labels.medical.format !== 'dicom') return undefined;
    const blocker = dicomSegBlocker(labels);
    if (blocker) return `not written: ${blocker}`;
    const segPath = `${stem}.seg.dcm`;
    await writeFileAtomic(segPath, encodeDicomSeg(labels, { classes, algorithm: `diffusekit segment ${path.basename(flags.ensemble)}` }), signal);
    written.push(segPath);
    return undefined;
  };
  const axis = flags.axis ?? 2;
  const sliceOptions = (tally: SegmentTally, context: FileWorkContext) => ({ axis, uncertainty: flags.uncertainty, tally, signal: context.signal, onProgress: context.onProgress, ...(flags.tile ? { tile: flags.tile } : {}) });
  /** A volume slice by slice: a NIfTI label volume (and uncertainty volume) on the input's grid, with its affine. */
  const segmentVolume = async (volume: Volume, stem: string, context: FileWorkContext): Promise<Record<string, unknown>> => {
    const tally = new SegmentTally(classes);
    const { labels, uncertainty } = await segmentVolumeSlices(segmenter, volume, sliceOptions(tally, context));
    await mkdir(path.dirname(stem), { recursive: true });
    const written: string[] = [];
    if (uncertainty) written.push((await writeVolumeFile(uncertaintyVolumePath(stem), uncertainty, { format: 'nifti', signal: context.signal })).path);
    const dicomSeg = await writeDicomSeg(labels, stem, written, context.signal);
    // The label volume is written last: its presence marks the file as complete for --resume.
    written.push((await writeVolumeFile(volumeLabelsPath(stem), labels, { format: 'nifti', signal: context.signal })).path);
    return { outputs: written, ...(dicomSeg ? { dicomSeg } : {}), slices: labels.medical.dims[axis], ...tally.summary() };
  };
  /**
   * Every volume of a 4-D NIfTI (--volume all), read and segmented one volume at a time: 4-D label (and uncertainty)
   * NIfTI files streamed side by side, renamed into place once all volumes are done, labels last.
   */
  const segmentSeries = async (input: string, volumes: number, stem: string, context: FileWorkContext): Promise<Record<string, unknown>> => {
    const bytes = await readImageFileBytes(input, { signal: context.signal });
    const tally = new SegmentTally(classes);
    let slices = 0;
    async function* perVolume(): AsyncGenerator<Volume[]> {
      let t = 0;
      for await (const volume of readNiftiVolumes(bytes, DEFAULT_MAX_PIXELS, context.signal)) {
        const index = t++;
        const onProgress = seriesProgress(context.onProgress, index, volumes);
        const { labels, uncertainty } = await segmentVolumeSlices(segmenter, volume, sliceOptions(tally, { ...context, onProgress }));
        slices = labels.medical.dims[axis];
        yield uncertainty ? [uncertainty, labels] : [labels];
      }
    }
    await mkdir(path.dirname(stem), { recursive: true });
    const paths = flags.uncertainty ? [uncertaintyVolumePath(stem), volumeLabelsPath(stem)] : [volumeLabelsPath(stem)];
    await writeNiftiSeriesFiles(paths, volumes, perVolume(), { signal: context.signal });
    return { outputs: paths, slices, volumes, ...tally.summary() };
  };
  const summary = await runBatch({
    items,
    outputs: stems,
    resume: flags.resume,
    concurrency: flags.concurrency ?? 1,
    signal,
    onEvent: report,
    isComplete: async (stem) => (await isCompleteImage(labelsPath(stem, false))) || (await isCompleteImage(labelsPath(stem, true))) || (await isCompleteImage(volumeLabelsPath(stem))),
    work: async (input, stem, context) => {
      if (flags.volumeIndex === 'all') {
        const volumes = await volumeCountOf(input, context.signal);
        if (volumes > 1) return segmentSeries(input, volumes, stem, context);
      }
      const { raster, volume } = await readImageFile(input, { signal: context.signal, ...(typeof flags.volumeIndex === 'number' ? { volumeIndex: flags.volumeIndex } : {}) });
      if (volume && volume.depth > 1) return segmentVolume(volume, stem, context);
      const seg = await segmenter.segment(raster, { signal: context.signal, onProgress: context.onProgress, ...(flags.tile ? { tile: flags.tile } : {}) });
      await mkdir(path.dirname(stem), { recursive: true });
      const geo = raster.geo;
      const labels = labelRaster(seg, geo);
      const written: string[] = [];
      written.push((await writeImageFile(`${stem}.overlay.png`, overlayRaster(raster, seg, classes), { format: 'png', signal: context.signal })).path);
      const dicomSeg = volume
        ? await writeDicomSeg({ width: volume.width, height: volume.height, depth: volume.depth, dtype: 'uint8', data: labels.data as Uint8Array, medical: labelVolumeInfo(volume.medical) }, stem, written, context.signal)
        : undefined;
      if (flags.uncertainty) {
        written.push((await writeImageFile(`${stem}.uncertainty.${geo ? 'tif' : 'png'}`, uncertaintyRaster(seg, classes.length, geo), { format: geo ? 'geotiff' : 'png', signal: context.signal })).path);
      }
      // The label mask is written last: its presence marks the file as complete for --resume.
      written.push((await writeImageFile(labelsPath(stem, Boolean(geo)), labels, { format: geo ? 'geotiff' : 'png', signal: context.signal })).path);
      const tally = new SegmentTally(classes);
      tally.add(seg);
      return { outputs: written, ...(dicomSeg ? { dicomSeg } : {}), ...tally.summary() };
    },
  });
  return summary.failed === 0 && !summary.aborted ? 0 : 1;
}

export interface SegmentEvalFlags {
  ensemble: string;
  images: string;
  masks: string;
  palette?: string;
  tile?: number;
  /** DICOM/NIfTI volumes: the slices evaluated (axis, indices). */
  selection?: SliceSelection;
  json: boolean;
}

export async function segmentEvalCommand(runtime: Runtime, flags: SegmentEvalFlags, io: CliIo, signal: AbortSignal): Promise<number> {
  const segmenter = await Segmenter.load(runtime.engine, runtime.catalog, flags.ensemble);
  const classes = segmenter.manifest.classes;
  const palette = flags.palette ? await readLabelPalette(flags.palette) : { classes };
  const pairs = await listLabelledImages(flags.images, flags.masks);
  const confusion = new ConfusionMatrix(classes.length);
  const started = performance.now();
  let pixels = 0;
  let evaluated = 0;
  for (const [i, pair] of pairs.entries()) {
    for (const img of await readLabelledImages(pair, palette, flags.selection ?? {}, signal)) {
      const seg = await segmenter.segment(img.raster, { signal, ...(flags.tile ? { tile: flags.tile } : {}) });
      confusion.add(img.labels, seg.labels);
      pixels += img.labels.length;
      evaluated++;
      if (!flags.json) writeLine(io.stderr, `${i + 1}/${pairs.length} ${img.name}`);
    }
  }
  const iou = confusion.iou();
  const result = {
    images: evaluated,
    classes: classes.map((c, i) => ({ name: c.name, iou: iou[i] })),
    meanIou: confusion.meanIou(),
    pixelAccuracy: confusion.pixelAccuracy(),
    secondsPerMegapixel: (performance.now() - started) / 1000 / (pixels / 1e6),
  };
  if (flags.json) {
    writeLine(io.stdout, JSON.stringify(result));
  } else {
    for (const c of result.classes) writeLine(io.stdout, `${c.name.padEnd(16)} IoU ${Number.isNaN(c.iou) ? 'n/a' : (100 * c.iou!).toFixed(1)}`);
    writeLine(io.stdout, `${'mIoU'.padEnd(16)} ${(100 * result.meanIou).toFixed(1)}`);
    writeLine(io.stdout, `${'pixel accuracy'.padEnd(16)} ${(100 * result.pixelAccuracy).toFixed(1)}`);
  }
  return 0;
}
