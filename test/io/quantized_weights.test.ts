/**
 * Quantized saves (float16, uint8) in TF.js's manifest convention:
 * - the float16 encoder: known bit patterns (normal and subnormal limits, overflow to infinity,
 *   NaN, signed zeros, ties to even), every one of the 65536 half values decoded by tfjs and
 *   encoded back to the same bits, and random values against a nearest-value reference;
 * - the uint8 quantizer: error within scale / 2 of each value, min and max exact, a constant
 *   tensor exact, decoded by tfjs's own decodeWeights;
 * - which tensors are quantized (rank >= 2, at least minElements values, float32 only, what the
 *   format can hold), and the bytes a quantized spec occupies;
 * - a FeaturePyramidNetwork saved with each quantization: shard bytes, reloaded with our loader
 *   and with tf.io.decodeWeights within the error bound, biases exact, no tensor leaked;
 * - a whole MaskRCNNModel saved quantized and loaded back with `load`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { load, MaskRCNNModel } from '../../src/api/model';
import { FeaturePyramidNetwork } from '../../src/fpn/feature_pyramid_network';
import { NodeFileHandler, weightSpecBytes } from '../../src/io/file_handler';
import { loadWeights, saveWeights } from '../../src/io/native_weights';
import {
  DEFAULT_QUANTIZE_MIN_ELEMENTS,
  float32ToFloat16,
  quantizeUint8,
  quantizeWeightData,
  type WeightQuantization,
} from '../../src/io/quantization';
import { TorchLayer } from '../../src/nn/torch_layer';
import { Rng } from '../../src/util/random';
import { randomModel } from '../model/support/small_model';
import { useBackend } from '../support/backends';

/** tfjs's own decoding of stored half bits (what every TF.js loader does). */
function tfjsHalfToFloat32(bits: Uint16Array): Float32Array {
  const t = tf.io.decodeWeights(bits.slice().buffer, [{ name: 'h', shape: [bits.length], dtype: 'float32', quantization: { dtype: 'float16' } }]);
  const v = t.h.dataSync() as Float32Array;
  t.h.dispose();
  return v;
}

function tfjsUint8Decode(codes: Uint8Array, scale: number, min: number): Float32Array {
  const t = tf.io.decodeWeights(codes.slice().buffer, [{ name: 'q', shape: [codes.length], dtype: 'float32', quantization: { dtype: 'uint8', scale, min } }]);
  const v = t.q.dataSync() as Float32Array;
  t.q.dispose();
  return v;
}

const half = (v: number): number => float32ToFloat16(new Float32Array([v]))[0];

/**
 * How many decoded values `got` fall outside the quantization bound of `want`: float16, half a
 * half-ulp (2^-11 relative, at least 2^-25 below the normal range); uint8, scale / 2 plus
 * float32's rounding of the decoded value. The loop reads no global: under jest's vm context a
 * Math.abs per value makes 44M values take half a minute.
 */
function outsideBound(want: ArrayLike<number>, got: ArrayLike<number>, q: { dtype: string; scale?: number }): number {
  const rel = q.dtype === 'float16' ? 2 ** -11 : 2 ** -23;
  const floor = q.dtype === 'float16' ? 2 ** -25 : (q.scale as number) / 2;
  let outside = 0;
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    const d = got[i] - w;
    const a = w < 0 ? -w : w;
    const bound = q.dtype === 'float16' ? (a * rel > floor ? a * rel : floor) : floor + a * rel;
    if (!(d <= bound && -d <= bound)) outside++;
  }
  return outside;
}

/** Random values spread over many binades, both signs. */
function randomValues(rng: Rng, n: number, minExp: number, maxExp: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng.bernoulli(0.5) ? -1 : 1) * rng.uniform(1, 2) * 2 ** rng.int(minExp, maxExp);
  return out;
}

beforeAll(async () => {
  await useBackend('cpu');
});

describe('float32ToFloat16', () => {
  it('gives the IEEE bits of known values', () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff], // largest finite half
      [65519, 0x7bff], // below the midpoint to infinity: rounds down
      [65520, 0x7c00], // the midpoint: ties to even, and even is infinity
      [-65520, 0xfc00],
      [1e6, 0x7c00],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [0, 0x0000],
      [-0, 0x8000],
      [2 ** -14, 0x0400], // 6.1035e-5, smallest normal
      [6.1e-5, 0x03ff], // just below it: the largest subnormal
      [2 ** -14 - 2 ** -24, 0x03ff], // largest subnormal exactly
      [2 ** -14 - 2 ** -25, 0x0400], // midpoint: ties to even carries into the exponent
      [2 ** -24, 0x0001], // smallest subnormal
      [-(2 ** -24), 0x8001],
      [2 ** -25, 0x0000], // half the smallest subnormal: ties to even, to zero
      [Math.fround(2 ** -25 * (1 + 2 ** -23)), 0x0001], // just above: rounds up
      [3 * 2 ** -25, 0x0002], // midpoint of 1 and 2 (x 2^-24): to even
      [5 * 2 ** -25, 0x0002], // midpoint of 2 and 3: to even
      [2 ** -26, 0x0000],
      [1e-30, 0x0000],
      [-1e-30, 0x8000],
      [1.401298464324817e-45, 0x0000], // a float32 subnormal
      [1 + 2 ** -11, 0x3c00], // midpoint of 0x3c00 and 0x3c01: to even
      [1 + 3 * 2 ** -11, 0x3c02], // midpoint of 0x3c01 and 0x3c02: to even
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // above the midpoint
      [2049, 0x6800], // spacing 2 at 2048: midpoint, to even
      [2051, 0x6802],
      [0.1, 0x2e66],
      [-3.14159, 0xc248],
    ];
    for (const [v, bits] of cases) {
      expect([v, half(v).toString(16)]).toEqual([v, bits.toString(16)]);
    }
  });

  it('keeps NaN a NaN, sign included', () => {
    const nanBits = new Uint32Array([0x7fc00000, 0xffc00001, 0x7f800001, 0x7fbfffff]); // quiet, negative, signalling ones
    const h = float32ToFloat16(new Float32Array(nanBits.buffer));
    for (let i = 0; i < h.length; i++) {
      expect(h[i] & 0x7c00).toBe(0x7c00);
      expect(h[i] & 0x03ff).not.toBe(0);
      expect(h[i] >> 15).toBe(nanBits[i] >>> 31);
    }
    expect(Array.from(tfjsHalfToFloat32(h)).every(Number.isNaN)).toBe(true);
  });

  it('encodes each of the 65536 half values, as tfjs decodes them, back to its own bits', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const decoded = tfjsHalfToFloat32(all);
    const again = float32ToFloat16(decoded);
    const isNaNBits = (h: number): boolean => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    let wrong = 0;
    for (let i = 0; i < 65536; i++) if (isNaNBits(i) ? !isNaNBits(again[i]) : again[i] !== i) wrong++;
    expect(wrong).toBe(0);
  });

  it('rounds random values to the nearest half value, ties to even', () => {
    // Reference: every non-negative finite half value, decoded by tfjs (ascending with the bits).
    const positives = tfjsHalfToFloat32(new Uint16Array(0x7c00).map((_, i) => i));
    const reference = (v: number): number => {
      const a = Math.abs(v);
      const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
      if (a >= 65520) return sign | 0x7c00;
      let lo = 0;
      let hi = positives.length - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (positives[mid] <= a) lo = mid;
        else hi = mid;
      }
      const dl = a - positives[lo];
      const dh = positives[hi] - a;
      return sign | (dl < dh ? lo : dh < dl ? hi : lo % 2 === 0 ? lo : hi);
    };
    const rng = new Rng(11);
    const values = randomValues(rng, 20000, -27, 17);
    const h = float32ToFloat16(values);
    let wrong = 0;
    for (let i = 0; i < values.length; i++) if (h[i] !== reference(values[i])) wrong++;
    expect(wrong).toBe(0);
    // The decoded error in the normal range is at most half a half-ulp: 2^-11 relative.
    const back = tfjsHalfToFloat32(h);
    for (let i = 0; i < values.length; i++) {
      const a = Math.abs(values[i]);
      if (a >= 2 ** -14 && a < 65504) expect(Math.abs(back[i] - values[i])).toBeLessThanOrEqual(a * 2 ** -11);
    }
  });
});

describe('quantizeUint8', () => {
  it('decodes (by tfjs) within scale / 2 of each value, min and max exactly', () => {
    const rng = new Rng(5);
    for (const [lo, hi] of [[-1, 1], [-0.03, 0.05], [2, 3], [-700, -650], [-1e-4, 3e-3]]) {
      const values = new Float32Array(5000).map(() => rng.uniform(lo, hi));
      const { codes, scale, min } = quantizeUint8(values);
      const back = tfjsUint8Decode(codes, scale, min);
      let lowest = 0;
      let highest = 0;
      for (let i = 0; i < values.length; i++) {
        if (values[i] < values[lowest]) lowest = i;
        if (values[i] > values[highest]) highest = i;
        // scale / 2 from rounding to a level, plus float32's rounding of the decoded value.
        expect(Math.abs(back[i] - values[i])).toBeLessThanOrEqual(scale / 2 + Math.abs(values[i]) * 2 ** -23);
      }
      expect(min).toBe(values[lowest]);
      expect(back[lowest]).toBe(values[lowest]);
      expect(back[highest]).toBe(values[highest]);
      expect(codes[lowest]).toBe(0);
      expect(codes[highest]).toBe(255);
      expect(scale).toBeCloseTo((values[highest] - values[lowest]) / 255, 12);
    }
  });

  it('rounds to the nearest level', () => {
    const { codes, scale, min } = quantizeUint8(new Float32Array([-1, 0, 0.5, 1]));
    expect(Array.from(codes)).toEqual([0, 128, 191, 255]);
    expect(scale).toBe(2 / 255);
    expect(min).toBe(-1);
  });

  it('a constant tensor decodes exactly (scale 1, all codes 0)', () => {
    for (const c of [0, 0.7, -3.25e-5, 1e30]) {
      const values = new Float32Array(300).fill(c);
      const q = quantizeUint8(values);
      expect(q.scale).toBe(1);
      expect(Array.from(q.codes).every((x) => x === 0)).toBe(true);
      expect(tfjsUint8Decode(q.codes, q.scale, q.min)).toEqual(values);
    }
    // tfjs decodes scale 0 exactly too (code * 0 + min), so a load accepts it.
    expect(tfjsUint8Decode(new Uint8Array([0, 7, 255]), 0, 0.7)).toEqual(new Float32Array(3).fill(0.7));
  });

  it('refuses non-finite values', () => {
    expect(() => quantizeUint8(new Float32Array([0, NaN]))).toThrow(/value 1 is NaN; uint8 holds finite values only/);
  });
});

describe('quantizeWeightData', () => {
  it('quantizes float32 tensors of rank >= 2 with at least minElements values, and nothing else', async () => {
    const rng = new Rng(3);
    const random = (n: number): Float32Array => new Float32Array(n).map(() => rng.uniform(-1, 1));
    const big = new Float32Array(70000 * 2).fill(0.5);
    big[1] = 70000; // float16 would make it infinity
    const withNaN = random(2048);
    withNaN[9] = NaN;
    const named: tf.NamedTensorMap = {
      'conv.weight': tf.tensor4d(random(3 * 3 * 16 * 32), [3, 3, 16, 32]),
      'conv.bias': tf.tensor1d(random(2048)), // rank 1: a bias, whatever its size
      'small.weight': tf.tensor2d(random(1023), [1023, 1]), // below minElements
      'edge.weight': tf.tensor2d(random(1024), [32, 32]), // exactly minElements
      'counter': tf.tensor2d(new Int32Array(4096).fill(7), [64, 64], 'int32'),
      'huge.weight': tf.tensor2d(big, [70000, 2]),
      'nan.weight': tf.tensor2d(withNaN, [32, 64]),
    };
    const n = tf.memory().numTensors;
    const { data, specs } = await tf.io.encodeWeights(named);
    const f16 = quantizeWeightData(data, specs, { quantization: 'float16' });
    const u8 = quantizeWeightData(data, specs, { quantization: 'uint8' });
    const kinds = (s: tf.io.WeightsManifestEntry[]): Record<string, string> =>
      Object.fromEntries(s.map((x) => [x.name, x.quantization?.dtype ?? x.dtype]));
    expect(kinds(f16.specs)).toEqual({
      'conv.weight': 'float16',
      'conv.bias': 'float32',
      'small.weight': 'float32',
      'edge.weight': 'float16',
      counter: 'int32',
      'huge.weight': 'float32',
      'nan.weight': 'float16', // float16 holds NaN
    });
    expect(kinds(u8.specs)).toEqual({ ...kinds(f16.specs), 'conv.weight': 'uint8', 'edge.weight': 'uint8', 'huge.weight': 'uint8', 'nan.weight': 'float32' });
    expect(f16.specs.every((s) => s.dtype === named[s.name].dtype)).toBe(true);
    expect(f16.data.byteLength).toBe(data.byteLength - 2 * (4608 + 1024 + 2048));
    expect(u8.data.byteLength).toBe(data.byteLength - 3 * (4608 + 1024 + 140000));
    // Unquantized tensors come back bit for bit, quantized ones within their bound.
    const back = tf.io.decodeWeights(u8.data, u8.specs);
    for (const name of ['conv.bias', 'small.weight', 'counter', 'nan.weight']) expect(back[name].dataSync()).toEqual(named[name].dataSync());
    const conv = u8.specs.find((s) => s.name === 'conv.weight')!.quantization!;
    const err = tf.tidy(() => tf.max(tf.abs(tf.sub(back['conv.weight'], named['conv.weight']))).dataSync()[0]);
    expect(err).toBeLessThanOrEqual(conv.scale! / 2 + 2 ** -23);
    expect(quantizeWeightData(data, specs, {}).data).toBe(data);
    expect(kinds(quantizeWeightData(data, specs, { quantization: 'uint8', minElements: 0 }).specs)['small.weight']).toBe('uint8');
    expect(DEFAULT_QUANTIZE_MIN_ELEMENTS).toBe(1024);
    tf.dispose(back);
    tf.dispose(named);
    expect(tf.memory().numTensors).toBe(n - Object.keys(named).length);
  });

  it('rejects bad options, listing the valid values', () => {
    const spec: tf.io.WeightsManifestEntry[] = [{ name: 'w', shape: [1], dtype: 'float32' }];
    const data = new ArrayBuffer(4);
    expect(() => quantizeWeightData(data, spec, { quantization: 'int8' as WeightQuantization })).toThrow(
      "Error in quantizeWeightData: options.quantization is 'int8'; expected 'float16', 'uint8' or undefined (float32)",
    );
    expect(() => quantizeWeightData(data, spec, { quantization: 'uint8', minElements: -1 })).toThrow(/options.minElements is -1; expected an integer >= 0/);
    expect(() => quantizeWeightData(new ArrayBuffer(2), spec, { quantization: 'uint8' })).toThrow(/the weight data ends inside weight 'w'/);
  });
});

describe('weightSpecBytes of quantized specs', () => {
  it('counts the stored values at their quantized size; uint16 (TF.js converter) is read too', () => {
    const spec = (quantization?: tf.io.WeightsManifestEntry['quantization']): tf.io.WeightsManifestEntry => ({
      name: 'conv.weight',
      shape: [3, 3, 2, 4],
      dtype: 'float32',
      ...(quantization ? { quantization } : {}),
    });
    expect(weightSpecBytes(spec(), 'm')).toBe(288);
    expect(weightSpecBytes(spec({ dtype: 'float16' }), 'm')).toBe(144);
    expect(weightSpecBytes(spec({ dtype: 'uint8', scale: 0.1, min: -1 }), 'm')).toBe(72);
    expect(weightSpecBytes(spec({ dtype: 'uint16', scale: 0, min: 2 }), 'm')).toBe(144);
    expect(() => weightSpecBytes(spec({ dtype: 'uint16', scale: 1e34, min: 0 }), 'm')).toThrow(
      "Error loading m: weight spec 'conv.weight' has quantization min 0 and scale 1e+34, which decode beyond the float32 range",
    );
  });
});

describe('quantized saves', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskrcnn-quantized-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  // inner_blocks.0 and .1 (8 x 32 and 16 x 32 values) stay below minElements, .2 is exactly it.
  const fpn = (): FeaturePyramidNetwork => new FeaturePyramidNetwork({ inChannels: [8, 16, 32, 64], outChannels: 32 });
  const values = (l: TorchLayer): Map<string, Float32Array> => new Map([...l.stateDict()].map(([k, p]) => [k, p.variable.read().dataSync() as Float32Array]));
  const shardBytes = (folder: string): number =>
    fs.readdirSync(folder).filter((f) => f.endsWith('.bin')).reduce((a, f) => a + fs.statSync(path.join(folder, f)).size, 0);

  function randomFpn(): FeaturePyramidNetwork {
    const layer = fpn();
    let seed = 1;
    for (const [, p] of layer.stateDict()) {
      const shape = p.variable.shape as number[]; // built variables have no null dimensions
      const t = tf.tidy(() => (shape.length === 1 ? tf.randomUniform(shape, -0.5, 0.5, 'float32', seed++) : tf.randomNormal(shape, 0, 0.05, 'float32', seed++)));
      p.variable.write(t);
      t.dispose();
    }
    return layer;
  }

  it('saves float16 and uint8 shards about 2x and 4x smaller, loadable by our loader and by tf.io, biases exact, no tensor leaked', async () => {
    const source = randomFpn();
    const want = values(source);
    await saveWeights(source, `file://${path.join(dir, 'f32')}`);
    const f32 = shardBytes(path.join(dir, 'f32'));
    // 4 x 9216 + 1024 + 2048 quantized values; 256 + 512 + 8 x 32 (biases) stay float32.
    const quantized = 4 * 9216 + 1024 + 2048;
    const kept = 256 + 512 + 8 * 32;
    expect(f32).toBe(4 * (quantized + kept));
    const ratios: Record<string, number> = {};
    for (const kind of ['float16', 'uint8'] as const) {
      const folder = path.join(dir, kind);
      const n = tf.memory().numTensors;
      await saveWeights(source, `file://${folder}`, { quantization: kind });
      const bytes = shardBytes(folder);
      expect(bytes).toBe((kind === 'float16' ? 2 : 1) * quantized + 4 * kept);
      ratios[kind] = f32 / bytes;
      const json = JSON.parse(fs.readFileSync(path.join(folder, 'model.json'), 'utf8')) as tf.io.ModelJSON;
      expect(json.userDefinedMetadata?.quantization).toBe(kind);
      const specs = json.weightsManifest[0].weights;
      // Our loader.
      const target = fpn();
      await loadWeights(target, `file://${folder}`);
      const got = values(target);
      // tfjs's own decoding of the same files.
      const artifacts = await new NodeFileHandler(folder).load();
      const decoded = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
      for (const spec of specs) {
        const w = want.get(spec.name)!;
        const g = got.get(spec.name)!;
        expect(decoded[spec.name].dataSync()).toEqual(g);
        if (spec.quantization === undefined) {
          expect(g).toEqual(w); // biases and small weights bit for bit
          continue;
        }
        expect(spec.dtype).toBe('float32');
        expect(spec.quantization.dtype).toBe(kind);
        expect([spec.name, outsideBound(w, g, spec.quantization)]).toEqual([spec.name, 0]);
      }
      expect(specs.filter((s) => s.quantization !== undefined).map((s) => s.name).sort()).toEqual(
        ['inner_blocks.2.0.weight', 'inner_blocks.3.0.weight', ...[0, 1, 2, 3].map((i) => `layer_blocks.${i}.0.weight`)].sort(),
      );
      tf.dispose(decoded);
      target.dispose();
      expect(tf.memory().numTensors).toBe(n);
    }
    expect(ratios.float16).toBeGreaterThan(1.9);
    expect(ratios.uint8).toBeGreaterThan(3.6);
    // A float32 save is as before: no quantization field, no metadata key.
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'f32', 'model.json'), 'utf8')) as tf.io.ModelJSON;
    expect(json.userDefinedMetadata?.quantization).toBeUndefined();
    expect(json.weightsManifest[0].weights.every((s) => !('quantization' in s))).toBe(true);
    source.dispose();
  });

  it('a quantized save through another handler records the sha256 of the stored bytes', async () => {
    const source = randomFpn();
    let saved: tf.io.ModelArtifacts | undefined;
    await saveWeights(source, tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }), { quantization: 'uint8' });
    const integrity = (saved!.userDefinedMetadata as Record<string, { bytes: number }>).weightsIntegrity;
    expect(integrity.bytes).toBe((saved!.weightData as ArrayBuffer).byteLength);
    const target = fpn();
    await loadWeights(target, tf.io.fromMemory(saved!));
    expect(values(target).get('layer_blocks.0.0.bias')).toEqual(values(source).get('layer_blocks.0.0.bias'));
    target.dispose();
    source.dispose();
  });

  it('refuses bad options before writing anything', async () => {
    const source = fpn();
    const folder = path.join(dir, 'bad-options');
    await expect(saveWeights(source, `file://${folder}`, { quantization: 'float8' as WeightQuantization })).rejects.toThrow(
      /Error in saveWeights: options.quantization is 'float8'; expected 'float16', 'uint8' or undefined \(float32\)/,
    );
    expect(fs.existsSync(folder)).toBe(false);
    source.dispose();
  });

  it('a whole MaskRCNNModel saved quantized loads back with load(), within the bound, biases exact', async () => {
    const network = randomModel();
    const model = new MaskRCNNModel(network, ['bg', 'a', 'b', 'c', 'd'], undefined);
    const want = new Map([...network.stateDict()].map(([k, p]) => [k, p.variable.read().dataSync()]));
    const float32 = [...want.values()].reduce((a, v) => a + 4 * v.length, 0);
    const sizes: Record<string, number> = {};
    for (const kind of ['float16', 'uint8'] as const) {
      const folder = path.join(dir, `model-${kind}`);
      await model.save(`file://${folder}`, { quantization: kind });
      sizes[kind] = shardBytes(folder);
      const json = JSON.parse(fs.readFileSync(path.join(folder, 'model.json'), 'utf8')) as tf.io.ModelJSON;
      expect(json.userDefinedMetadata?.quantization).toBe(kind);
      const n = tf.memory().numTensors;
      const again = await load(folder, { backend: 'cpu' });
      expect(again.classNames).toEqual(['bg', 'a', 'b', 'c', 'd']);
      const specs = new Map(json.weightsManifest[0].weights.map((s) => [s.name, s]));
      for (const [k, p] of again.network.stateDict()) {
        const got = p.variable.read().dataSync();
        const q = specs.get(k)!.quantization;
        if (p.variable.shape.length === 1) expect(q).toBeUndefined();
        if (q === undefined) expect(got).toEqual(want.get(k));
        else expect([k, outsideBound(want.get(k)!, got, q)]).toEqual([k, 0]);
      }
      again.dispose();
      expect(tf.memory().numTensors).toBe(n);
    }
    // ResNet-50 FPN Mask R-CNN, 5 classes: 0.26% of the values (112685, 1-D or small) stay float32.
    expect(float32 / sizes.float16).toBeGreaterThan(1.98);
    expect(float32 / sizes.uint8).toBeGreaterThan(3.9);
    console.log(
      `MaskRCNN shards: float32 ${float32} B, float16 ${sizes.float16} B (${(float32 / sizes.float16).toFixed(3)}x), ` +
        `uint8 ${sizes.uint8} B (${(float32 / sizes.uint8).toFixed(3)}x)`,
    );
    model.dispose();
  });
});
