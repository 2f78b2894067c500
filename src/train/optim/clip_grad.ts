/**
 * Gradient clipping by global L2 norm, as torch.nn.utils.clip_grad_norm_ (torch 1.13, norm 2):
 *
 *     total = || [ ||g_1||, ..., ||g_P|| ] ||        (float32, per-tensor norms first)
 *     coef  = maxNorm / (total + 1e-6)
 *     g_i   = g_i * min(coef, 1)
 *
 * tfjs has no clip-by-global-norm. tfjs tensors are immutable, so the clipped gradients are new
 * tensors rather than an in-place change.
 */
import * as tf from '@tensorflow/tfjs';
import { NonFiniteGradientError } from './errors';
import { nonFiniteIndices } from './optimizer';

/** Options of {@link clipGradNorm}. */
export interface ClipGradNormOptions {
  /**
   * Throw {@link NonFiniteGradientError} (naming the keys with NaN/Infinity) when the total norm
   * is not finite, like torch's `error_if_nonfinite=True`. Default false: the gradients are then
   * returned unscaled (torch would multiply them all by NaN), so that an optimizer's finite check
   * still names the culprits.
   */
  errorIfNonfinite?: boolean;
}

/** Result of {@link clipGradNorm}. */
export interface ClipGradNormResult {
  /** Total L2 norm of the gradients before clipping (torch's return value). */
  readonly totalNorm: number;
  /** Whether the gradients were scaled down (coef < 1). */
  readonly clipped: boolean;
  /** Gradients after clipping, same keys; new tensors owned by the caller (inputs untouched). */
  readonly grads: Map<string, tf.Tensor>;
}

/**
 * Scales all gradients together so that their global L2 norm is at most `maxNorm`.
 *
 * @param grads gradients by state-dict key; not disposed.
 * @param maxNorm largest allowed total norm (> 0).
 * @example
 * ```ts
 * const { totalNorm, grads: clipped } = clipGradNorm(grads, 10);
 * opt.step(clipped);
 * tf.dispose([...clipped.values()]);
 * ```
 */
export function clipGradNorm(
  grads: ReadonlyMap<string, tf.Tensor>,
  maxNorm: number,
  options: ClipGradNormOptions = {},
): ClipGradNormResult {
  if (typeof maxNorm !== 'number' || !(maxNorm > 0) || !Number.isFinite(maxNorm)) {
    throw new Error(`clipGradNorm: maxNorm must be a finite number > 0, got ${String(maxNorm)}`);
  }
  const keys = [...grads.keys()];
  const tensors = [...grads.values()];
  tensors.forEach((g, i) => {
    if (g.isDisposed) throw new Error(`clipGradNorm: gradient for '${keys[i]}' is disposed`);
    if (g.dtype !== 'float32') throw new Error(`clipGradNorm: gradient for '${keys[i]}' is ${g.dtype}, expected float32`);
  });
  if (tensors.length === 0) return { totalNorm: 0, clipped: false, grads: new Map() };

  // Per-tensor norms, then the norm of those, as torch does (the float32 result depends on it).
  const [totalNorm, coef] = tf.tidy(() => {
    // Inner tidies free each full-size square at once.
    const norms = tf.stack(tensors.map((g) => tf.tidy(() => tf.sqrt(tf.sum(tf.square(g)))))); // [P]
    const total = tf.sqrt(tf.sum(tf.square(norms)));
    const c = tf.div(tf.scalar(maxNorm), tf.add(total, 1e-6));
    return tf.stack([total, c]).dataSync();
  });
  if (!Number.isFinite(totalNorm)) {
    if (options.errorIfNonfinite === true) {
      const bad = new Set(nonFiniteIndices(tensors));
      const names = keys.filter((_, i) => bad.has(i));
      throw new NonFiniteGradientError('clipGradNorm', names);
    }
    return { totalNorm, clipped: false, grads: new Map(keys.map((k, i) => [k, tensors[i].clone()])) };
  }
  // torch multiplies by min(coef, 1) always; multiplying by 1 is exact, so only scale when needed.
  const clipped = coef < 1;
  const out = new Map<string, tf.Tensor>();
  tf.tidy(() => {
    const c = tf.scalar(coef);
    keys.forEach((k, i) => out.set(k, tf.keep(clipped ? tf.mul(tensors[i], c) : tensors[i].clone())));
  });
  return { totalNorm, clipped, grads: out };
}
