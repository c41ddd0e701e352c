import {
  DiffusekitError,
  makeSchedule,
  noiseInputFor,
  scheduleOf,
  type Engine,
  type ModelSession,
  type ResolvedModel,
} from '@diffusekit/core';

/** One feature output of a backbone: its manifest role, ONNX name, channels and stride relative to the input. */
export interface FeatureOutput {
  readonly role: string;
  readonly name: string;
  readonly channels: number;
  readonly stride: number;
}

/** A DDPM whose manifest lists decoder activations to use as pixel features, opened for feature extraction. */
export interface FeatureBackbone {
  readonly model: ResolvedModel;
  readonly session: ModelSession;
  readonly id: string;
  /** sha256 of the backbone's ONNX file: an ensemble is only valid on these exact weights. */
  readonly sha256: string;
  readonly timesteps: readonly number[];
  readonly outputs: readonly FeatureOutput[];
  /** Feature vector length: timesteps × the channels of every output. */
  readonly dim: number;
  readonly range: readonly [number, number];
  readonly channels: number;
  readonly multipleOf: number;
  readonly inputName: string;
  readonly noiseLevelName: string;
  /** sqrt(alpha-bar) and sqrt(1 - alpha-bar) of each feature timestep, for x_t = a·x0 + b·noise. */
  readonly signalScale: readonly number[];
  readonly noiseScale: readonly number[];
  /** The values fed to the noise-level input, one per timestep. */
  readonly noiseLevels: Float32Array;
}

/**
 * Which decoder outputs and timesteps make up the feature vector. The manifest's `features` is the default for new
 * ensembles; a saved ensemble reads the backbone with the read-out it was trained with, so a later change of that
 * default (a new selection on a validation split) does not invalidate ensembles trained before it.
 */
export interface FeatureReadout {
  readonly outputs?: readonly string[];
  readonly timesteps?: readonly number[];
}

/**
 * Opens a backbone for features: checks that its manifest lists feature outputs and timesteps (or that `readout`
 * names outputs the model has), and probes the network once on a small input to learn each output's channels and
 * stride.
 */
export async function openFeatureBackbone(engine: Engine, model: ResolvedModel, readout: FeatureReadout = {}): Promise<FeatureBackbone> {
  const { manifest } = model;
  if (!manifest.features) {
    throw new DiffusekitError('MODEL_INCOMPATIBLE', `Model "${manifest.id}" lists no feature outputs (model.json "features"), so it cannot be a segmentation backbone`);
  }
  const roles = readout.outputs ?? manifest.features.outputs;
  const unknown = roles.filter((role) => !manifest.io.outputs[role]);
  if (roles.length === 0 || unknown.length > 0) {
    throw new DiffusekitError('INVALID_OPTION', `Expected feature outputs among ${Object.keys(manifest.io.outputs).join(', ')} for backbone "${manifest.id}" but received ${roles.length === 0 ? 'none' : unknown.join(', ')}`);
  }
  const inputName = manifest.io.inputs.x;
  const noiseLevelName = manifest.io.inputs.noise_level;
  if (!inputName || !noiseLevelName) {
    throw new DiffusekitError('MODEL_INCOMPATIBLE', `Model "${manifest.id}" needs inputs with roles "x" and "noise_level" to be a segmentation backbone`);
  }
  const session = await engine.openSession(model);
  const schedule = makeSchedule(scheduleOf(manifest));
  const scheduler = { alphaBar: (t: number) => schedule.alphaBar[t] ?? NaN };
  const timesteps = [...(readout.timesteps ?? manifest.features.timesteps)];
  if (timesteps.length === 0) throw new DiffusekitError('INVALID_OPTION', `Expected at least one feature timestep for backbone "${manifest.id}" but received none`);
  for (const t of timesteps) {
    if (!Number.isInteger(t) || t < 0 || t >= schedule.trainSteps) {
      const code = readout.timesteps ? 'INVALID_OPTION' : 'MANIFEST_INVALID';
      throw new DiffusekitError(code, `Expected feature timesteps that are integers in [0, ${schedule.trainSteps - 1}] (the model's training steps) but received ${t}`);
    }
  }
  const multipleOf = manifest.tile?.multipleOf ?? 1;
  const probeSize = multipleOf * 2;
  const names = roles.map((role) => manifest.io.outputs[role]!);
  const probe = await session.run(
    {
      [inputName]: { data: new Float32Array(manifest.channels * probeSize * probeSize), dims: [1, manifest.channels, probeSize, probeSize] },
      [noiseLevelName]: { data: Float32Array.of(noiseInputFor(manifest.diffusion.noiseInput, scheduler, timesteps[0]!)), dims: [1] },
    },
    names,
  );
  const outputs = roles.map((role, i): FeatureOutput => {
    const dims = probe[names[i]!]!.dims;
    return { role, name: names[i]!, channels: dims[1]!, stride: probeSize / dims[2]! };
  });
  const perTimestep = outputs.reduce((sum, o) => sum + o.channels, 0);
  const entry = manifest.files.find((f) => f.role === 'model')!;
  return {
    model,
    session,
    id: manifest.id,
    sha256: entry.sha256,
    timesteps,
    outputs,
    dim: perTimestep * timesteps.length,
    range: manifest.range,
    channels: manifest.channels,
    multipleOf,
    inputName,
    noiseLevelName,
    signalScale: timesteps.map((t) => Math.sqrt(schedule.alphaBar[t]!)),
    noiseScale: timesteps.map((t) => Math.sqrt(1 - schedule.alphaBar[t]!)),
    noiseLevels: Float32Array.from(timesteps, (t) => noiseInputFor(manifest.diffusion.noiseInput, scheduler, t)),
  };
}
