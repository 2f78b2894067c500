/**
 * stateDictFloats counts a configuration's state dict without building it; the checkpoint byte
 * budget rests on it. The expected totals are torchvision 0.14's own
 * (`sum(v.numel() for v in model.state_dict().values())`, tools/parity/make_small_fixtures.py
 * builds the small models the same way).
 */
import * as tf from '@tensorflow/tfjs';
import { MaskRCNN, MaskRCNNConfig } from '../../src/model/mask_rcnn';
import { stateDictFloats } from '../../src/model/state_dict_size';
import { withoutInitialization } from '../../src/nn/torch_layer';
import { checkpointByteBudget } from '../../src/api/model';

const SMALL_18: MaskRCNNConfig = { depth: 18, fpnChannels: 64, representationSize: 256, maskLayers: [64, 64, 64, 64], maskDimReduced: 64, numClasses: 5 };
const SMALL_34: MaskRCNNConfig = { depth: 34, fpnChannels: 128, representationSize: 512, maskLayers: [128, 128], maskDimReduced: 96, numClasses: 7 };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

test.each([
  // maskrcnn_resnet50_fpn(weights=None) has trainable BatchNorm2d, with one num_batches_tracked
  // per norm layer (53 in ResNet-50) that FrozenBatchNorm2d, as in the published checkpoints, lacks.
  ['maskrcnn_resnet50_fpn, 91 classes', {}, 44_507_686 - 53],
  ['resnet18, FPN 64, heads 256 / [64 x 4] / 64, 5 classes', SMALL_18, 12_473_197],
  ['resnet34, FPN 128, heads 512 / [128 x 2] / 96, 7 classes', SMALL_34, 26_002_425],
])('%s: torchvision counts %d floats', (_, config, expected) => {
  expect(stateDictFloats(config)).toBe(expected);
});

test.each([SMALL_18, SMALL_34])('the count equals the built model\'s state dict (%o)', (config) => {
  const before = tf.memory().numTensors;
  const model = withoutInitialization(() => new MaskRCNN(config));
  let n = 0;
  for (const [, p] of model.stateDict()) n += p.variable.shape.reduce((a: number, b) => a * (b ?? 0), 1);
  model.dispose();
  expect(n).toBe(stateDictFloats(config));
  expect(tf.memory().numTensors).toBe(before);
});

test('the checkpoint budget follows the architecture', () => {
  expect(checkpointByteBudget({})).toBe(400_568_697);
  expect(checkpointByteBudget({ depth: 101 })).toBe(571_967_865);
  // ResNet-18 with small heads: a tenth of ResNet-50's, counted with at least 91 classes.
  const small = checkpointByteBudget(SMALL_18);
  expect(small).toBe(Math.ceil(9 * stateDictFloats({ ...SMALL_18, numClasses: 91 })));
  expect(small).toBeLessThan(130_000_000);
});
