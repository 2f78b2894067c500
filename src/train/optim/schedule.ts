/**
 * Learning-rate schedule of torchvision's detection reference (references/detection/train.py and
 * engine.py): a linear warmup, `LinearLR(start_factor=warmupFactor, total_iters=warmupIters)`
 * stepped per iteration, chained on the same optimizer with `MultiStepLR(milestones, gamma)`.
 *
 * We reproduce torch's *chained recursive* numbers, not the closed form: each scheduler step
 * multiplies the optimizer's current lr (a Python double) by a factor,
 *
 *     warmup, at its step t in 1..W:  lr *= 1 + (1 - f) / (W * f + (t - 1) * (1 - f))
 *     milestone m (k times listed):  lr *= gamma ** k
 *
 * and at construction lr = base * gamma ** count(0) * f (MultiStepLR is made first, then
 * LinearLR). The same double operations in the same order give torch's values to the last bit;
 * the closed form `base * (f + (1 - f) * t / W)` differs from them by rounding only.
 *
 * Two placements of the milestones:
 * - `'epoch'` (the reference): MultiStepLR steps at the end of each epoch; the warmup lives in
 *   epoch 0 only, with `warmupIters` defaulting to `min(1000, itersPerEpoch - 1)`.
 * - `'iteration'`: both step after every iteration, warmup first; `warmupIters` defaults to 1000.
 * Iteration i (0-based, the number of optimizer steps already taken) uses `lr(i)`; a milestone
 * of m epochs takes effect at iteration m * itersPerEpoch.
 */

/** Settings of {@link warmupMultiStepLr}; defaults are the detection reference's. */
export interface WarmupMultiStepOptions {
  /** Base learning rate (reference: 0.02 for 16 images per batch). */
  baseLr: number;
  /** Milestones in `milestoneUnit`s; one listed k times decays by gamma^k there (torch Counter). */
  milestones: readonly number[];
  /** Decay factor at each milestone; default 0.1. */
  gamma?: number;
  /** Warmup start factor, in (0, 1]; default 1/1000. */
  warmupFactor?: number;
  /** Warmup length in iterations, >= 1; default min(1000, itersPerEpoch - 1) or 1000. */
  warmupIters?: number;
  /** Whether milestones count epochs (default, as the reference) or iterations. */
  milestoneUnit?: 'epoch' | 'iteration';
  /** Iterations per epoch (len(data_loader)); needed when milestones count epochs. */
  itersPerEpoch?: number;
}

interface Resolved {
  readonly base: number;
  readonly gamma: number;
  readonly factor: number;
  readonly warmupIters: number;
  /** Iteration -> number of milestones there. */
  readonly counts: ReadonlyMap<number, number>;
  /** Milestone iterations after the warmup, ascending. */
  readonly late: readonly number[];
}

function isCount(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min;
}

function resolve(o: WarmupMultiStepOptions): Resolved {
  const w = 'warmupMultiStepLr';
  if (typeof o.baseLr !== 'number' || !Number.isFinite(o.baseLr) || o.baseLr < 0) {
    throw new Error(`${w}: baseLr must be a finite number >= 0, got ${String(o.baseLr)}`);
  }
  const gamma = o.gamma ?? 0.1;
  if (!Number.isFinite(gamma) || gamma <= 0) throw new Error(`${w}: gamma must be a finite number > 0, got ${String(gamma)}`);
  const factor = o.warmupFactor ?? 1 / 1000;
  if (!(factor > 0 && factor <= 1)) throw new Error(`${w}: warmupFactor must be in (0, 1], got ${String(factor)}`);
  const unit = o.milestoneUnit ?? 'epoch';
  if (unit !== 'epoch' && unit !== 'iteration') {
    throw new Error(`${w}: milestoneUnit must be 'epoch' or 'iteration', got '${String(unit)}'`);
  }
  let perEpoch = 1;
  if (unit === 'epoch') {
    if (!isCount(o.itersPerEpoch, 1)) {
      throw new Error(`${w}: itersPerEpoch must be an integer >= 1 when milestones count epochs, got ${String(o.itersPerEpoch)}`);
    }
    perEpoch = o.itersPerEpoch;
  }
  const warmupIters = o.warmupIters ?? (unit === 'epoch' ? Math.min(1000, perEpoch - 1) : 1000);
  if (!isCount(warmupIters, 1)) {
    // torch's LinearLR with total_iters=0 would leave the lr at base * warmupFactor for ever.
    throw new Error(`${w}: warmupIters must be an integer >= 1 (use warmupFactor: 1 for no warmup), got ${String(warmupIters)}`);
  }
  if (unit === 'epoch' && warmupIters > perEpoch) {
    // The reference drops the warmup scheduler after epoch 0; a longer warmup would stay unfinished.
    throw new Error(`${w}: warmupIters (${warmupIters}) must not exceed itersPerEpoch (${perEpoch}) when milestones count epochs`);
  }
  if (!Array.isArray(o.milestones)) throw new Error(`${w}: milestones must be an array of integers >= 0`);
  const counts = new Map<number, number>();
  for (const m of o.milestones) {
    if (!isCount(m, 0)) throw new Error(`${w}: milestones must be integers >= 0, got ${String(m)}`);
    const at = m * perEpoch;
    counts.set(at, (counts.get(at) ?? 0) + 1);
  }
  const late = [...counts.keys()].filter((t) => t > warmupIters).sort((a, b) => a - b);
  return { base: o.baseLr, gamma, factor, warmupIters, counts, late };
}

/** torch's lr after `iteration` scheduler steps (see the file comment), for resolved options. */
function lrAt(r: Resolved, iteration: number): number {
  let lr = r.base;
  const c0 = r.counts.get(0);
  if (c0 !== undefined) lr = lr * r.gamma ** c0;
  lr = lr * r.factor;
  const f = r.factor;
  const n = r.warmupIters;
  const warm = Math.min(iteration, n);
  for (let t = 1; t <= warm; t++) {
    // Same expression and order as LinearLR.get_lr (end_factor 1.0).
    lr = lr * (1 + (1 - f) / (n * f + (t - 1) * (1 - f)));
    const c = r.counts.get(t);
    if (c !== undefined) lr = lr * r.gamma ** c;
  }
  // After the warmup LinearLR returns the lr unchanged; only milestones move it.
  for (const t of r.late) {
    if (t > iteration) break;
    lr = lr * r.gamma ** (r.counts.get(t) as number);
  }
  return lr;
}

/**
 * Learning rate for iteration `iteration` (0-based: the number of optimizer steps already taken),
 * equal to what torchvision's reference schedulers set. Costs O(min(iteration, warmupIters)).
 *
 * @example
 * ```ts
 * // 26-epoch schedule of the reference ("2x"), 7330 iterations per epoch:
 * const opts = { baseLr: 0.02, milestones: [16, 22], itersPerEpoch: 7330 };
 * warmupMultiStepLr(opts, 0);          // 2e-5
 * warmupMultiStepLr(opts, 1000);       // 0.02
 * warmupMultiStepLr(opts, 16 * 7330);  // 0.002
 * ```
 */
export function warmupMultiStepLr(options: WarmupMultiStepOptions, iteration: number): number {
  if (!isCount(iteration, 0)) throw new Error(`warmupMultiStepLr: iteration must be an integer >= 0, got ${String(iteration)}`);
  return lrAt(resolve(options), iteration);
}

/** Serialisable position of a {@link WarmupMultiStepSchedule}. */
export interface ScheduleState {
  readonly iteration: number;
}

/**
 * Stateful form of {@link warmupMultiStepLr}: call `step()` after each optimizer step and copy
 * `lr` into the optimizer (or use `apply`). Steps incrementally, with the same arithmetic.
 *
 * @example
 * ```ts
 * const sched = new WarmupMultiStepSchedule({ baseLr: 0.02, milestones: [16, 22], itersPerEpoch: n });
 * for (const batch of batches) {
 *   sched.apply(opt);
 *   opt.step(grads(batch));
 *   sched.step();
 * }
 * ```
 */
export class WarmupMultiStepSchedule {
  private readonly r: Resolved;
  private it = 0;
  private current: number;

  constructor(options: WarmupMultiStepOptions) {
    this.r = resolve(options);
    this.current = lrAt(this.r, 0);
  }

  /** Learning rate for the current iteration. */
  get lr(): number {
    return this.current;
  }

  /** Number of steps taken (the iteration whose lr `lr` is). */
  get iteration(): number {
    return this.it;
  }

  /** Advances one iteration and returns the new lr. */
  step(): number {
    const t = ++this.it;
    const { factor: f, warmupIters: n } = this.r;
    if (t <= n) this.current = this.current * (1 + (1 - f) / (n * f + (t - 1) * (1 - f)));
    const c = this.r.counts.get(t);
    if (c !== undefined) this.current = this.current * this.r.gamma ** c;
    return this.current;
  }

  /** Sets `target.lr` to the current learning rate. */
  apply(target: { lr: number }): void {
    target.lr = this.current;
  }

  /** Position to save in a checkpoint. */
  getState(): ScheduleState {
    return { iteration: this.it };
  }

  /** Moves to a saved position (the lr is recomputed exactly). */
  setState(state: ScheduleState): void {
    if (!isCount(state.iteration, 0)) {
      throw new Error(`WarmupMultiStepSchedule.setState: iteration must be an integer >= 0, got ${String(state.iteration)}`);
    }
    this.it = state.iteration;
    this.current = lrAt(this.r, state.iteration);
  }
}
