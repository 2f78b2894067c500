/**
 * Wall-clock time per pipeline stage, for the demo's table and for profiling a deployment.
 *
 * On the cpu, wasm and tensorflow (tfjs-node) backends ops run as they are called, so a stage's
 * time is its compute. On webgl and webgpu ops are queued; there a stage's time is what it took
 * to enqueue, and the queued work lands in the first stage that reads data back (the RPN's NMS).
 */

/** The stages timed, in pipeline order. */
export const STAGE_NAMES = ['decode', 'transform', 'backbone', 'rpn', 'box_head', 'mask_head', 'postprocess'] as const;
/** One of {@link STAGE_NAMES}. */
export type StageName = (typeof STAGE_NAMES)[number];
/** Milliseconds spent in each stage. */
export type StageTimes = Record<StageName, number>;

const now = (): number => globalThis.performance.now();

/**
 * A stopwatch that charges the time since its last lap to the stage named.
 *
 * @example
 * ```ts
 * const clock = new StageClock();
 * const batch = transform.forward(images);
 * clock.lap('transform');
 * console.log(clock.times.transform.toFixed(1), 'ms');
 * ```
 */
export class StageClock {
  readonly times: StageTimes = Object.fromEntries(STAGE_NAMES.map((s) => [s, 0])) as StageTimes;
  private last = now();

  /** Adds the time since the previous lap (or since construction) to `stage`. */
  lap(stage: StageName): void {
    const t = now();
    this.times[stage] += t - this.last;
    this.last = t;
  }
}
