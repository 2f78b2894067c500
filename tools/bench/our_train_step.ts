/**
 * The bench's one contact with our training API: one SGD step on a transformed batch, as
 * src/train's Trainer takes it (`tf.variableGrads` of the summed five losses of
 * `MaskRCNN.trainingForward`, one pass; then the optimizer step), without the loop, logging or
 * checkpoints around it. Everything comes through the library's public index.
 */
import * as tf from '@tensorflow/tfjs';
import { gradsByKey, LOSS_NAMES, type LossName, type Losses, type MaskRCNN, Rng, SGD, trainableParams, type TrainingBatch, variablesOf } from '../../src';

/** SGD settings of the step (torchvision's detection reference: momentum 0.9, weight decay 1e-4). */
export interface OurTrainStepOptions {
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  /** Seed of the RPN and box-head samplers. */
  readonly seed: number;
}

/**
 * A training step on `network`'s trainable weights: `step(batch)` updates them and resolves with
 * the five losses before the update; `dispose()` frees the optimizer's momentum buffers. The
 * caller owns `batch.images`.
 *
 * @example
 * ```ts
 * const train = makeOurTrainStep(model.network, { lr: 0.0025, momentum: 0.9, weightDecay: 1e-4, seed: 0 });
 * const losses = await train.step(batch); // { loss_objectness: 0.69, ... }
 * train.dispose();
 * ```
 */
export function makeOurTrainStep(network: MaskRCNN, o: OurTrainStepOptions): { step: (batch: TrainingBatch) => Promise<Record<LossName, number>>; dispose: () => void } {
  const params = trainableParams(network);
  const optimizer = new SGD(params, { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay });
  const rng = new Rng(o.seed);
  const step = async (batch: TrainingBatch): Promise<Record<LossName, number>> => {
    let kept: Losses | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const l = network.trainingForward(batch, { rng }).losses;
      kept = l;
      for (const k of LOSS_NAMES) tf.keep(l[k]);
      return tf.addN(LOSS_NAMES.map((k) => l[k])) as tf.Scalar;
    }, variablesOf(params));
    const losses = kept as Losses;
    try {
      optimizer.step(gradsByKey(params, grads));
      const values = await Promise.all(LOSS_NAMES.map(async (k) => (await losses[k].data())[0]));
      return Object.fromEntries(LOSS_NAMES.map((k, i) => [k, values[i]])) as Record<LossName, number>;
    } finally {
      tf.dispose([value, ...LOSS_NAMES.map((k) => losses[k])]);
      tf.dispose(grads);
    }
  };
  return { step, dispose: () => optimizer.dispose() };
}
