/**
 * Quantized weight shards in TF.js's own manifest convention, so that `tf.io.decodeWeights` and
 * every TF.js loader read them back: a quantized spec keeps `dtype: 'float32'` and gains
 * `quantization: { dtype: 'float16' }` (IEEE half-precision bits) or
 * `quantization: { dtype: 'uint8', scale, min }` (one byte per value, decoded as
 * `code * scale + min`, tfjs-core io_utils.ts `decodeWeight`).
 *
 * What is quantized: float32 tensors of rank 2 or more with at least `minElements` values, i.e.
 * the conv and linear weights that hold nearly all the bytes. Biases and the FrozenBatchNorm
 * buffers stay float32: they are 1-D (at most 2048 values, layer4's batch norm; `fc6.bias` is
 * 1024), a fraction of a percent of the bytes, and each value is added to or multiplies a whole
 * channel, so their error is not averaged away the way a conv weight's is. int32 tensors are
 * never quantized. A tensor the format cannot hold stays float32 too: uint8 with a non-finite
 * value, float16 with a finite value beyond its range (|w| >= 65520 would become infinity).
 */
import * as tf from '@tensorflow/tfjs';
import { weightSpecBytes } from './file_handler';

/**
 * How {@link quantizeWeightData} (and so `saveWeights` and `MaskRCNNModel.save`) stores the
 * float32 weights it quantizes: `'float16'` (2 bytes a value, about 3 significant digits) or
 * `'uint8'` (1 byte a value, 256 evenly spaced levels between each tensor's min and max).
 *
 * @example
 * ```ts
 * const q: WeightQuantization = 'float16';
 * await model.save('file://weights/shapes', { quantization: q });
 * ```
 */
export type WeightQuantization = 'float16' | 'uint8';

/**
 * The valid values of {@link WeightQuantization}.
 *
 * @example
 * ```ts
 * if (!WEIGHT_QUANTIZATIONS.includes(flag as WeightQuantization)) throw new Error(`--quantize: ${flag}`);
 * ```
 */
export const WEIGHT_QUANTIZATIONS: readonly WeightQuantization[] = ['float16', 'uint8'];

/**
 * Default {@link QuantizeOptions.minElements}: tensors smaller than this stay float32. The
 * rank rule already keeps every bias and batch-norm buffer; this keeps the few small weight
 * matrices too (the RPN's 1x1 objectness conv, 256 x 3 = 768 values; a 2-class mask predictor)
 * whose bytes do not matter and whose every value feeds a final score.
 *
 * @example
 * ```ts
 * await model.save('file://out', { quantization: 'uint8', minElements: DEFAULT_QUANTIZE_MIN_ELEMENTS * 4 });
 * ```
 */
export const DEFAULT_QUANTIZE_MIN_ELEMENTS = 1024;

/**
 * Metadata key of model.json's `userDefinedMetadata` recording the quantization of a save
 * (absent for float32 saves). The per-weight `quantization` fields are what loaders follow.
 *
 * @example
 * ```ts
 * const json = JSON.parse(fs.readFileSync('weights/shapes/model.json', 'utf8'));
 * json.userDefinedMetadata[QUANTIZATION_METADATA_KEY]; // 'uint8'
 * ```
 */
export const QUANTIZATION_METADATA_KEY = 'quantization';

/**
 * Quantization options of {@link quantizeWeightData}, `saveWeights` and `MaskRCNNModel.save`.
 *
 * @example
 * ```ts
 * const options: QuantizeOptions = { quantization: 'uint8' }; // minElements 1024
 * await model.save('file://weights/shapes', options);
 * ```
 */
export interface QuantizeOptions {
  /** How to store float32 weights; default: not quantized (float32, as saved before). */
  readonly quantization?: WeightQuantization;
  /**
   * Float32 tensors (of rank >= 2) with fewer values than this stay float32; default
   * {@link DEFAULT_QUANTIZE_MIN_ELEMENTS}.
   */
  readonly minElements?: number;
}

/**
 * Checks quantization options; the error names the function and lists the valid values.
 *
 * @example
 * ```ts
 * checkQuantizeOptions({ quantization: 'int8' as WeightQuantization }, 'save');
 * // Error in save: options.quantization is 'int8'; expected 'float16', 'uint8' or undefined (float32)
 * ```
 */
export function checkQuantizeOptions(options: QuantizeOptions, fn: string): void {
  const q: unknown = options.quantization;
  if (q !== undefined && !WEIGHT_QUANTIZATIONS.includes(q as WeightQuantization)) {
    throw new Error(`Error in ${fn}: options.quantization is ${describe(q)}; expected ${WEIGHT_QUANTIZATIONS.map((v) => `'${v}'`).join(', ')} or undefined (float32)`);
  }
  const m: unknown = options.minElements;
  if (m !== undefined && !(typeof m === 'number' && Number.isSafeInteger(m) && m >= 0)) {
    throw new Error(`Error in ${fn}: options.minElements is ${describe(m)}; expected an integer >= 0`);
  }
}

function describe(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : typeof v === 'number' || v === undefined ? String(v) : JSON.stringify(v);
}

/**
 * IEEE 754 half-precision bits of float32 values, rounded to nearest, ties to even. Values of
 * magnitude 65520 and above become infinity, values below 2^-25 (half the smallest subnormal)
 * become a signed zero, values in between the normal range and that keep what subnormals can
 * hold; infinities stay infinities and NaN stays NaN (quiet, sign kept).
 *
 * @example
 * ```ts
 * float32ToFloat16(new Float32Array([1, -2, 65504, 65520])); // Uint16Array [0x3c00, 0xc000, 0x7bff, 0x7c00]
 * ```
 */
export function float32ToFloat16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfBits(bits[i]);
  return out;
}

function halfBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  // Half-precision biased exponent: (exp - 127) + 15.
  const e = exp - 112;
  if (e >= 31) return sign | 0x7c00;
  if (e >= 1) {
    // Exponent and mantissa shifted together, so a mantissa carry bumps the exponent (and
    // 65520 = 0x7bff + one half rounds, to even, to 0x7c00: infinity, as IEEE requires).
    return sign | shiftRoundEven((e << 23) | mant, 13);
  }
  // Subnormal result: value = m * 2^(e - 15 - 23) = q * 2^-24, so q = m >> (14 - e). Below
  // e = -10 even the implicit bit is under half of the smallest subnormal.
  if (e < -10) return sign;
  return sign | shiftRoundEven(mant | 0x800000, 14 - e);
}

/** m >> shift, rounded to nearest, ties to even (shift 1..24). */
function shiftRoundEven(m: number, shift: number): number {
  const q = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q;
}

/**
 * One tensor quantized to bytes by {@link quantizeUint8}; `code * scale + min` is the value.
 *
 * @example
 * ```ts
 * const { codes, scale, min }: Uint8Quantized = quantizeUint8(new Float32Array([-1, 0, 1]));
 * ```
 */
export interface Uint8Quantized {
  readonly codes: Uint8Array;
  readonly scale: number;
  readonly min: number;
}

/**
 * Affine uint8 quantization of one tensor: `min = min(w)`, `scale = (max(w) - min) / 255`, each
 * code the nearest level (`round((w - min) / scale)`), so a value decodes within `scale / 2`
 * (and min and max exactly). A constant tensor gets `scale = 1` and all-zero codes (as TF.js's
 * converter does), which decode exactly to `min`. The values must be finite.
 *
 * @example
 * ```ts
 * quantizeUint8(new Float32Array([-1, 0, 0.5, 1])); // codes [0, 128, 191, 255], scale 2/255, min -1
 * ```
 */
export function quantizeUint8(values: Float32Array): Uint8Quantized {
  let min = Infinity;
  let max = -Infinity;
  // The loops read no global (Math, Number, even Infinity): under jest's vm context each read is
  // a slow lookup, and the 44M weights of ResNet-50 took 49 s instead of under 1.
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v - v !== 0) throw new Error(`Error in quantizeUint8: value ${i} is ${v}; uint8 holds finite values only`);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const codes = new Uint8Array(values.length);
  // min + 0: -0 would be written to JSON as 0 anyway.
  if (values.length === 0 || max === min) return { codes, scale: 1, min: values.length === 0 ? 0 : min + 0 };
  const scale = (max - min) / 255;
  for (let i = 0; i < values.length; i++) {
    // Round half up (x >= 0); the Uint8Array store would wrap, so clamp the last ulp first.
    const x = (values[i] - min) / scale + 0.5;
    codes[i] = x >= 255 ? 255 : x;
  }
  return { codes, scale, min: min + 0 };
}

/**
 * Quantizes encoded weights (`tf.io.encodeWeights` output, no quantization yet): each float32
 * spec of rank >= 2 with at least `minElements` values is stored as `options.quantization`
 * (see the module comment for what is kept float32 and why); other specs and their bytes are
 * copied unchanged. Without `options.quantization` the input is returned as is.
 *
 * @example
 * ```ts
 * const { data, specs } = await tf.io.encodeWeights({ w: tf.randomNormal([64, 64]), b: tf.zeros([64]) });
 * const q = quantizeWeightData(data, specs, { quantization: 'uint8' });
 * // q.specs[0].quantization: { dtype: 'uint8', scale, min }; q.specs[1] stays float32
 * const back = tf.io.decodeWeights(q.data, q.specs);
 * ```
 */
export function quantizeWeightData(
  data: ArrayBuffer,
  specs: readonly tf.io.WeightsManifestEntry[],
  options: QuantizeOptions,
): { data: ArrayBuffer; specs: tf.io.WeightsManifestEntry[] } {
  checkQuantizeOptions(options, 'quantizeWeightData');
  const kind = options.quantization;
  if (kind === undefined) return { data, specs: [...specs] };
  const minElements = options.minElements ?? DEFAULT_QUANTIZE_MIN_ELEMENTS;
  const parts: Uint8Array[] = [];
  const out: tf.io.WeightsManifestEntry[] = [];
  let offset = 0;
  for (const spec of specs) {
    if (spec.quantization !== undefined) throw new Error(`Error in quantizeWeightData: weight '${spec.name}' is quantized already`);
    const bytes = weightSpecBytes(spec, 'quantizeWeightData');
    if (offset + bytes > data.byteLength) throw new Error(`Error in quantizeWeightData: the weight data ends inside weight '${spec.name}'`);
    const raw = new Uint8Array(data, offset, bytes);
    offset += bytes;
    const size = bytes / 4;
    const q = spec.dtype === 'float32' && spec.shape.length >= 2 && size >= minElements ? quantizeOne(new Float32Array(raw.slice().buffer), kind) : undefined;
    if (q === undefined) {
      parts.push(raw);
      out.push({ ...spec });
    } else {
      parts.push(q.bytes);
      out.push({ ...spec, quantization: q.quantization });
    }
  }
  if (offset !== data.byteLength) throw new Error(`Error in quantizeWeightData: the weight data has ${data.byteLength} bytes, its specs ${offset}`);
  const all = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.byteLength;
  }
  return { data: all.buffer, specs: out };
}

type Quantization = NonNullable<tf.io.WeightsManifestEntry['quantization']>;

/** The stored bytes and manifest field of one float32 tensor, or undefined to keep it float32. */
function quantizeOne(values: Float32Array, kind: WeightQuantization): { bytes: Uint8Array; quantization: Quantization } | undefined {
  if (kind === 'uint8') {
    for (let i = 0; i < values.length; i++) if (values[i] - values[i] !== 0) return undefined; // NaN or infinite
    const { codes, scale, min } = quantizeUint8(values);
    return { bytes: codes, quantization: { dtype: 'uint8', scale, min } };
  }
  const half = float32ToFloat16(values);
  for (let i = 0; i < half.length; i++) {
    // A finite weight that overflows to infinity would poison every output it touches.
    if ((half[i] & 0x7fff) === 0x7c00 && values[i] - values[i] === 0) return undefined;
  }
  return { bytes: new Uint8Array(half.buffer), quantization: { dtype: 'float16' } };
}
