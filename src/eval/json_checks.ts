/**
 * Small validators shared by the ground-truth and results loaders; messages name the entry.
 */

/** A plain object or throws `Error in <where>: <what> must be an object`. */
export function asRecord(v: unknown, where: string, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new Error(`Error in ${where}: ${what} must be an object, got ${describe(v)}`);
  }
  return v as Record<string, unknown>;
}

/** A finite number or throws. */
export function asNumber(v: unknown, where: string, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new Error(`Error in ${where}: ${what} must be a finite number, got ${describe(v)}`);
  }
  return v;
}

/** Four finite numbers `[x, y, w, h]` or throws. */
export function asBox(v: unknown, where: string, what: string): [number, number, number, number] {
  if (!Array.isArray(v) || v.length !== 4 || !v.every((c) => typeof c === 'number' && Number.isFinite(c))) {
    throw new Error(`Error in ${where}: ${what} must be 4 finite numbers [x, y, w, h], got ${describe(v)}`);
  }
  return v as [number, number, number, number];
}

/** Short description of a json value for messages. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
