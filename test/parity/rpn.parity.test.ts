/**
 * RPN parity with torchvision, stage by stage: the head on torchvision's FPN features, then the
 * proposals. Bounds: objectness and deltas within 1e-4 relative per level; >= 99% of
 * torchvision's proposals matched at IoU >= 0.99 (and >= 99% of ours the other way).
 */
import * as tf from '@tensorflow/tfjs';
import { FPN_LEVELS, FpnFeatures } from '../../src/fpn/feature_pyramid_network';
import { readTorchStateDict } from '../../src/io/torch_checkpoint';
import { loadStateDict } from '../../src/io/state_dict';
import { withoutInitialization } from '../../src/nn/torch_layer';
import { RegionProposalNetwork } from '../../src/rpn/region_proposal_network';
import { useBackend } from '../support/backends';
import { matchedFraction } from '../support/matching';
import { describeParity, INFERENCE_VARIANTS, relativeMaxError } from '../support/parity_fixtures';

for (const [variant, source] of INFERENCE_VARIANTS) describeParity(`RPN parity with torchvision, ${variant} [wasm]`, (fx) => {
  let rpn: RegionProposalNetwork;
  let features: FpnFeatures;

  beforeAll(async () => {
    await useBackend('wasm');
    rpn = withoutInitialization(() => new RegionProposalNetwork({ inChannels: fx.config.fpnChannels }));
    loadStateDict(rpn, await readTorchStateDict(fx.checkpointPath), { prefix: 'rpn.' });
    const levels = FPN_LEVELS.map((l) => fx.nhwc(`fpn/${l}`) as tf.Tensor4D);
    features = { '0': levels[0], '1': levels[1], '2': levels[2], '3': levels[3], pool: levels[4] };
  });

  afterAll(() => {
    tf.dispose(Object.values(features));
    rpn.dispose();
  });

  it('head outputs and proposals match', async () => {
    const sizes = fx.raw('transform/image_sizes');
    const imageSizes = sizes.arraySync() as [number, number][];
    sizes.dispose();
    const batchShape: [number, number] = [features['0'].shape[1] * 4, features['0'].shape[2] * 4];
    const before = tf.memory().numTensors;
    const out = await rpn.forward(features, imageSizes, batchShape);
    FPN_LEVELS.forEach((level, i) => {
      for (const [name, ours] of [
        ['objectness', out.objectness[i]],
        ['deltas', out.deltas[i]],
      ] as const) {
        const ref = fx.nhwc(`rpn/${name}/${level}`);
        const e = relativeMaxError(ours, ref);
        console.log(`parity [wasm] rpn ${name} '${level}': relative ${e.rel.toExponential(3)} (max|ref| ${e.scale.toExponential(3)})`);
        expect(e.rel).toBeLessThanOrEqual(1e-4);
        ref.dispose();
      }
    });
    for (let i = 0; i < imageSizes.length; i++) {
      const ref = fx.raw(`rpn/proposals/${i}`);
      const theirs = { boxes: ref.dataSync() };
      const ours = { boxes: out.proposals[i].dataSync() };
      const recall = matchedFraction(theirs, ours, { minIou: 0.99 });
      const precision = matchedFraction(ours, theirs, { minIou: 0.99 });
      console.log(
        `parity [wasm] proposals image ${i}: ${ref.shape[0]} torchvision, ${out.proposals[i].shape[0]} ours; ` +
          `${(100 * recall).toFixed(2)}% of torchvision's matched at IoU >= 0.99, ${(100 * precision).toFixed(2)}% of ours`,
      );
      expect(recall).toBeGreaterThanOrEqual(0.99);
      expect(precision).toBeGreaterThanOrEqual(0.99);
      ref.dispose();
    }
    tf.dispose(out);
    expect(tf.memory().numTensors).toBe(before);
  });
}, source);
