import { concatTargets } from '../../src/targets/concat';

describe('concatTargets', () => {
  it('joins per-image arrays in image order, keeping the element type', () => {
    const f = concatTargets([Float32Array.of(1, 0), new Float32Array(0), Float32Array.of(-1)]);
    expect(f).toBeInstanceOf(Float32Array);
    expect(Array.from(f)).toEqual([1, 0, -1]);
    const i = concatTargets([Int32Array.of(3), Int32Array.of(4, 5)]);
    expect(i).toBeInstanceOf(Int32Array);
    expect(Array.from(i)).toEqual([3, 4, 5]);
  });

  it('rejects an empty list and mixed types', () => {
    expect(() => concatTargets([])).toThrow('Error in concatTargets: parts is empty');
    expect(() => concatTargets([Float32Array.of(1), Int32Array.of(2)] as Float32Array[])).toThrow(
      'Error in concatTargets: parts[1] is a Int32Array, parts[0] a Float32Array',
    );
  });
});
