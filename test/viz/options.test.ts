import { checkOptions, describeValue, OPTION_CHECKS, resolveTextScale } from '../../src/viz/options';

describe('stage picture options', () => {
  const checks = { lineWidth: OPTION_CHECKS.integer(1), legend: OPTION_CHECKS.boolean, range: OPTION_CHECKS.range };

  test('valid options come back as given; none is {}', () => {
    expect(checkOptions({ lineWidth: 2, legend: false }, checks, 'f')).toEqual({ lineWidth: 2, legend: false });
    expect(checkOptions(undefined, checks, 'f')).toEqual({});
    expect(checkOptions({ lineWidth: undefined }, checks, 'f')).toEqual({ lineWidth: undefined });
  });

  test('every unknown option and bad value in one error, with the valid names', () => {
    let message = '';
    try {
      checkOptions({ lineWidth: 0, legend: 'yes', colour: 1, range: [2, 1] } as never, checks, 'drawSomething');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.split('\n')).toEqual([
      'Error in drawSomething: invalid options:',
      '  colour: unknown option (valid options: lineWidth, legend, range)',
      '  lineWidth: must be an integer >= 1, got 0',
      "  legend: must be true or false, got 'yes'",
      '  range: must be [lo, hi], finite numbers with lo < hi, got [2,1]',
    ]);
    expect(() => checkOptions([] as never, checks, 'f')).toThrow(/options must be an object, got \[\]/);
  });

  test('checks of colours, ranges, integer bounds', () => {
    expect(OPTION_CHECKS.color([0, 128, 255])).toBeUndefined();
    expect(OPTION_CHECKS.color([0, 128, 256])).toMatch(/colour/);
    expect(OPTION_CHECKS.colors([[0, 0, 0]])).toBeUndefined();
    expect(OPTION_CHECKS.colors([])).toMatch(/non-empty/);
    expect(OPTION_CHECKS.integer(1, 3)(4)).toBe('must be an integer in [1, 3]');
    expect(OPTION_CHECKS.range([0, Infinity])).toMatch(/finite/);
    expect(OPTION_CHECKS.colormap('greys')).toBeUndefined();
    expect(describeValue(Float32Array.of(1, 2))).toBe('Float32Array(2)');
  });

  test("resolveTextScale: 'auto' grows with the short side, 1 below 800", () => {
    expect(resolveTextScale('auto', 799, 2000)).toBe(1);
    expect(resolveTextScale('auto', 1333, 800)).toBe(2);
    expect(resolveTextScale(undefined, 100, 100)).toBe(1);
    expect(resolveTextScale(3, 10, 10)).toBe(3);
  });
});
