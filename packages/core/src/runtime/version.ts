/** Minimal semver range check for plugin compatibility: exact "1.2.3", caret "^1.2.3", ">=1.2.3", or "*". */
export function satisfiesRange(version: string, range: string): boolean {
  const v = parseVersion(version);
  if (!v) return false;
  const r = range.trim();
  if (r === '*' || r === '') return true;
  if (r.startsWith('>=')) {
    const min = parseVersion(r.slice(2));
    return min !== undefined && compare(v, min) >= 0;
  }
  if (r.startsWith('^')) {
    const min = parseVersion(r.slice(1));
    if (!min || compare(v, min) < 0) return false;
    // ^0.x.y allows only the same minor while the major is 0, as npm does.
    return min[0] > 0 ? v[0] === min[0] : v[0] === 0 && v[1] === min[1];
  }
  const exact = parseVersion(r);
  return exact !== undefined && compare(v, exact) === 0;
}

type Triple = [number, number, number];

function parseVersion(text: string): Triple | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function compare(a: Triple, b: Triple): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}
