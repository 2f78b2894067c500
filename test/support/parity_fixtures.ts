/**
 * Access to the torchvision reference fixtures made by tools/parity/make_fixtures.py.
 *
 * They are large (the seeded model is 170 MB) and live in the git-ignored `.fixtures/parity`
 * (override with MASKRCNN_FIXTURES). In CI, `.ci/run` makes them and sets
 * MASKRCNN_REQUIRE_FIXTURES=1, which turns their absence into a failure; elsewhere the parity
 * suites are skipped with a message that says how to make them.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { MaskRCNNConfig } from '../../src/model/mask_rcnn';

/** Where a set of fixtures lives and how to make it. */
export interface FixtureSource {
  readonly dir: string;
  readonly howTo: string;
}

/** Inference fixtures: tools/parity/make_fixtures.py (override with MASKRCNN_FIXTURES). */
export const INFERENCE_FIXTURES: FixtureSource = {
  dir: path.resolve(process.env.MASKRCNN_FIXTURES ?? path.join(__dirname, '..', '..', '.fixtures', 'parity')),
  howTo: 'make them with `npm run fixtures` (needs Debian python3-torchvision and python3-skimage)',
};
/**
 * Inference fixtures of the small architecture the shipped model has (ResNet-18, 64 FPN
 * channels, light heads): `make_fixtures.py --variant small`; meta.config is its MaskRCNNConfig.
 */
export const SMALL_FIXTURES: FixtureSource = {
  dir: path.resolve(process.env.MASKRCNN_SMALL_FIXTURES ?? path.join(__dirname, '..', '..', '.fixtures', 'parity-small')),
  howTo: 'make them with `npm run fixtures` (needs Debian python3-torchvision and python3-skimage)',
};
/** The inference fixture sets, each with the name the parity tests print. */
export const INFERENCE_VARIANTS: readonly (readonly [string, FixtureSource])[] = [
  ['ResNet-50-FPN', INFERENCE_FIXTURES],
  ['ResNet-18-FPN small', SMALL_FIXTURES],
];
/** Training fixtures: tools/parity/make_training_fixtures.py (override with MASKRCNN_TRAINING_FIXTURES). */
export const TRAINING_FIXTURES: FixtureSource = {
  dir: path.resolve(process.env.MASKRCNN_TRAINING_FIXTURES ?? path.join(__dirname, '..', '..', '.fixtures', 'training')),
  howTo: 'make them with `npm run fixtures` (needs Debian python3-torchvision)',
};

interface Entry {
  shape: number[];
  dtype: 'float32' | 'int32';
  file: string;
}
interface Index {
  meta: Record<string, unknown>;
  tensors: Record<string, Entry>;
}

const cache = new Map<string, ParityFixtures | null>();

/** The fixtures, or undefined (with a console message) when absent outside CI. */
export function parityFixtures(source: FixtureSource = INFERENCE_FIXTURES): ParityFixtures | undefined {
  const hit = cache.get(source.dir);
  if (hit !== undefined) return hit ?? undefined;
  const indexPath = path.join(source.dir, 'index.json');
  if (!fs.existsSync(indexPath)) {
    if (process.env.MASKRCNN_REQUIRE_FIXTURES === '1') {
      throw new Error(`parity fixtures missing at ${source.dir} and MASKRCNN_REQUIRE_FIXTURES=1: ${source.howTo}`);
    }
    console.warn(`Skipping torchvision parity tests: no fixtures at ${source.dir}; ${source.howTo}.`);
    cache.set(source.dir, null);
    return undefined;
  }
  const fx = new ParityFixtures(source.dir, JSON.parse(fs.readFileSync(indexPath, 'utf8')) as Index);
  cache.set(source.dir, fx);
  return fx;
}

/**
 * `describe` when the fixtures exist. Outside CI, missing fixtures give a skipped block (with the
 * message above); with MASKRCNN_REQUIRE_FIXTURES=1 (set by .ci/run) they throw instead.
 */
export function describeParity(title: string, body: (fx: ParityFixtures) => void, source: FixtureSource = INFERENCE_FIXTURES): void {
  const fx = parityFixtures(source);
  if (fx) describe(title, () => body(fx));
  else describe.skip(`${title} (fixtures missing)`, () => it('needs fixtures', () => undefined));
}

export class ParityFixtures {
  constructor(
    readonly dir: string,
    private readonly index: Index,
  ) {}

  get meta(): Record<string, unknown> {
    return this.index.meta;
  }

  /** The model configuration the fixtures were made with (`{}`: maskrcnn_resnet50_fpn). */
  get config(): MaskRCNNConfig {
    return (this.index.meta.config ?? {}) as MaskRCNNConfig;
  }

  get checkpointPath(): string {
    return path.join(this.dir, 'maskrcnn_seeded.pth');
  }

  /** A file of the fixture folder. */
  file(name: string): string {
    return path.join(this.dir, name);
  }

  imagePath(name: string): string {
    return path.join(this.dir, 'images', `${name}.png`);
  }

  has(name: string): boolean {
    return name in this.index.tensors;
  }

  /** The tensor as torchvision laid it out (NCHW for feature maps). */
  raw(name: string): tf.Tensor {
    const { data, shape, dtype } = this.values(name);
    return tf.tensor(data, shape, dtype);
  }

  /** The values without making a tensor. */
  values(name: string): { data: Float32Array | Int32Array; shape: number[]; dtype: 'float32' | 'int32' } {
    const e = this.index.tensors[name];
    if (!e) throw new Error(`fixture tensor ${name} not in ${this.dir}/index.json; regenerate the fixtures`);
    const buf = fs.readFileSync(path.join(this.dir, e.file));
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    return { data: e.dtype === 'int32' ? new Int32Array(ab) : new Float32Array(ab), shape: e.shape, dtype: e.dtype };
  }

  /** A feature map converted NCHW -> NHWC (or CHW -> HWC for one image). */
  nhwc(name: string): tf.Tensor {
    const t = this.raw(name);
    const perm = t.rank === 4 ? [0, 2, 3, 1] : t.rank === 3 ? [1, 2, 0] : undefined;
    if (!perm) return t;
    const out = tf.transpose(t, perm);
    t.dispose();
    return out;
  }
}

/** max|a - b| / max|b|: the relative error the parity tests bound. */
export function relativeMaxError(ours: tf.Tensor, ref: tf.Tensor): { abs: number; scale: number; rel: number } {
  if (ours.shape.join(',') !== ref.shape.join(',')) {
    throw new Error(`shape mismatch: ours [${ours.shape}] vs torchvision [${ref.shape}]`);
  }
  const [abs, scale] = tf.tidy(() => [tf.max(tf.abs(tf.sub(ours, ref))), tf.max(tf.abs(ref))].map((t) => t.dataSync()[0]));
  return { abs, scale, rel: abs / scale };
}
