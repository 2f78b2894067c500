/**
 * A small TorchLayer for checkpoint tests (also loaded by the kill-test child process):
 * two 3x3 convs (conv1.*, conv2.*) and a frozen batch norm (bn.*), filled from a seeded Rng.
 */
import { Conv2d } from '../../../src/nn/conv2d';
import { FrozenBatchNorm2d } from '../../../src/backbone/frozen_batch_norm';
import { TorchLayer, withoutInitialization } from '../../../src/nn/torch_layer';
import { Rng } from '../../../src/util/random';
import * as tf from '@tensorflow/tfjs';

export class TinyNet extends TorchLayer {
  static override readonly className = 'TinyNet';
  constructor(readonly channels = 4) {
    super({});
    this.child('conv1', new Conv2d({ inChannels: 3, outChannels: channels, kernelSize: 3, padding: 1 }));
    this.child('conv2', new Conv2d({ inChannels: channels, outChannels: channels, kernelSize: 3, padding: 1 }));
    this.child('bn', new FrozenBatchNorm2d({ numFeatures: channels }));
  }
}

/** A TinyNet with zero weights (as a model about to be loaded from a checkpoint is built). */
export function emptyTinyNet(channels = 4): TinyNet {
  return withoutInitialization(() => new TinyNet(channels));
}

/** A TinyNet whose every weight comes from Rng(seed). */
export function seededTinyNet(seed: number, channels = 4): TinyNet {
  const net = emptyTinyNet(channels);
  const rng = new Rng(seed);
  for (const p of net.stateDict().values()) {
    const shape = p.variable.read().shape;
    const n = shape.reduce((a, b) => a * b, 1);
    const values = Float32Array.from({ length: n }, () => rng.normal());
    tf.tidy(() => {
      p.variable.write(tf.tensor(values, shape));
    });
  }
  return net;
}

/** Every weight of `net` as plain arrays, by state-dict key. */
export function weightValues(net: TorchLayer): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [k, p] of net.stateDict()) out.set(k, p.variable.read().dataSync() as Float32Array);
  return out;
}
