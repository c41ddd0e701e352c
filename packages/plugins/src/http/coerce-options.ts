import { DiffusekitError, invalidOption, type TaskOptionSpec } from '@diffusekit/core';

/** Text values as they arrive in a query string or multipart fields; a name given twice holds an array. */
export type TextFields = Record<string, string | string[]>;

const INTEGER = /^[+-]?\d+$/;
const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

function single(spec: TaskOptionSpec, value: string | string[]): string {
  if (typeof value === 'string') return value;
  if (value.length === 1) return value[0]!;
  throw invalidOption(spec.name, `one ${describeType(spec)}`, value);
}

function describeType(spec: TaskOptionSpec): string {
  switch (spec.type) {
    case 'integer':
      return 'integer';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean (true or false)';
    case 'enum':
      return `value (one of ${(spec.values ?? []).join(', ')})`;
    case 'integer-list':
      return 'comma-separated list of integers';
    case 'string':
      return 'string';
  }
}

function toInteger(spec: TaskOptionSpec, text: string): number {
  const trimmed = text.trim();
  const n = Number(trimmed);
  if (!INTEGER.test(trimmed) || !Number.isSafeInteger(n)) throw invalidOption(spec.name, 'an integer', text);
  return n;
}

function coerceOne(spec: TaskOptionSpec, value: string | string[]): unknown {
  switch (spec.type) {
    case 'string':
    case 'enum':
      return single(spec, value);
    case 'integer':
      return toInteger(spec, single(spec, value));
    case 'number': {
      const text = single(spec, value).trim();
      const n = Number(text);
      if (text === '' || !Number.isFinite(n)) throw invalidOption(spec.name, 'a finite number', text);
      return n;
    }
    case 'boolean': {
      const text = single(spec, value).trim().toLowerCase();
      if (TRUE.has(text)) return true;
      if (FALSE.has(text)) return false;
      throw invalidOption(spec.name, 'true or false', text);
    }
    case 'integer-list': {
      const parts = (typeof value === 'string' ? [value] : value).flatMap((v) => v.split(',')).filter((p) => p.trim() !== '');
      if (parts.length === 0) throw invalidOption(spec.name, 'a comma-separated list of integers', value);
      return parts.map((p) => toInteger(spec, p));
    }
  }
}

/**
 * Converts text fields into the typed values a task's `parseOptions` expects, guided by its option specs. Ranges and
 * enum values are left to `parseOptions`, which owns them; unknown names are refused here with the accepted list.
 */
export function coerceTaskOptions(taskId: string, specs: readonly TaskOptionSpec[], fields: TextFields): Record<string, unknown> {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const options: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    const spec = byName.get(name);
    if (!spec) {
      const known = [...byName.keys()];
      throw new DiffusekitError(
        'INVALID_OPTION',
        `Unknown option "${name}" for task "${taskId}". Should be one of: ${known.join(', ') || '(this task takes no options)'}`,
        { details: { option: name, known } },
      );
    }
    options[name] = coerceOne(spec, value);
  }
  return options;
}
