/**
 * The 12 COCO summary numbers and pycocotools' printed table.
 */
import type { Accumulated } from './accumulate';
import type { CocoEvalParams } from './eval_params';

/** Names of the 12 stats, in pycocotools' order. */
export const STAT_NAMES = [
  'AP',
  'AP50',
  'AP75',
  'APs',
  'APm',
  'APl',
  'AR1',
  'AR10',
  'AR100',
  'ARs',
  'ARm',
  'ARl',
] as const;

/**
 * Python's `'{:0.Nf}'.format(x)`: like toFixed but exact ties round half to even. A double is
 * exactly halfway between two N-decimal numbers only when it is an odd multiple of 2^-(N+1).
 *
 * @example
 * ```ts
 * formatFixed(0.0625, 3); // '0.062' (toFixed gives '0.063')
 * ```
 */
export function formatFixed(x: number, digits: number): string {
  const halves = x * 2 ** (digits + 1);
  if (Number.isInteger(halves) && Math.abs(halves) % 2 === 1) {
    const scaled = Math.trunc(x * 10 ** digits); // toward zero; exact for these values
    if (Math.abs(scaled) % 2 === 0) return (scaled / 10 ** digits).toFixed(digits);
  }
  return x.toFixed(digits);
}

/** Mean of the values > -1, or -1 when there are none (pycocotools' `_summarize`). */
function meanValid(values: number[]): number {
  let sum = 0;
  let n = 0;
  for (const v of values) {
    if (v > -1) {
      sum += v;
      n++;
    }
  }
  return n === 0 ? -1 : sum / n;
}

/** numpy's pairing of the two index lists in `s[..., aind, mind]`. */
function pairs(aind: number[], mind: number[]): [number, number][] {
  if (aind.length === 0 || mind.length === 0) return [];
  if (aind.length === mind.length) return aind.map((a, j) => [a, mind[j]]);
  if (aind.length === 1) return mind.map((m) => [aind[0], m]);
  if (mind.length === 1) return aind.map((a) => [a, mind[0]]);
  throw new Error(`Error in summarize: ${aind.length} area ranges and ${mind.length} maxDets share a label; cannot pair them`);
}

/**
 * One summary number and its printed line, as pycocotools' `_summarize`.
 *
 * @example
 * ```ts
 * summarizeOne(acc, params, true, 0.5, 'all', 100).line;
 * // ' Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.512'
 * ```
 */
export function summarizeOne(
  acc: Accumulated,
  p: CocoEvalParams,
  ap: boolean,
  iouThr: number | undefined,
  areaRng: string,
  maxDets: number,
): { value: number; line: string } {
  const [T, R, K, A, M] = acc.counts;
  const ts = iouThr === undefined ? [...Array(T).keys()] : p.iouThrs.flatMap((v, t) => (v === iouThr ? [t] : []));
  const aind = p.areaRngLbl.flatMap((l, a) => (l === areaRng ? [a] : []));
  const mind = p.maxDets.flatMap((v, m) => (v === maxDets ? [m] : []));
  const values: number[] = [];
  for (const [a, m] of pairs(aind, mind)) {
    for (const t of ts) {
      for (let k = 0; k < K; k++) {
        if (ap) for (let r = 0; r < R; r++) values.push(acc.precision[(((t * R + r) * K + k) * A + a) * M + m]);
        else values.push(acc.recall[((t * K + k) * A + a) * M + m]);
      }
    }
  }
  const value = meanValid(values);
  const title = (ap ? 'Average Precision' : 'Average Recall').padEnd(18);
  const type = ap ? '(AP)' : '(AR)';
  const iouStr =
    iouThr === undefined
      ? `${formatFixed(p.iouThrs[0], 2)}:${formatFixed(p.iouThrs[p.iouThrs.length - 1], 2)}`
      : formatFixed(iouThr, 2);
  const line = ` ${title} ${type} @[ IoU=${iouStr.padEnd(9)} | area=${areaRng.padStart(6)} | maxDets=${String(maxDets).padStart(3)} ] = ${formatFixed(value, 3)}`;
  return { value, line };
}

/**
 * The 12 detection stats and their lines (pycocotools' `_summarizeDets`).
 *
 * @example
 * ```ts
 * const { stats, lines } = summarizeDets(acc, params);
 * console.log(lines.join('\n'));
 * ```
 */
export function summarizeDets(acc: Accumulated, p: CocoEvalParams): { stats: number[]; lines: string[] } {
  if (p.maxDets.length < 3) {
    throw new Error(`Error in summarize: the 12 COCO stats need 3 maxDets, params have [${p.maxDets.join(', ')}]`);
  }
  const [m0, m1, m2] = p.maxDets;
  const spec: [boolean, number | undefined, string, number][] = [
    [true, undefined, 'all', 100],
    [true, 0.5, 'all', m2],
    [true, 0.75, 'all', m2],
    [true, undefined, 'small', m2],
    [true, undefined, 'medium', m2],
    [true, undefined, 'large', m2],
    [false, undefined, 'all', m0],
    [false, undefined, 'all', m1],
    [false, undefined, 'all', m2],
    [false, undefined, 'small', m2],
    [false, undefined, 'medium', m2],
    [false, undefined, 'large', m2],
  ];
  const out = spec.map(([ap, iou, area, md]) => summarizeOne(acc, p, ap, iou, area, md));
  return { stats: out.map((o) => o.value), lines: out.map((o) => o.line) };
}
