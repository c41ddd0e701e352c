import type { Runtime, VolumeAxis } from '@diffusekit/core';
import type { FeatureReadout, SliceSelection } from '@diffusekit/segment';
import type { CliIo } from '../io.js';
import { parseAxis, parseCount, parseIndexList } from '../parse-flags.js';
import { UsageError } from '../usage-error.js';
import { segmentEvalCommand, segmentPredictCommand, segmentSelectCommand, segmentTrainCommand } from './segment.js';

type Values = Record<string, string | boolean | undefined>;

const str = (values: Values, flag: string): string | undefined => (typeof values[flag] === 'string' ? (values[flag] as string) : undefined);

function required(values: Values, flag: string, sub: string): string {
  const v = str(values, flag);
  if (v === undefined) throw new UsageError(`"segment ${sub}" needs --${flag}`);
  return v;
}

/** --axis i|j|k (or 0|1|2) and --slices LIST: which slices of DICOM/NIfTI volumes are used. */
function axisFrom(values: Values): VolumeAxis | undefined {
  return values.axis === undefined ? undefined : parseAxis('--axis', values.axis);
}

function selectionFrom(values: Values): SliceSelection {
  const axis = axisFrom(values);
  const slices = str(values, 'slices');
  return { ...(axis !== undefined ? { axis } : {}), ...(slices ? { slices: parseIndexList('--slices', slices) } : {}) };
}

function validationSelectionFrom(values: Values): SliceSelection | undefined {
  const slices = str(values, 'val-slices');
  if (!slices) return undefined;
  const axis = axisFrom(values);
  return { ...(axis !== undefined ? { axis } : {}), slices: parseIndexList('--val-slices', slices) };
}

/** --outputs LIST and --timesteps LIST: the read-out `segment train` uses instead of the backbone's default. */
function readoutFrom(values: Values): FeatureReadout | undefined {
  const outputs = str(values, 'outputs');
  const timesteps = str(values, 'timesteps');
  if (outputs !== undefined && !/^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/.test(outputs)) {
    throw new UsageError(`Expected comma-separated output names for --outputs (e.g. dec0,dec1) but received ${JSON.stringify(outputs)}`);
  }
  if (outputs === undefined && timesteps === undefined) return undefined;
  return { ...(outputs ? { outputs: outputs.split(',') } : {}), ...(timesteps ? { timesteps: parseIndexList('--timesteps', timesteps) } : {}) };
}

/** `diffusekit segment train|select|predict|eval`: turns flags into the typed options of each subcommand. */
export function segmentCommand(runtime: Runtime, positionals: string[], values: Values, io: CliIo, signal: AbortSignal): Promise<number> {
  const [sub, ...rest] = positionals;
  const optional = (flag: string, min = 1): number | undefined => (values[flag] === undefined ? undefined : parseCount(`--${flag}`, values[flag], min));
  const tile = optional('tile');
  switch (sub) {
    case 'train': {
      if (rest.length) throw new UsageError(`"segment train" takes no positional arguments but received ${rest.join(' ')}`);
      const members = optional('members');
      const maxPixels = optional('max-pixels');
      const epochs = optional('epochs');
      const seed = optional('seed', 0);
      const palette = str(values, 'palette');
      const backbone = str(values, 'backbone');
      const bands = str(values, 'bands');
      const readout = readoutFrom(values);
      const readoutFile = str(values, 'readout');
      if (readout && readoutFile) throw new UsageError('Give either --readout FILE or --outputs/--timesteps, not both');
      return segmentTrainCommand(
        runtime,
        {
          images: required(values, 'images', sub),
          masks: required(values, 'masks', sub),
          output: required(values, 'output', sub),
          json: values.json === true,
          ...(palette ? { palette } : {}),
          ...(backbone ? { backbone } : {}),
          ...(members ? { members } : {}),
          ...(maxPixels ? { maxPixels } : {}),
          ...(epochs ? { epochs } : {}),
          ...(seed !== undefined ? { seed } : {}),
          ...(bands ? { bands: parseIndexList('--bands', bands) } : {}),
          ...(readout ? { readout } : {}),
          ...(readoutFile ? { readoutFile } : {}),
          selection: selectionFrom(values),
        },
        io,
        signal,
      );
    }
    case 'select': {
      if (rest.length) throw new UsageError(`"segment select" takes no positional arguments but received ${rest.join(' ')}`);
      if (values.outputs !== undefined || values.readout !== undefined) throw new UsageError('"segment select" chooses the outputs itself: --outputs and --readout belong to "segment train"');
      const members = optional('members');
      const maxPixels = optional('max-pixels');
      const seed = optional('seed', 0);
      const palette = str(values, 'palette');
      const backbone = str(values, 'backbone');
      const bands = str(values, 'bands');
      const timesteps = str(values, 'timesteps');
      const output = str(values, 'output');
      const repeats = optional('repeats');
      const validationSelection = validationSelectionFrom(values);
      if (!validationSelection && (values['val-images'] === undefined || values['val-masks'] === undefined)) {
        throw new UsageError('"segment select" needs labelled validation images that training does not use: --val-images DIR --val-masks DIR, or --val-slices LIST for volumes');
      }
      return segmentSelectCommand(
        runtime,
        {
          images: required(values, 'images', sub),
          masks: required(values, 'masks', sub),
          validationImages: str(values, 'val-images') ?? required(values, 'images', sub),
          validationMasks: str(values, 'val-masks') ?? required(values, 'masks', sub),
          json: values.json === true,
          ...(palette ? { palette } : {}),
          ...(backbone ? { backbone } : {}),
          ...(members ? { members } : {}),
          ...(repeats ? { repeats } : {}),
          ...(maxPixels ? { maxPixels } : {}),
          ...(seed !== undefined ? { seed } : {}),
          ...(bands ? { bands: parseIndexList('--bands', bands) } : {}),
          ...(timesteps ? { timesteps: parseIndexList('--timesteps', timesteps) } : {}),
          ...(output ? { output } : {}),
          selection: selectionFrom(values),
          ...(validationSelection ? { validationSelection } : {}),
        },
        io,
        signal,
      );
    }
    case 'predict': {
      const [ensemble, ...inputs] = rest;
      if (!ensemble || inputs.length === 0) throw new UsageError('"segment predict" needs an ensemble folder and at least one image file or folder');
      const concurrency = optional('concurrency');
      return segmentPredictCommand(
        runtime,
        {
          ensemble,
          inputs,
          output: required(values, 'output', sub),
          uncertainty: values.uncertainty === true,
          resume: values.resume === true,
          json: values.json === true,
          ...(tile ? { tile } : {}),
          ...(concurrency ? { concurrency } : {}),
          ...(axisFrom(values) !== undefined ? { axis: axisFrom(values)! } : {}),
          ...(values.volume !== undefined ? { volumeIndex: values.volume === 'all' ? ('all' as const) : parseCount('--volume', values.volume, 0) } : {}),
        },
        io,
        signal,
      );
    }
    case 'eval': {
      const [ensemble, ...extra] = rest;
      if (!ensemble || extra.length) throw new UsageError('"segment eval" needs exactly one ensemble folder');
      const palette = str(values, 'palette');
      return segmentEvalCommand(
        runtime,
        {
          ensemble,
          images: required(values, 'images', sub),
          masks: required(values, 'masks', sub),
          json: values.json === true,
          ...(palette ? { palette } : {}),
          ...(tile ? { tile } : {}),
          selection: selectionFrom(values),
        },
        io,
        signal,
      );
    }
    default:
      throw new UsageError(`"segment" needs a subcommand: train, select, predict or eval${sub ? ` (not "${sub}")` : ''}`);
  }
}
