/**
 * Helpers for the wasm-vs-cpu kernel tests: seeded data, running one computation on a named
 * backend, and the relative error max|wasm - cpu| / max|cpu|.
 */
import * as tf from '@tensorflow/tfjs';
import { TestBackend, useBackend } from '../support/backends';

/** The tolerance the kernels must meet against the cpu backend. */
export const REL_TOL = 1e-4;

/** Deterministic values in [-1, 1) (mulberry32). */
export function seeded(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/** A seeded float32 tensor of `shape`. */
export function seededTensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(seeded(shape.reduce((a, b) => a * b, 1), seed), shape);
}

/** Runs `f` on `backend` inside a tidy and returns its outputs as plain arrays with shapes. */
export async function computeOn(
  backend: TestBackend,
  f: () => tf.Tensor | tf.Tensor[],
): Promise<{ values: Float32Array[]; shapes: number[][] }> {
  await useBackend(backend);
  const outs = tf.tidy(() => {
    const r = f();
    return Array.isArray(r) ? r : [r];
  });
  const values = outs.map((t) => Float32Array.from(t.dataSync()));
  const shapes = outs.map((t) => t.shape);
  tf.dispose(outs);
  return { values, shapes };
}

/** max|a - b| / max|b| (0 when both are all zero). */
export function relErr(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`relErr: lengths differ (${a.length} vs ${b.length})`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  if (Number.isNaN(diff)) return Number.POSITIVE_INFINITY;
  return scale === 0 ? diff : diff / scale;
}

/** Computes `f` on cpu and on wasm; returns the relative error of each output (shapes checked). */
export async function wasmVsCpu(f: () => tf.Tensor | tf.Tensor[]): Promise<number[]> {
  const cpu = await computeOn('cpu', f);
  const wasm = await computeOn('wasm', f);
  expect(wasm.shapes).toEqual(cpu.shapes);
  return wasm.values.map((v, i) => {
    // A zero reference would make the ratio meaningless; the cases are built to avoid it.
    expect(Math.max(...Array.from(cpu.values[i]).map(Math.abs))).toBeGreaterThan(0);
    return relErr(v, cpu.values[i]);
  });
}

/** Collects `name: error` lines and prints them once (the figures the tests are judged on). */
export class Figures {
  private readonly lines: string[] = [];
  constructor(private readonly title: string) {}
  add(name: string, errors: number[]): void {
    this.lines.push(`${name}: ${errors.map((e) => e.toExponential(2)).join(', ')}`);
  }
  print(): void {
    // eslint-disable-next-line no-console
    console.log(`${this.title} (max|wasm - cpu| / max|cpu|)\n  ${this.lines.join('\n  ')}`);
  }
}

/** Number of data buffers the active backend holds (catches leaks inside kernels). */
export function backendDataIds(): number {
  return (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
}
