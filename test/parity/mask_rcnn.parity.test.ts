/**
 * Mask R-CNN parity with torchvision: the RoI stages on torchvision's own inputs, then the whole
 * model through the public API on the photographs (PNG files, two sizes in one batch); for
 * maskrcnn_resnet50_fpn and for the small architecture of the shipped model (ResNet-18 basic
 * blocks, 64 FPN channels, box head 256, mask head [64] x 4, mask predictor 64).
 * Bounds (issue 3): RoI features and head outputs within 1e-4 relative; >= 98% of torchvision's
 * detections matched (same label, IoU >= 0.99, |score difference| <= 1e-3) and >= 98% of ours
 * matched back; matched binary masks IoU >= 0.98 each and >= 0.995 on average.
 */
import * as tf from '@tensorflow/tfjs';
import { fromTorchvision, MaskRCNNModel, maskToFull, Prediction } from '../../src/api/model';
import { FPN_LEVELS, FpnFeatures } from '../../src/fpn/feature_pyramid_network';
import { disposeDetections } from '../../src/postprocess/detections';
import { BoxSet, matchBoxSets } from '../support/matching';
import { describeParity, INFERENCE_VARIANTS, ParityFixtures, relativeMaxError } from '../support/parity_fixtures';

const DETECTION_MATCH = { minIou: 0.99, maxScoreDiff: 1e-3 };

function refDetections(fx: ParityFixtures, prefix: string, i: number): BoxSet {
  const values = (name: string) => {
    const t = fx.raw(`${prefix}/${name}/${i}`);
    const v = t.dataSync();
    t.dispose();
    return v;
  };
  return { boxes: values('boxes'), scores: values('scores'), labels: values('labels') };
}

function expectDetectionsMatch(stage: string, theirs: BoxSet, ours: BoxSet): Int32Array {
  const forward = matchBoxSets(theirs, ours, DETECTION_MATCH);
  const backward = matchBoxSets(ours, theirs, DETECTION_MATCH);
  const frac = (m: Int32Array) => (m.length === 0 ? 1 : m.filter((j) => j >= 0).length / m.length);
  console.log(
    `parity [wasm] ${stage}: ${forward.length} torchvision, ${backward.length} ours; ` +
      `${(100 * frac(forward)).toFixed(2)}% of torchvision's matched, ${(100 * frac(backward)).toFixed(2)}% of ours`,
  );
  expect(frac(forward)).toBeGreaterThanOrEqual(0.98);
  expect(frac(backward)).toBeGreaterThanOrEqual(0.98);
  return forward;
}

for (const [variant, source] of INFERENCE_VARIANTS) describeParity(`Mask R-CNN parity with torchvision, ${variant} [wasm]`, (fx) => {
  let model: MaskRCNNModel;
  let imageSizes: [number, number][];

  beforeAll(async () => {
    model = await fromTorchvision(fx.checkpointPath, { backend: 'wasm', config: fx.config });
    const s = fx.raw('transform/image_sizes');
    imageSizes = s.arraySync() as [number, number][];
    s.dispose();
  });
  afterAll(() => model?.dispose());

  it('RoI stages on torchvision\'s features and proposals', async () => {
    const net = model.network;
    const levels = FPN_LEVELS.map((l) => fx.nhwc(`fpn/${l}`) as tf.Tensor4D);
    const features: FpnFeatures = { '0': levels[0], '1': levels[1], '2': levels[2], '3': levels[3], pool: levels[4] };
    const proposals = imageSizes.map((_, i) => fx.raw(`rpn/proposals/${i}`) as tf.Tensor2D);
    const before = tf.memory().numTensors;

    const boxFeatures = net.boxRoiPool.forward(features, proposals, imageSizes);
    const check = (name: string, ours: tf.Tensor, ref: tf.Tensor) => {
      const e = relativeMaxError(ours, ref);
      console.log(`parity [wasm] ${name}: relative ${e.rel.toExponential(3)} (max|ref| ${e.scale.toExponential(3)})`);
      expect(e.rel).toBeLessThanOrEqual(1e-4);
      ref.dispose();
    };
    check('box RoIAlign features', boxFeatures, fx.nhwc('roi/box_features'));
    const refBoxFeatures = fx.nhwc('roi/box_features') as tf.Tensor4D;
    const { classLogits, boxRegression } = net.roiHeads.predictBoxes(refBoxFeatures);
    check('class logits', classLogits, fx.raw('roi/class_logits'));
    check('box regression', boxRegression, fx.raw('roi/box_regression'));

    const dets = await net.roiHeads.detect(refBoxFeatures, proposals, imageSizes);
    dets.forEach((d, i) => {
      const ours = { boxes: d.predBoxes.dataSync(), scores: d.predScores.dataSync(), labels: d.predLabels.dataSync() };
      expectDetectionsMatch(`detections image ${i} (resized coordinates)`, refDetections(fx, 'det', i), ours);
    });

    const refDetBoxes = imageSizes.map((_, i) => fx.raw(`det/boxes/${i}`) as tf.Tensor2D);
    const maskFeatures = net.maskRoiPool.forward(features, refDetBoxes, imageSizes);
    check('mask RoIAlign features', maskFeatures, fx.nhwc('det/mask_features'));
    const refMaskFeatures = fx.nhwc('det/mask_features') as tf.Tensor4D;
    const maskLogits = net.roiHeads.predictMasks(refMaskFeatures);
    check('mask logits', maskLogits, fx.nhwc('det/mask_logits'));

    tf.dispose([boxFeatures, refBoxFeatures, classLogits, boxRegression, maskFeatures, refMaskFeatures, maskLogits]);
    disposeDetections(dets);
    tf.dispose(refDetBoxes);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...levels, ...proposals]);
  });

  it('end to end from the PNG files: detections and masks as torchvision returns them', async () => {
    const names = fx.meta.images as string[];
    const before = tf.memory().numTensors;
    const predictions: Prediction[] = await model.predict(names.map((n) => fx.imagePath(n)));
    expect(tf.memory().numTensors).toBe(before);
    const ious: number[] = [];
    predictions.forEach((p, i) => {
      const ours: BoxSet = {
        boxes: p.detections.flatMap((d) => d.box),
        scores: p.detections.map((d) => d.score),
        labels: p.detections.map((d) => d.label),
      };
      const theirs = refDetections(fx, 'final', i);
      const match = expectDetectionsMatch(`final detections image ${i}`, theirs, ours);
      const refMasks = fx.raw(`final/masks/${i}`); // [n, 1, H, W] probabilities
      const [n, , h, w] = refMasks.shape;
      expect([h, w]).toEqual([p.height, p.width]);
      const probs = refMasks.dataSync();
      for (let k = 0; k < n; k++) {
        const j = match[k];
        if (j < 0) continue;
        const ourMask = maskToFull(p.detections[j].mask);
        let inter = 0;
        let union = 0;
        for (let q = 0; q < h * w; q++) {
          const a = probs[k * h * w + q] > 0.5 ? 1 : 0;
          const b = ourMask[q];
          inter += a & b;
          union += a | b;
        }
        ious.push(union === 0 ? 1 : inter / union);
      }
      refMasks.dispose();
    });
    const mean = ious.reduce((a, b) => a + b, 0) / ious.length;
    const min = Math.min(...ious);
    console.log(`parity [wasm] masks: ${ious.length} matched pairs, IoU min ${min.toFixed(4)}, mean ${mean.toFixed(5)}`);
    expect(min).toBeGreaterThanOrEqual(0.98);
    expect(mean).toBeGreaterThanOrEqual(0.995);
  });
}, source);
