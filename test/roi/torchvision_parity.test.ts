/**
 * Cross-check against torchvision 0.14 itself: cases written by tools/make_roi_align_cases.py
 * (already converted to NHWC there).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { roiAlign } from '../../src/roi/roi_align';
import { inferScale, MultiScaleRoIAlign } from '../../src/roi/multi_scale_roi_align';
import { LevelMapper } from '../../src/roi/level_mapper';
import { describeEachBackend } from '../support/backends';
import { maxRelError } from './support/naive_roi_align';

interface Stored {
  shape: number[];
  data: number[];
}
interface RoiAlignCase {
  name: string;
  features: Stored;
  boxes: number[][];
  box_indices: number[];
  output_size: [number, number];
  spatial_scale: number;
  sampling_ratio: number;
  aligned: boolean;
  output: Stored;
  dy: Stored;
  grad: Stored;
}
interface MultiScaleCase {
  name: string;
  featmap_names: string[];
  features: Record<string, Stored>;
  boxes: number[][][];
  image_shapes: [number, number][];
  output_size: number;
  sampling_ratio: number;
  canonical_scale: number;
  canonical_level: number;
  scales: number[];
  levels: number[];
  output: Stored;
  dy: Stored;
  grads: Record<string, Stored>;
}
interface Fixture {
  roi_align: RoiAlignCase[];
  multiscale: MultiScaleCase[];
  level_mapper: { k_min: number; k_max: number; boxes: number[]; levels: number[] };
  infer_scale: [number, number, number][];
}

const FIXTURE: Fixture = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'roi_align', 'torchvision_cases.json'), 'utf8'),
);
// The stored values carry 8 significant digits; torchvision's own float32 sums differ from ours
// in order. 1e-5 relative (floored at 1 in the denominator) is the brief's bar.
const TOL = 1e-5;

function tensor(s: Stored): tf.Tensor {
  return tf.tensor(s.data, s.shape, 'float32');
}

describeEachBackend('torchvision parity', () => {
  for (const c of FIXTURE.roi_align) {
    it(`roi_align ${c.name}: output and features gradient`, () => {
      const x = tensor(c.features) as tf.Tensor4D;
      const boxes = tf.tensor2d(c.boxes);
      const idx = tf.tensor1d(c.box_indices, 'int32');
      const dy = tensor(c.dy);
      const f = (t: tf.Tensor) =>
        roiAlign(t as tf.Tensor4D, boxes, idx, c.output_size, c.spatial_scale, c.sampling_ratio, c.aligned);
      const y = f(x);
      expect(y.shape).toEqual(c.output.shape);
      expect(maxRelError(y.dataSync(), c.output.data)).toBeLessThan(TOL);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), dy)))(x);
      expect(g.shape).toEqual(c.grad.shape);
      expect(maxRelError(g.dataSync(), c.grad.data)).toBeLessThan(TOL);
      tf.dispose([x, boxes, idx, dy, y, g]);
    });
  }

  for (const c of FIXTURE.multiscale) {
    it(`MultiScaleRoIAlign ${c.name}: output, scales and every level's gradient`, () => {
      const names = c.featmap_names;
      const feats = names.map((n) => tensor(c.features[n]) as tf.Tensor4D);
      const boxes = c.boxes.map((b) => tf.tensor2d(b.flat(), [b.length, 4]));
      const dy = tensor(c.dy);
      const pooler = new MultiScaleRoIAlign({
        featmapNames: names,
        outputSize: c.output_size,
        samplingRatio: c.sampling_ratio,
        canonicalScale: c.canonical_scale,
        canonicalLevel: c.canonical_level,
      });
      const record = (ts: tf.Tensor[]) => Object.fromEntries(names.map((n, i) => [n, ts[i] as tf.Tensor4D]));
      const y = pooler.forward(record(feats), boxes, c.image_shapes);
      expect(pooler.scales).toEqual(c.scales);
      expect(y.shape).toEqual(c.output.shape);
      expect(maxRelError(y.dataSync(), c.output.data)).toBeLessThan(TOL);
      const grads = tf.grads((...ts: tf.Tensor[]) => tf.sum(tf.mul(pooler.forward(record(ts), boxes, c.image_shapes), dy)))(feats);
      names.forEach((n, i) => {
        expect(grads[i].shape).toEqual(c.grads[n].shape);
        expect(maxRelError(grads[i].dataSync(), c.grads[n].data)).toBeLessThan(TOL);
      });
      tf.dispose([...feats, ...boxes, dy, y, ...grads]);
    });
  }
});

describe('torchvision parity without tensors', () => {
  it('LevelMapper(2, 5) assigns the same levels, including at the eps-decided boundaries', () => {
    const { k_min, k_max, boxes, levels } = FIXTURE.level_mapper;
    const mapper = new LevelMapper({ kMin: k_min, kMax: k_max });
    expect(Array.from(mapper.levels(Float32Array.from(boxes)))).toEqual(levels);
    // Every level is reached, so the comparison covers the clamp at both ends.
    expect(new Set(levels)).toEqual(new Set([0, 1, 2, 3]));
  });

  it('MultiScaleRoIAlign cases hit the levels torchvision chose', () => {
    for (const c of FIXTURE.multiscale.filter((m) => m.featmap_names.length > 1)) {
      const kMin = Math.round(-Math.log2(c.scales[0]));
      const mapper = new LevelMapper({
        kMin,
        kMax: Math.round(-Math.log2(c.scales[c.scales.length - 1])),
        canonicalScale: c.canonical_scale,
        canonicalLevel: c.canonical_level,
      });
      expect(Array.from(mapper.levels(Float32Array.from(c.boxes.flat(2))))).toEqual(c.levels);
    }
  });

  it('inferScale matches torchvision _infer_scale', () => {
    for (const [feature, image, scale] of FIXTURE.infer_scale) expect(inferScale(feature, image)).toBe(scale);
  });
});
