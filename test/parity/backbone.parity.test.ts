/**
 * Backbone parity with torchvision: same seeded weights, same photographs batched together, for
 * ResNet-50 (bottlenecks) and the small ResNet-18 (basic blocks, 64 FPN channels).
 * Bound: max|ours - ref| <= 1e-4 * max|ref| for the transformed batch and every level.
 */
import * as tf from '@tensorflow/tfjs';
import { BackboneWithFpn } from '../../src/backbone/backbone_with_fpn';
import { readTorchStateDict } from '../../src/io/torch_checkpoint';
import { loadStateDict } from '../../src/io/state_dict';
import { GeneralizedRCNNTransform } from '../../src/transform/generalized_rcnn_transform';
import { readImage } from '../../src/data/image_io';
import { useBackend } from '../support/backends';
import { describeParity, INFERENCE_VARIANTS, relativeMaxError } from '../support/parity_fixtures';

const TOLERANCE = 1e-4;

function report(stage: string, e: { abs: number; scale: number; rel: number }, backend: string): void {
  console.log(`parity [${backend}] ${stage}: max|ours-ref| = ${e.abs.toExponential(3)}, max|ref| = ${e.scale.toExponential(3)}, relative ${e.rel.toExponential(3)}`);
}

for (const [variant, source] of INFERENCE_VARIANTS) describeParity(`backbone parity with torchvision, ${variant}`, (fx) => {
  let backbone: BackboneWithFpn;

  beforeAll(async () => {
    await useBackend('wasm');
    backbone = new BackboneWithFpn({ depth: fx.config.depth, outChannels: fx.config.fpnChannels });
    const sd = await readTorchStateDict(fx.checkpointPath);
    const r = loadStateDict(backbone, sd, { prefix: 'backbone.', source: fx.checkpointPath });
    expect(r.missing).toEqual([]);
    expect(r.unexpected).toEqual([]);
  });

  afterAll(() => backbone.dispose());

  describe('wasm, two photographs of different sizes in one batch', () => {
    beforeAll(() => useBackend('wasm'));

    it('matches the transformed batch and every FPN level', async () => {
      const names = fx.meta.images as string[];
      const images = await Promise.all(
        names.map(async (n) => {
          const img = await readImage(fx.imagePath(n));
          return tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
        }),
      );
      const before = tf.memory().numTensors;
      const batch = new GeneralizedRCNNTransform(fx.config.transform).forward(images);
      const refSizes = fx.raw('transform/image_sizes');
      expect(batch.imageSizes).toEqual(refSizes.arraySync());
      refSizes.dispose();

      const refBatch = fx.nhwc('transform/images');
      const eb = relativeMaxError(batch.images, refBatch);
      report('transform', eb, 'wasm');
      expect(eb.rel).toBeLessThanOrEqual(TOLERANCE);
      refBatch.dispose();

      const features = backbone.forward(batch.images);
      for (const level of ['0', '1', '2', '3', 'pool'] as const) {
        const ref = fx.nhwc(`fpn/${level}`);
        const e = relativeMaxError(features[level], ref);
        report(`fpn '${level}'`, e, 'wasm');
        expect(e.rel).toBeLessThanOrEqual(TOLERANCE);
        ref.dispose();
      }
      tf.dispose([batch.images, ...Object.values(features)]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose(images);
    });
  });

  describe('cpu, one small input', () => {
    beforeAll(() => useBackend('cpu'));

    it('matches C2-C5 and every FPN level', () => {
      const x = fx.nhwc('small/input') as tf.Tensor4D;
      const c = backbone.body.forward(x);
      for (const level of ['0', '1', '2', '3'] as const) {
        const ref = fx.nhwc(`small/body/${level}`);
        const e = relativeMaxError(c[level], ref);
        report(`body '${level}'`, e, 'cpu');
        expect(e.rel).toBeLessThanOrEqual(TOLERANCE);
        ref.dispose();
      }
      const p = backbone.fpn.forward(c);
      for (const level of ['0', '1', '2', '3', 'pool'] as const) {
        const ref = fx.nhwc(`small/fpn/${level}`);
        const e = relativeMaxError(p[level], ref);
        report(`fpn '${level}'`, e, 'cpu');
        expect(e.rel).toBeLessThanOrEqual(TOLERANCE);
        ref.dispose();
      }
      tf.dispose([x, ...Object.values(c), ...Object.values(p)]);
    });
  });
}, source);
