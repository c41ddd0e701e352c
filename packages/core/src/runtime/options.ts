import { DiffusekitError, invalidOption } from '../errors.js';
import type { TaskOptionSpec } from './plugin.js';

export type ParsedOptions = Record<string, unknown>;

/**
 * Validates raw options (from code, CLI flags or HTTP fields) against a task's option specs. Strings are coerced for
 * numeric, boolean and list types so hosts can pass what they received; unknown names are refused with the known list.
 */
export function parseTaskOptions(raw: unknown, specs: readonly TaskOptionSpec[]): ParsedOptions {
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalidOption('options', 'an object', raw);
  const known = new Map(specs.map((s) => [s.name, s]));
  const out: ParsedOptions = {};
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (value === undefined) continue;
    const spec = known.get(name);
    if (!spec) {
      throw new DiffusekitError('INVALID_OPTION', `Unknown option "${name}". Should be one of: ${[...known.keys()].join(', ')}`, {
        details: { option: name, known: [...known.keys()] },
      });
    }
    out[name] = parseOne(spec, value);
  }
  for (const spec of specs) if (!(spec.name in out) && spec.default !== undefined) out[spec.name] = spec.default;
  return out;
}

function inRange(spec: TaskOptionSpec, n: number): boolean {
  return (spec.min === undefined || n >= spec.min) && (spec.max === undefined || n <= spec.max);
}

function rangeText(spec: TaskOptionSpec): string {
  if (spec.min !== undefined && spec.max !== undefined) return ` in [${spec.min}, ${spec.max}]`;
  if (spec.min !== undefined) return ` >= ${spec.min}`;
  if (spec.max !== undefined) return ` <= ${spec.max}`;
  return '';
}

function parseOne(spec: TaskOptionSpec, value: unknown): unknown {
  switch (spec.type) {
    case 'integer': {
      const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || !inRange(spec, n)) throw invalidOption(spec.name, `an integer${rangeText(spec)}`, value);
      return n;
    }
    case 'number': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n) || !inRange(spec, n)) throw invalidOption(spec.name, `a number${rangeText(spec)}`, value);
      return n;
    }
    case 'boolean': {
      if (value === true || value === 'true' || value === '1') return true;
      if (value === false || value === 'false' || value === '0') return false;
      throw invalidOption(spec.name, 'a boolean', value);
    }
    case 'string':
      if (typeof value !== 'string' || value === '') throw invalidOption(spec.name, 'a non-empty string', value);
      return value;
    case 'enum':
      if (typeof value !== 'string' || !spec.values?.includes(value)) throw invalidOption(spec.name, `one of ${spec.values?.join(', ')}`, value);
      return value;
    case 'integer-list': {
      // Groups: [[0,1,2],[3]] or "0,1,2;3".
      if (typeof value === 'string') return value;
      if (Array.isArray(value) && value.every((g) => Array.isArray(g) && g.every((v) => Number.isInteger(v)))) return value;
      throw invalidOption(spec.name, 'groups of band indices such as "0,1,2;3,4,5" or [[0,1,2],[3,4,5]]', value);
    }
  }
}
