/**
 * A small seeded pseudo-random generator (sfc32, seeded through splitmix32) whose whole state is
 * four 32-bit words, so training checkpoints can store it and resume the exact same stream.
 *
 * `Math.random` cannot be seeded and its state cannot be saved; every random choice in data
 * loading and training goes through {@link Rng} instead.
 */

/** The full state of an {@link Rng}: four unsigned 32-bit words. Plain data, JSON-serializable. */
export interface RngState {
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly d: number;
}

/** splitmix32 step: spreads the bits of a seed so that nearby seeds give unrelated streams. */
function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function checkSeedPart(name: string, v: number): void {
  if (!Number.isFinite(v) || !Number.isInteger(v)) {
    throw new Error(`Error in ${name}: seed parts must be finite integers, got ${v}`);
  }
}

/**
 * Hashes a list of integers (a seed, an epoch, a sample index, ...) into one 32-bit seed.
 *
 * Data loading derives each sample's generator from `(seed, epoch, index)` with this, so the
 * random choices of a sample do not depend on the order in which prefetching finishes.
 *
 * @example
 * ```ts
 * const rng = new Rng(hashSeed(42, epoch, sampleIndex));
 * ```
 */
export function hashSeed(...parts: number[]): number {
  let h = 0x2545f491;
  for (const p of parts) {
    checkSeedPart('hashSeed', p);
    // Fold in the low and high 32 bits so seeds above 2^32 stay distinct.
    const lo = p >>> 0;
    const hi = Math.floor(p / 4294967296) >>> 0;
    h = splitmix32(h ^ lo);
    h = splitmix32(h ^ hi);
  }
  return h;
}

/**
 * Seeded generator (sfc32). Not cryptographic.
 *
 * @example
 * ```ts
 * const rng = new Rng(7);
 * const x = rng.float();          // in [0, 1)
 * const saved = rng.getState();   // store in a checkpoint
 * const again = Rng.fromState(saved);
 * again.float() === rng.float();  // true
 * ```
 */
export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  /** @param seed any finite integer (it is hashed, so 0, 1, 2 give unrelated streams). */
  constructor(seed: number) {
    checkSeedPart('Rng', seed);
    let s = hashSeed(seed);
    this.a = s = splitmix32(s);
    this.b = s = splitmix32(s);
    this.c = s = splitmix32(s);
    this.d = 1; // sfc32's counter; any start value works
    // Warm up: the first outputs of sfc32 are weakly mixed.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Restores a generator from {@link Rng.getState}. */
  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.setState(state);
    return r;
  }

  /** The full state; `Rng.fromState(rng.getState())` continues the same stream. */
  getState(): RngState {
    return { a: this.a >>> 0, b: this.b >>> 0, c: this.c >>> 0, d: this.d >>> 0 };
  }

  /** Replaces the state (see {@link Rng.getState}). */
  setState(state: RngState): void {
    for (const k of ['a', 'b', 'c', 'd'] as const) {
      const v = (state as unknown as Record<string, unknown>)[k];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        throw new Error(`Error in Rng.setState: state.${k} must be an unsigned 32-bit integer, got ${String(v)}`);
      }
    }
    this.a = state.a | 0;
    this.b = state.b | 0;
    this.c = state.c | 0;
    this.d = state.d | 0;
  }

  /** Next unsigned 32-bit integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  float(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [lo, hi) (hi exclusive). */
  int(lo: number, hi: number): number {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi <= lo) {
      throw new Error(`Error in Rng.int: need integers lo < hi, got lo=${lo}, hi=${hi}`);
    }
    return lo + Math.floor(this.float() * (hi - lo));
  }

  /** true with probability p. */
  bernoulli(p: number): boolean {
    return this.float() < p;
  }

  /** Standard normal sample (Box-Muller; no cached second value, so the state stays 4 words). */
  normal(): number {
    const u = 1 - this.float(); // (0, 1]
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** One element of a non-empty array, uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Error in Rng.pick: the array is empty');
    return items[this.int(0, items.length)];
  }

  /** Shuffles in place (Fisher-Yates) and returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  /** A permutation of 0..n-1. */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    return this.shuffle(p);
  }
}
