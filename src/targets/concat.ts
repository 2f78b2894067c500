/**
 * Concatenation of per-image target arrays into the batch layout the losses take (torchvision
 * `torch.cat(labels, dim=0)`): image 0's rows first, then image 1's, and so on.
 */

/**
 * Joins typed arrays end to end.
 *
 * @example
 * ```ts
 * concatTargets([Float32Array.of(1, 0), Float32Array.of(-1)]); // Float32Array [1, 0, -1]
 * ```
 */
export function concatTargets<T extends Float32Array | Int32Array>(parts: readonly T[]): T {
  if (parts.length === 0) throw new Error('Error in concatTargets: parts is empty (the element type would be unknown)');
  const total = parts.reduce((n, p) => n + p.length, 0);
  const Ctor = parts[0].constructor as new (n: number) => T;
  const out = new Ctor(total);
  let offset = 0;
  for (const [i, p] of parts.entries()) {
    if (p.constructor !== Ctor) throw new Error(`Error in concatTargets: parts[${i}] is a ${p.constructor.name}, parts[0] a ${Ctor.name}`);
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
