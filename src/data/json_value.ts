/**
 * Rules for parsed JSON values, shared by the COCO readers (instances files, results files).
 *
 * Each rule returns what is wrong (`must be a finite number, got "3"`) or undefined, so one reader
 * can throw it and another can count it as a skipped entry, with the same words either way. The
 * `as...` helpers are the throwing form: `Error in <where>: <what> <problem>`.
 */

/** Short description of a JSON value for messages: `"3"`, `null`, `nothing (missing)`, 60 characters at most. */
export function describeJson(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** True for a plain JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `must be an object, got ...`, or undefined for a plain object. */
export function notAnObject(v: unknown): string | undefined {
  return isJsonObject(v) ? undefined : `must be an object, got ${describeJson(v)}`;
}

/** `must be a finite number, got ...`, or undefined for a finite number. */
export function notAFiniteNumber(v: unknown): string | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? undefined : `must be a finite number, got ${describeJson(v)}`;
}

/** `must be an integer, got ...`, or undefined for an integer (COCO's ids). */
export function notAnInteger(v: unknown): string | undefined {
  return typeof v === 'number' && Number.isInteger(v) ? undefined : `must be an integer, got ${describeJson(v)}`;
}

/** `must be 4 finite numbers [x, y, w, h], got ...`, or undefined for a COCO box. */
export function notABoxXywh(v: unknown): string | undefined {
  const ok = Array.isArray(v) && v.length === 4 && v.every((c) => typeof c === 'number' && Number.isFinite(c));
  return ok ? undefined : `must be 4 finite numbers [x, y, w, h], got ${describeJson(v)}`;
}

function check(problem: string | undefined, where: string, what: string): void {
  if (problem !== undefined) throw new Error(`Error in ${where}: ${what} ${problem}`);
}

/** A plain object, or throws `Error in <where>: <what> must be an object, got ...`. */
export function asRecord(v: unknown, where: string, what: string): Record<string, unknown> {
  check(notAnObject(v), where, what);
  return v as Record<string, unknown>;
}

/** A finite number, or throws naming `where` and `what`. */
export function asNumber(v: unknown, where: string, what: string): number {
  check(notAFiniteNumber(v), where, what);
  return v as number;
}

/** Four finite numbers `[x, y, w, h]`, or throws naming `where` and `what`. */
export function asBox(v: unknown, where: string, what: string): [number, number, number, number] {
  check(notABoxXywh(v), where, what);
  return v as [number, number, number, number];
}
