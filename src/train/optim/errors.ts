/**
 * Errors thrown by the optimizers, typed so that a training loop can tell a bad batch (non-finite
 * gradients: skip it, lower the lr) from a programming error (a gradient for a frozen weight).
 */

/**
 * One or more gradients hold NaN or Infinity. Nothing was updated: parameters, optimizer state
 * and the step count are as they were before the call.
 *
 * @example
 * ```ts
 * try {
 *   opt.step(grads);
 * } catch (e) {
 *   if (e instanceof NonFiniteGradientError) console.warn(`skipped batch: ${e.keys.join(', ')}`);
 *   else throw e;
 * }
 * ```
 */
export class NonFiniteGradientError extends Error {
  /** State-dict keys whose gradient is not finite, in the order the parameters were given. */
  readonly keys: readonly string[];

  constructor(where: string, keys: readonly string[]) {
    const shown = keys.slice(0, 8).join(', ') + (keys.length > 8 ? `, ... (${keys.length} in all)` : '');
    super(`${where}: non-finite gradient (NaN or Infinity) for ${shown}; no parameter was updated`);
    this.name = 'NonFiniteGradientError';
    this.keys = keys;
  }
}

/**
 * A gradient was passed for a parameter the optimizer must not update: a frozen weight
 * (`variable.trainable === false`, such as FrozenBatchNorm statistics or a frozen backbone stage)
 * or a key the optimizer does not manage. Nothing was updated.
 *
 * @example
 * ```ts
 * // grads holds 'body.bn1.running_mean', which is frozen:
 * expect(() => opt.step(grads)).toThrow(FrozenParameterError);
 * ```
 */
export class FrozenParameterError extends Error {
  /** The offending state-dict key. */
  readonly key: string;

  constructor(where: string, key: string, why: string) {
    super(`${where}: gradient given for '${key}', ${why}; no parameter was updated`);
    this.name = 'FrozenParameterError';
    this.key = key;
  }
}
