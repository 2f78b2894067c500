/**
 * Tick values for the axes of the pictures (training curves, score histograms): steps of 1, 2 or
 * 5 times a power of ten, so tick labels are short round numbers.
 *
 * Pure TypeScript with no Node imports: it runs in browsers.
 */

/**
 * A tick on an axis: its value and the text drawn next to it.
 *
 * @example
 * ```ts
 * const t: AxisTick = { value: 0.25, label: '0.25' };
 * ```
 */
export interface AxisTick {
  readonly value: number;
  readonly label: string;
}

/**
 * The smallest of 1, 2, 5 times a power of ten that is at least `raw` (a positive number).
 *
 * @example
 * ```ts
 * niceStep(0.3); // 0.5
 * niceStep(7);   // 10
 * niceStep(2);   // 2
 * ```
 */
export function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw * (1 - 1e-9)) return m * p;
  return 10 * p;
}

/**
 * A tick value as text: as many decimals as the step needs for steps of 0.001 and up, else
 * exponential (`1.5e-4`).
 *
 * @example
 * ```ts
 * tickLabel(0.30000000000000004, 0.1); // '0.3'
 * tickLabel(0.00015, 0.00005);         // '1.5e-4'
 * ```
 */
export function tickLabel(value: number, step: number): string {
  if (value === 0) return '0';
  if (step >= 1e-3) return String(Number(value.toFixed(Math.max(0, -Math.floor(Math.log10(step))))));
  return Number(value.toPrecision(12)).toExponential();
}

/**
 * The ticks `k * step` for k = 0, 1, ... up to `hi` (included, with a relative slack of 1e-9
 * for rounding), values rounded to 12 significant digits.
 *
 * @example
 * ```ts
 * linearTicks(1, 0.5).map((t) => t.label); // ['0', '0.5', '1']
 * ```
 */
export function linearTicks(hi: number, step: number): AxisTick[] {
  const out: AxisTick[] = [];
  for (let k = 0; k * step <= hi * (1 + 1e-9); k++) {
    const value = Number((k * step).toPrecision(12));
    out.push({ value, label: tickLabel(value, step) });
  }
  return out;
}

/**
 * A linear axis from 0 to a round number at or above `max` (a positive number), with at most
 * `maxTicks` intervals: the axis top `hi` and its ticks. `minStep` (default 0) bounds the step
 * from below, e.g. 1 for counts.
 *
 * @example
 * ```ts
 * linearAxis(37, 5);    // { hi: 40, ticks: 0, 10, 20, 30, 40 }
 * linearAxis(3, 10, 1); // { hi: 3, ticks: 0, 1, 2, 3 } (not 0, 0.5, ...)
 * ```
 */
export function linearAxis(max: number, maxTicks: number, minStep = 0): { hi: number; ticks: AxisTick[] } {
  const step = Math.max(minStep, niceStep(max / Math.max(1, maxTicks)));
  const hi = Number((Math.ceil(max / step - 1e-9) * step).toPrecision(12));
  return { hi, ticks: linearTicks(hi, step) };
}

/**
 * Round ticks inside `[lo, hi]` (lo < hi): the multiples of a {@link niceStep} of
 * `(hi - lo) / maxTicks` that lie in the interval, ends included with a slack of 1e-9 steps.
 *
 * @example
 * ```ts
 * niceTicks(0, 1, 4).map((t) => t.label);      // ['0', '0.5', '1'] (step 0.5: 0.25 is not a 1-2-5 step)
 * niceTicks(-1, 1, 4).map((t) => t.label);     // ['-1', '-0.5', '0', '0.5', '1']
 * ```
 */
export function niceTicks(lo: number, hi: number, maxTicks: number): AxisTick[] {
  const step = niceStep((hi - lo) / Math.max(1, maxTicks));
  const out: AxisTick[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k <= Math.floor(hi / step + 1e-9); k++) {
    const value = Number((k * step).toPrecision(12));
    out.push({ value, label: tickLabel(value, step) });
  }
  return out;
}
