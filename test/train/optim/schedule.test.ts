import { warmupMultiStepLr, WarmupMultiStepSchedule } from '../../../src/train/optim';
import type { WarmupMultiStepOptions } from '../../../src/train/optim';
import { fixtures } from './fixture_io';
import type { ScheduleCase } from './fixture_io';

function optionsOf(c: ScheduleCase): WarmupMultiStepOptions {
  return {
    baseLr: c.base_lr,
    milestones: c.milestones,
    gamma: c.gamma,
    warmupFactor: c.warmup_factor,
    warmupIters: c.warmup_iters,
    milestoneUnit: c.unit,
    itersPerEpoch: c.iters_per_epoch,
  };
}

describe('warmupMultiStepLr (torch LinearLR + MultiStepLR)', () => {
  const cases = fixtures().schedules;

  it.each(cases.map((c, i) => [i, c.unit] as const))('case %i (%s milestones) equals torch bit for bit', (i) => {
    const c = cases[i];
    const opts = optionsOf(c);
    const sched = new WarmupMultiStepSchedule(opts);
    let worst = 0;
    c.lrs.forEach((expected, it) => {
      const pure = warmupMultiStepLr(opts, it);
      worst = Math.max(worst, Math.abs(pure - expected) / expected);
      expect(pure).toBe(expected);
      expect(sched.iteration).toBe(it);
      expect(sched.lr).toBe(expected);
      sched.step();
    });
    console.log(`schedule case ${i} (${c.unit}): ${c.lrs.length} lrs, max rel error ${worst}`);
  });

  it('differs from the closed form only by rounding, and the reference defaults apply', () => {
    const c = cases[0];
    // Reference defaults: warmupFactor 1/1000, warmupIters min(1000, itersPerEpoch - 1), gamma 0.1.
    const opts: WarmupMultiStepOptions = { baseLr: c.base_lr, milestones: c.milestones, itersPerEpoch: c.iters_per_epoch };
    const n = c.warmup_iters;
    for (let it = 0; it < c.lrs.length; it++) {
      expect(warmupMultiStepLr(opts, it)).toBe(c.lrs[it]);
      if (it <= n) {
        const closed = c.base_lr * (c.warmup_factor + ((1 - c.warmup_factor) * it) / n);
        expect(Math.abs(warmupMultiStepLr(opts, it) - closed) / closed).toBeLessThan(1e-12);
      }
    }
  });

  it('setState resumes at the same lr and continues identically', () => {
    const opts = optionsOf(fixtures().schedules[2]);
    const a = new WarmupMultiStepSchedule(opts);
    for (let i = 0; i < 7; i++) a.step();
    const b = new WarmupMultiStepSchedule(opts);
    b.setState(a.getState());
    expect(b.lr).toBe(a.lr);
    for (let i = 0; i < 30; i++) expect(b.step()).toBe(a.step());
    const target = { lr: 0 };
    b.apply(target);
    expect(target.lr).toBe(fixtures().schedules[2].lrs[37]);
  });

  it('rejects bad options with the argument named', () => {
    expect(() => warmupMultiStepLr({ baseLr: 0.02, milestones: [2] }, 0)).toThrow(/itersPerEpoch/);
    expect(() => warmupMultiStepLr({ baseLr: 0.02, milestones: [2], itersPerEpoch: 1 }, 0)).toThrow(/warmupIters/);
    expect(() => warmupMultiStepLr({ baseLr: 0.02, milestones: [2], itersPerEpoch: 8, warmupIters: 9 }, 0)).toThrow(
      /must not exceed itersPerEpoch/,
    );
    expect(() => warmupMultiStepLr({ baseLr: 0.02, milestones: [1.5], milestoneUnit: 'iteration' }, 0)).toThrow(/milestones/);
    expect(() => warmupMultiStepLr({ baseLr: 0.02, milestones: [], milestoneUnit: 'iteration', warmupFactor: 0 }, 0)).toThrow(
      /warmupFactor/,
    );
    expect(() => warmupMultiStepLr({ baseLr: -1, milestones: [], milestoneUnit: 'iteration' }, 0)).toThrow(/baseLr/);
    expect(() => warmupMultiStepLr({ baseLr: 0.02, milestones: [], milestoneUnit: 'iteration' }, -1)).toThrow(/iteration/);
    expect(() => new WarmupMultiStepSchedule({ baseLr: 0.02, milestones: [], milestoneUnit: 'iteration' }).setState({ iteration: 0.5 })).toThrow(
      /setState/,
    );
  });

  it('handles long schedules cheaply (reference 26 epochs x 7330 iterations)', () => {
    const opts: WarmupMultiStepOptions = { baseLr: 0.02, milestones: [16, 22], itersPerEpoch: 7330 };
    expect(warmupMultiStepLr(opts, 0)).toBeCloseTo(2e-5, 15);
    expect(warmupMultiStepLr(opts, 999)).toBeLessThan(0.02);
    expect(warmupMultiStepLr(opts, 1000)).toBeCloseTo(0.02, 12);
    expect(warmupMultiStepLr(opts, 16 * 7330 - 1)).toBeCloseTo(0.02, 12);
    expect(warmupMultiStepLr(opts, 16 * 7330)).toBeCloseTo(0.002, 13);
    expect(warmupMultiStepLr(opts, 26 * 7330 - 1)).toBeCloseTo(0.0002, 14);
  });
});
