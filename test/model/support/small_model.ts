/** A small randomly initialised Mask R-CNN and synthetic training batches, for the training tests. */
import * as tf from '@tensorflow/tfjs';
import { MaskRCNN } from '../../../src/model/mask_rcnn';
import type { TrainingBatch, TrainingForwardOptions, TrainingTarget } from '../../../src/model/training_forward';
import { withoutInitialization } from '../../../src/nn/torch_layer';
import { Rng } from '../../../src/util/random';

export const SMALL = {
  numClasses: 5,
  rpn: { preNmsTopN: { training: 300, testing: 100 }, postNmsTopN: { training: 150, testing: 100 } },
};
export const H = 64;
export const W = 96;
// Small draws keep the box head cheap; the rng makes them random as in real training.
export const OPTIONS = (seed: number): TrainingForwardOptions => ({ rng: new Rng(seed), rpnBatchSizePerImage: 64, roiBatchSizePerImage: 32 });

export function target(boxes: number[][], labels: number[], height = H, width = W): TrainingTarget {
  const data = new Uint8Array(boxes.length * height * width);
  boxes.forEach(([x0, y0, x1, y1], g) => {
    for (let y = Math.ceil(y0); y < y1; y++) for (let x = Math.ceil(x0); x < x1; x++) data[g * height * width + y * width + x] = 1;
  });
  return { boxes: Float32Array.from(boxes.flat()), labels: Int32Array.from(labels), masks: { data, height, width } };
}

export const EMPTY = (): TrainingTarget => target([], []);

export function makeBatch(targets: TrainingTarget[]): TrainingBatch {
  const images = tf.tidy(() => tf.randomNormal([targets.length, H, W, 3], 0, 1, 'float32', 7) as tf.Tensor4D);
  return { images, imageSizes: targets.map(() => [H, W] as [number, number]), targets };
}

/**
 * A random model built in ~2 s (tfjs's initialisers take ~30 s for ResNet-50): weights uniform
 * with variance 1 / fan-in, batch norms the identity, biases 0.
 */
export function randomModel(): MaskRCNN {
  const model = withoutInitialization(() => new MaskRCNN(SMALL));
  let seed = 1;
  for (const [key, p] of model.stateDict()) {
    const v = p.variable;
    const shape = v.shape as number[]; // built variables have no null dimensions
    const value = tf.tidy(() => {
      if (shape.length === 1) return key.endsWith('.weight') || key.endsWith('running_var') ? tf.ones(shape) : tf.zeros(shape);
      const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1); // conv [kh, kw, in, out], linear [in, out]
      const a = Math.sqrt(3 / fanIn);
      return tf.randomUniform(shape, -a, a, 'float32', seed++);
    });
    v.write(value);
    value.dispose();
  }
  return model;
}
