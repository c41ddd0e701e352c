import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import {
  DiffusekitError,
  MODEL_ID_PATTERN,
  parseTaskOptions,
  type ImageTaskResult,
  type Raster,
  type TaskDefinition,
  type TaskOptionSpec,
} from '@diffusekit/core';
import { ENSEMBLE_FILE } from './ensemble/ensemble-manifest.js';
import { DEFAULT_FEATURE_TILE } from './features/feature-tiles.js';
import { Segmenter } from './segmenter/segmenter.js';
import { colourRaster, labelRaster, overlayRaster, uncertaintyRaster } from './segmenter/segmentation-rasters.js';

export const SEGMENT_OUTPUTS = ['labels', 'colours', 'overlay', 'uncertainty'] as const;
export type SegmentOutput = (typeof SEGMENT_OUTPUTS)[number];

export interface SegmentTaskOptions {
  /** Id of a trained ensemble: a folder `<id>/` with ensemble.json in one of the configured ensemble folders. */
  ensemble: string;
  output: SegmentOutput;
  tile: number;
}

const OPTIONS: readonly TaskOptionSpec[] = [
  { name: 'ensemble', type: 'string', description: 'Id of a trained ensemble (a folder name in the configured ensemble folders)' },
  {
    name: 'output',
    type: 'enum',
    values: SEGMENT_OUTPUTS,
    default: 'labels',
    description: 'labels: class index per pixel (uint8, 255 = nodata); colours: class colours; overlay: colours over the image; uncertainty: entropy, 255 = most uncertain',
  },
  { name: 'tile', type: 'integer', min: 32, max: 1024, default: DEFAULT_FEATURE_TILE, description: 'Backbone tile side in pixels' },
];

/** Ensemble ids (folder names holding ensemble.json) in the configured folders, first folder first. */
export function listEnsembles(folders: readonly string[]): string[] {
  const ids = new Set<string>();
  for (const folder of folders) {
    let names: string[];
    try {
      names = readdirSync(folder);
    } catch {
      continue;
    }
    for (const name of names.sort()) if (MODEL_ID_PATTERN.test(name) && existsSync(path.join(folder, name, ENSEMBLE_FILE))) ids.add(name);
  }
  return [...ids];
}

/** The folder of ensemble `id`; ids are plain names, so a caller can never point the server at a path of its choosing. */
function ensembleFolder(folders: readonly string[], id: string): string {
  const folder = MODEL_ID_PATTERN.test(id) ? folders.map((f) => path.join(f, id)).find((f) => existsSync(path.join(f, ENSEMBLE_FILE))) : undefined;
  if (folder === undefined) {
    const known = listEnsembles(folders);
    throw new DiffusekitError('INVALID_OPTION', `Unknown ensemble ${JSON.stringify(id)}. Should be one of: ${known.join(', ') || '(no ensembles are installed)'}`, {
      details: { option: 'ensemble', known },
    });
  }
  return folder;
}

/**
 * Few-shot segmentation as an image task, so that hosts (the HTTP service) can serve it: each request names a trained
 * ensemble by id, and the ensemble brings the feature backbone it was trained on. Ensembles are looked up in
 * `ensembleFolders` only, and loaded once per id.
 */
export function createSegmentTask(ensembleFolders: readonly string[]): TaskDefinition<Raster, SegmentTaskOptions, ImageTaskResult> {
  const folders = [...ensembleFolders];
  return {
    id: 'segment',
    kind: 'image-to-image',
    description: 'Few-shot segmentation with a trained MLP ensemble on diffusion features: labels, colours, overlay or uncertainty',
    defaultModel: 'ddpm-aerial',
    accepts: (manifest) => manifest.features !== undefined,
    options: OPTIONS,
    parseOptions(raw) {
      const parsed = parseTaskOptions(raw, OPTIONS);
      if (typeof parsed.ensemble !== 'string') {
        const known = listEnsembles(folders);
        // With exactly one ensemble installed, naming it is optional.
        if (known.length !== 1) {
          throw new DiffusekitError('INVALID_OPTION', `Name the ensemble to segment with ("ensemble"). Installed: ${known.join(', ') || '(none)'}`, {
            details: { option: 'ensemble', known },
          });
        }
        parsed.ensemble = known[0];
      }
      ensembleFolder(folders, parsed.ensemble as string); // an unknown id is refused before any work is queued
      return parsed as unknown as SegmentTaskOptions;
    },
    async load({ engine, catalog, model }) {
      const segmenters = new Map<string, Promise<Segmenter>>();
      // Features are only meaningful from the backbone an ensemble was trained on, so the ensemble names it (id and
      // sha256, checked) and the task's model only has to be a backbone.
      const segmenterFor = (id: string): Promise<Segmenter> => {
        let segmenter = segmenters.get(id);
        if (!segmenter) {
          segmenter = Segmenter.load(engine, catalog, ensembleFolder(folders, id));
          segmenters.set(id, segmenter);
          segmenter.catch(() => segmenters.delete(id));
        }
        return segmenter;
      };
      return {
        model: model.manifest,
        async run(raster, options, runOptions = {}) {
          const segmenter = await segmenterFor(options.ensemble);
          const started = performance.now();
          const seg = await segmenter.segment(raster, { tile: options.tile, ...runOptions });
          const classes = segmenter.manifest.classes;
          const out =
            options.output === 'labels'
              ? labelRaster(seg, raster.geo)
              : options.output === 'colours'
                ? colourRaster(seg, classes, raster.geo)
                : options.output === 'overlay'
                  ? overlayRaster(raster, seg, classes)
                  : uncertaintyRaster(seg, classes.length, raster.geo);
          if (raster.sourceFormat) out.sourceFormat = raster.sourceFormat;
          return {
            raster: out,
            info: { ensemble: options.ensemble, classes: classes.map((c) => c.name), output: options.output, totalMs: performance.now() - started },
          };
        },
        async dispose() {},
      };
    },
  };
}
