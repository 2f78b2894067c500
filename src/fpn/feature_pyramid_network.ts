/**
 * Feature Pyramid Network (Lin et al. 2017) with torchvision's LastLevelMaxPool.
 *
 * Shapes (N images, level i has stride 2^(i+2)):
 *   C2..C5 [N, Hi, Wi, Ci] -> P2..P5 '0'..'3' [N, Hi, Wi, 256], and 'pool' [N, ceil(H5/2), ceil(W5/2), 256].
 * Keys (relative to `backbone.fpn`): inner_blocks.i.0.{weight,bias} (1x1 laterals),
 * layer_blocks.i.0.{weight,bias} (3x3 outputs). torchvision 0.14 wraps each conv in
 * Conv2dNormActivation, hence the `.0`.
 */
import * as tf from '@tensorflow/tfjs';
import { Conv2d } from '../nn/conv2d';
import { TorchLayer, TorchLayerArgs } from '../nn/torch_layer';

/**
 * The FPN's inputs, finest first: C2-C5 of a ResNet keyed as torchvision's
 * IntermediateLayerGetter keys them (`ResNetFeatures` is this type). Any backbone giving four
 * maps at strides 4-32 fits.
 */
export type FpnInputs = {
  '0': tf.Tensor4D;
  '1': tf.Tensor4D;
  '2': tf.Tensor4D;
  '3': tf.Tensor4D;
};

/** FPN outputs keyed as torchvision keys them. */
export type FpnFeatures = {
  '0': tf.Tensor4D;
  '1': tf.Tensor4D;
  '2': tf.Tensor4D;
  '3': tf.Tensor4D;
  pool: tf.Tensor4D;
};

/** Level names in order, finest first. */
export const FPN_LEVELS = ['0', '1', '2', '3', 'pool'] as const;
/** One of {@link FPN_LEVELS}. */
export type FpnLevel = (typeof FPN_LEVELS)[number];

/** Options of {@link FeaturePyramidNetwork}. */
export interface FpnArgs extends TorchLayerArgs {
  /** Channels of C2..C5; default ResNet-50's [256, 512, 1024, 2048]. */
  inChannels?: readonly number[];
  /** Default 256. */
  outChannels?: number;
}

/**
 * torchvision.ops.FeaturePyramidNetwork + LastLevelMaxPool as a tf.layers.Layer.
 *
 * @example
 * ```ts
 * const fpn = new FeaturePyramidNetwork();
 * const p = fpn.forward(body.forward(images)); // p['0'] .. p['pool']
 * ```
 */
export class FeaturePyramidNetwork extends TorchLayer {
  static override readonly className = 'FeaturePyramidNetwork';
  readonly outChannels: number;
  private readonly inner: Conv2d[] = [];
  private readonly layer: Conv2d[] = [];

  constructor(args: FpnArgs = {}) {
    super({ name: args.name });
    const inChannels = args.inChannels ?? [256, 512, 1024, 2048];
    this.outChannels = args.outChannels ?? 256;
    // torchvision initialises FPN convs with kaiming_uniform_(a=1) and zero bias.
    const init = 'kaiming_uniform_a1' as const;
    inChannels.forEach((c, i) => {
      this.inner.push(
        this.child(`inner_blocks.${i}.0`, new Conv2d({ inChannels: c, outChannels: this.outChannels, kernelSize: 1, weightInit: init })),
      );
      this.layer.push(
        this.child(
          `layer_blocks.${i}.0`,
          new Conv2d({ inChannels: this.outChannels, outChannels: this.outChannels, kernelSize: 3, padding: 1, weightInit: init }),
        ),
      );
    });
  }

  forward(c: FpnInputs): FpnFeatures {
    const xs = [c['0'], c['1'], c['2'], c['3']];
    const last = xs.length - 1;
    return tf.tidy(() => {
      let lastInner = this.inner[last].forward(xs[last]);
      const results: tf.Tensor4D[] = [this.layer[last].forward(lastInner)];
      for (let i = last - 1; i >= 0; i--) {
        const lateral = this.inner[i].forward(xs[i]);
        // torch's interpolate(mode='nearest', size=lateral size): src = floor(dst * in / out),
        // which is tfjs's nearest resize without align_corners or half-pixel centres.
        const [h, w] = [lateral.shape[1], lateral.shape[2]];
        const topDown = tf.image.resizeNearestNeighbor(lastInner, [h, w], false, false);
        lastInner = tf.add(lateral, topDown);
        results.unshift(this.layer[i].forward(lastInner));
      }
      // LastLevelMaxPool: max_pool2d(kernel 1, stride 2) of the coarsest output, i.e. every
      // other pixel; maxPool (unlike stridedSlice) has a gradient on every backend.
      const pool = tf.maxPool(results[last], 1, 2, 'valid');
      return { '0': results[0], '1': results[1], '2': results[2], '3': results[3], pool };
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
    if (!Array.isArray(inputs) || inputs.length !== 4) {
      throw new Error('Error in FeaturePyramidNetwork: expected the four tensors C2..C5');
    }
    const [c2, c3, c4, c5] = inputs as tf.Tensor4D[];
    const p = this.forward({ '0': c2, '1': c3, '2': c4, '3': c5 });
    return FPN_LEVELS.map((k) => p[k]);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape[] {
    const shapes = inputShape as tf.Shape[];
    const half = (d: number | null) => (d === null ? null : Math.floor((d - 1) / 2) + 1);
    const out: tf.Shape[] = shapes.map((s) => [s[0], s[1], s[2], this.outChannels]);
    const top = shapes[shapes.length - 1];
    out.push([top[0], half(top[1]), half(top[2]), this.outChannels]);
    return out;
  }
}
