import { hashSeed, Rng } from '../../src/util/random';

describe('Rng', () => {
  test('same seed, same stream; different seeds differ', () => {
    const a = new Rng(123);
    const b = new Rng(123);
    const c = new Rng(124);
    const sa = Array.from({ length: 50 }, () => a.nextUint32());
    expect(Array.from({ length: 50 }, () => b.nextUint32())).toEqual(sa);
    const sc = Array.from({ length: 50 }, () => c.nextUint32());
    expect(sc.filter((v, i) => v === sa[i]).length).toBe(0);
  });

  test('state round trip continues the same stream, through JSON', () => {
    const r = new Rng(5);
    for (let i = 0; i < 17; i++) r.float();
    const saved = JSON.parse(JSON.stringify(r.getState()));
    const expected = Array.from({ length: 20 }, () => r.float());
    const again = Rng.fromState(saved);
    expect(Array.from({ length: 20 }, () => again.float())).toEqual(expected);
  });

  test('setState rejects a malformed state', () => {
    const r = new Rng(0);
    expect(() => r.setState({ a: 1, b: 2, c: -1, d: 4 })).toThrow(/state\.c/);
    expect(() => r.setState({ a: 1, b: 2, c: 3 } as never)).toThrow(/state\.d/);
    expect(() => new Rng(1.5)).toThrow(/finite integers/);
  });

  test('ranges and rough uniformity', () => {
    const r = new Rng(7);
    const counts = new Array(10).fill(0);
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < 20000; i++) {
      const f = r.float();
      expect(f >= 0 && f < 1).toBe(true);
      counts[r.int(0, 10)]++;
      const n = r.normal();
      sum += n;
      sq += n * n;
    }
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
    expect(Math.abs(sum / 20000)).toBeLessThan(0.05);
    expect(Math.abs(sq / 20000 - 1)).toBeLessThan(0.05);
    expect(() => r.int(3, 3)).toThrow(/lo < hi/);
    expect(() => r.pick([])).toThrow(/empty/);
  });

  test('permutation is a permutation and depends on the seed', () => {
    const p = new Rng(1).permutation(100);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(new Rng(2).permutation(100)).not.toEqual(p);
    expect(new Rng(1).permutation(100)).toEqual(p);
  });

  test('hashSeed separates its parts', () => {
    const seen = new Set<number>();
    for (let a = 0; a < 20; a++) for (let b = 0; b < 20; b++) seen.add(hashSeed(a, b));
    expect(seen.size).toBe(400);
    expect(hashSeed(1, 2)).not.toBe(hashSeed(2, 1));
    expect(hashSeed(2 ** 32)).not.toBe(hashSeed(0));
    expect(() => hashSeed(NaN)).toThrow(/finite integers/);
  });
});
