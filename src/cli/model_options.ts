/** Option parsing shared by the commands that load a model. */
import { InvalidArgumentError } from 'commander';

/** Parses a number in [lo, hi] for commander, naming the option in the error. */
export function numberIn(lo: number, hi: number, integer = false): (value: string) => number {
  return (value: string) => {
    const v = Number(value);
    if (value.trim() === '' || !Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
      throw new InvalidArgumentError(`expected ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}], got '${value}'`);
    }
    return v;
  };
}
