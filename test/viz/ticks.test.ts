import { linearAxis, linearTicks, niceStep, niceTicks, tickLabel } from '../../src/viz/ticks';

const labels = (ticks: readonly { label: string }[]): string[] => ticks.map((t) => t.label);

describe('ticks', () => {
  test('niceStep: the smallest 1, 2 or 5 times a power of ten at or above the raw step', () => {
    expect([0.3, 7, 2, 0.01, 0.011, 120, 5].map(niceStep)).toEqual([0.5, 10, 2, 0.01, 0.02, 200, 5]);
  });

  test('tickLabel: decimals from the step, exponential below 0.001', () => {
    expect(tickLabel(0.30000000000000004, 0.1)).toBe('0.3');
    expect(tickLabel(0, 0.1)).toBe('0');
    expect(tickLabel(20, 10)).toBe('20');
    expect(tickLabel(0.00015, 0.00005)).toBe('1.5e-4');
  });

  test('linearTicks and linearAxis from 0', () => {
    expect(labels(linearTicks(1, 0.5))).toEqual(['0', '0.5', '1']);
    const axis = linearAxis(37, 5);
    expect(axis.hi).toBe(40);
    expect(labels(axis.ticks)).toEqual(['0', '10', '20', '30', '40']);
    const counts = linearAxis(3, 10, 1);
    expect(counts.hi).toBe(3);
    expect(labels(counts.ticks)).toEqual(['0', '1', '2', '3']);
  });

  test('niceTicks: round values inside [lo, hi], ends included', () => {
    expect(labels(niceTicks(0, 1, 4))).toEqual(['0', '0.5', '1']);
    expect(labels(niceTicks(-1, 1, 4))).toEqual(['-1', '-0.5', '0', '0.5', '1']);
    expect(labels(niceTicks(0.05, 0.95, 5))).toEqual(['0.2', '0.4', '0.6', '0.8']);
    expect(niceTicks(0.1, 0.3, 2).map((t) => t.value)).toEqual([0.1, 0.2, 0.3]);
  });
});
