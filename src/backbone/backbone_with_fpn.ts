/**
 * torchvision's BackboneWithFPN: the ResNet body (C2-C5) followed by the FPN (P2-P6).
 *
 * Shapes: images [N, H, W, 3] -> '0' [N, H/4, W/4, 256] ... '3' [N, H/32, W/32, 256],
 * 'pool' [N, H/64, W/64, 256] (H, W multiples of 32; 'pool' rounds up).
 * Keys: `body.*` and `fpn.*` (`backbone.body.*`, `backbone.fpn.*` in the full model).
 */
import * as tf from '@tensorflow/tfjs';
import { single } from '../nn/conv2d';
import { TorchLayer, TorchLayerArgs } from '../nn/torch_layer';
import { FeaturePyramidNetwork, FpnFeatures, FPN_LEVELS } from '../fpn/feature_pyramid_network';
import { ResNetBody, ResNetDepth, type ResNetFeatures } from './resnet';
import type { BackboneNorm } from './batch_norm';

/** Options of {@link BackboneWithFpn}. */
export interface BackboneArgs extends TorchLayerArgs {
  /** ResNet depth: 18, 34, 50 (default) or 101. */
  depth?: ResNetDepth;
  /** Trainable ResNet stages from the top, 0-5; default 3 as torchvision. */
  trainableLayers?: number;
  /** The ResNet body's norm: `frozen` (default) or `batch`. */
  norm?: BackboneNorm;
  /** FPN channels; default 256. */
  outChannels?: number;
}

/**
 * ResNet + FPN backbone.
 *
 * @example
 * ```ts
 * const backbone = new BackboneWithFpn({ depth: 50 });
 * const features = backbone.forward(batch.images); // { '0', '1', '2', '3', 'pool' }
 * ```
 */
export class BackboneWithFpn extends TorchLayer {
  static override readonly className = 'BackboneWithFpn';
  readonly body: ResNetBody;
  readonly fpn: FeaturePyramidNetwork;
  readonly outChannels: number;

  constructor(args: BackboneArgs = {}) {
    super({ name: args.name });
    this.body = this.child('body', new ResNetBody({ depth: args.depth, trainableLayers: args.trainableLayers, norm: args.norm }));
    this.outChannels = args.outChannels ?? 256;
    this.fpn = this.child('fpn', new FeaturePyramidNetwork({ inChannels: this.body.outChannels, outChannels: this.outChannels }));
  }

  /**
   * C2-C5 of the body, then the FPN's levels.
   *
   * @param images `[N, H, W, 3]` normalised, H and W multiples of 32.
   * @param onBody Optional recorder of the body's C2-C5 (`'0'..'3'`, for inspection); the
   *   tensors are freed when it returns (`tf.keep(t.clone())` to hold one).
   * @returns The FPN levels '0'..'3' and 'pool'; the caller owns them.
   */
  forward(images: tf.Tensor4D, onBody?: (body: ResNetFeatures) => void): FpnFeatures {
    return tf.tidy(() => {
      const body = this.body.forward(images); // C2-C5
      onBody?.(body);
      return this.fpn.forward(body);
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
    const p = this.forward(single(inputs) as tf.Tensor4D);
    return FPN_LEVELS.map((k) => p[k]);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape[] {
    return this.fpn.computeOutputShape(this.body.computeOutputShape(inputShape));
  }
}
