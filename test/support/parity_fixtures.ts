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

export const FIXTURE_DIR = path.resolve(process.env.MASKRCNN_FIXTURES ?? path.join(__dirname, '..', '..', '.fixtures', 'parity'));
const HOW_TO = 'make them with `npm run fixtures` (needs Debian python3-torchvision and python3-skimage)';

interface Entry {
  shape: number[];
  dtype: 'float32' | 'int32';
  file: string;
}
interface Index {
  meta: Record<string, unknown>;
  tensors: Record<string, Entry>;
}

let cached: ParityFixtures | null | undefined;

/** The fixtures, or undefined (with a console message) when absent outside CI. */
export function parityFixtures(): ParityFixtures | undefined {
  if (cached !== undefined) return cached ?? undefined;
  const indexPath = path.join(FIXTURE_DIR, 'index.json');
  if (!fs.existsSync(indexPath)) {
    if (process.env.MASKRCNN_REQUIRE_FIXTURES === '1') {
      throw new Error(`parity fixtures missing at ${FIXTURE_DIR} and MASKRCNN_REQUIRE_FIXTURES=1: ${HOW_TO}`);
    }
    console.warn(`Skipping torchvision parity tests: no fixtures at ${FIXTURE_DIR}; ${HOW_TO}.`);
    cached = null;
    return undefined;
  }
  cached = new ParityFixtures(JSON.parse(fs.readFileSync(indexPath, 'utf8')) as Index);
  return cached;
}

/** `describe` when the fixtures exist; a skipped block (with the message above) when not. */
export function describeParity(title: string, body: (fx: ParityFixtures) => void): void {
  const fx = parityFixtures();
  if (fx) describe(title, () => body(fx));
  else describe.skip(`${title} (fixtures missing)`, () => it('needs fixtures', () => undefined));
}

export class ParityFixtures {
  readonly dir = FIXTURE_DIR;
  constructor(private readonly index: Index) {}

  get meta(): Record<string, unknown> {
    return this.index.meta;
  }

  get checkpointPath(): string {
    return path.join(this.dir, 'maskrcnn_seeded.pth');
  }

  imagePath(name: string): string {
    return path.join(this.dir, 'images', `${name}.png`);
  }

  has(name: string): boolean {
    return name in this.index.tensors;
  }

  /** The tensor as torchvision laid it out (NCHW for feature maps). */
  raw(name: string): tf.Tensor {
    const e = this.index.tensors[name];
    if (!e) throw new Error(`fixture tensor ${name} not in ${this.dir}/index.json; regenerate the fixtures`);
    const buf = fs.readFileSync(path.join(this.dir, e.file));
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const data = e.dtype === 'int32' ? new Int32Array(ab) : new Float32Array(ab);
    return tf.tensor(data, e.shape, e.dtype);
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
