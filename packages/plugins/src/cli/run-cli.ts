import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CORE_VERSION, isDiffusekitError, type Runtime } from '@diffusekit/core';
import { createDefaultRuntime } from '../default-runtime.js';
import { infoCommand } from './commands/info.js';
import { modelsCommand } from './commands/models.js';
import { processIo, writeLine, type CliIo } from './io.js';
import { UsageError } from './usage-error.js';

const HELP = `diffusekit ${CORE_VERSION} — diffusion-model image analysis

Usage:
  diffusekit models [--json]                 list installed models and the tasks that use them
  diffusekit info <file ...> [--json]        size, bands, dtype, nodata and georeference of images
  diffusekit help                            this text

Exit codes: 0 success, 1 some input failed, 2 wrong usage.`;

interface Command {
  options: NonNullable<ParseArgsConfig['options']>;
  run(runtime: () => Runtime, positionals: string[], values: Record<string, unknown>, io: CliIo): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  models: {
    options: { json: { type: 'boolean', default: false } },
    run: (runtime, positionals, values, io) => {
      if (positionals.length > 0) throw new UsageError(`"models" takes no arguments but received ${positionals.join(' ')}`);
      return modelsCommand(runtime(), { json: values.json === true }, io);
    },
  },
  info: {
    options: { json: { type: 'boolean', default: false }, 'max-pixels': { type: 'string' } },
    run: (_runtime, positionals, values, io) => {
      if (positionals.length === 0) throw new UsageError('"info" needs at least one file');
      const maxPixels = values['max-pixels'] === undefined ? undefined : parsePositiveInteger('--max-pixels', values['max-pixels']);
      return infoCommand(positionals, { json: values.json === true, ...(maxPixels === undefined ? {} : { maxPixels }) }, io);
    },
  },
};

export function parsePositiveInteger(flag: string, value: unknown): number {
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`Expected a positive integer for ${flag} but received ${JSON.stringify(value)}`);
  return n;
}

/** Runs one CLI invocation and returns its exit code; never calls process.exit, so it can be tested in-process. */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    writeLine(name === undefined ? io.stderr : io.stdout, HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    writeLine(io.stdout, CORE_VERSION);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    writeLine(io.stderr, `diffusekit: unknown command "${name}". Should be one of: ${Object.keys(COMMANDS).join(', ')}, help`);
    return 2;
  }
  let runtime: Runtime | undefined;
  const getRuntime = (): Runtime => (runtime ??= createDefaultRuntime());
  try {
    const { values, positionals } = parseArgs({ args: [...rest], options: command.options, allowPositionals: true, strict: true });
    return await command.run(getRuntime, positionals, values, io);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      writeLine(io.stderr, `diffusekit ${name}: ${(error as Error).message}`);
      writeLine(io.stderr, `Run "diffusekit help" for usage.`);
      return 2;
    }
    if (isDiffusekitError(error)) {
      writeLine(io.stderr, `diffusekit ${name}: ${error.code}: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    await runtime?.close();
  }
}
