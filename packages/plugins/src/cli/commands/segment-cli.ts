import type { Runtime, VolumeAxis } from '@diffusekit/core';
import type { SliceSelection } from '@diffusekit/segment';
import type { CliIo } from '../io.js';
import { parseAxis, parseCount, parseIndexList } from '../parse-flags.js';
import { UsageError } from '../usage-error.js';
import { segmentEvalCommand, segmentPredictCommand, segmentTrainCommand } from './segment.js';

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

/** `diffusekit segment train|predict|eval`: turns flags into the typed options of each subcommand. */
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
          selection: selectionFrom(values),
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
      throw new UsageError(`"segment" needs a subcommand: train, predict or eval${sub ? ` (not "${sub}")` : ''}`);
  }
}
