/**
 * The number of floats in the state dict of a Mask R-CNN configuration, counted from the
 * configuration alone (nothing is built): the size a torchvision checkpoint of that model has.
 * It sets the byte budget of reading a checkpoint before any of it is read.
 */
import { isBasicBlockDepth, RESNET_BLOCKS } from '../backbone/resnet';
import type { MaskRCNNConfig } from './mask_rcnn';

const conv = (k: number, cin: number, cout: number, bias: boolean) => k * k * cin * cout + (bias ? cout : 0);
/** FrozenBatchNorm2d: weight, bias, running_mean, running_var. */
const bn = (c: number) => 4 * c;

/**
 * Floats of the state dict of `config`'s model (parameters and buffers), torchvision's keys.
 *
 * @example
 * ```ts
 * stateDictFloats({}); // 44_507_633: maskrcnn_resnet50_fpn with FrozenBatchNorm2d, 91 classes
 * stateDictFloats({ depth: 18, fpnChannels: 64, representationSize: 256, maskLayers: [64, 64, 64, 64], maskDimReduced: 64, numClasses: 5 }); // 12_473_197
 * ```
 */
export function stateDictFloats(config: MaskRCNNConfig): number {
  const depth = config.depth ?? 50;
  const k = config.numClasses ?? 91;
  const c = config.fpnChannels ?? 256;
  const f = config.representationSize ?? 1024;
  const maskLayers = config.maskLayers ?? [256, 256, 256, 256];
  const e = config.maskDimReduced ?? 256;
  const sizes = config.rpn?.anchorSizes ?? [[32], [64], [128], [256], [512]];
  const ratios = config.rpn?.aspectRatios ?? sizes.map(() => [0.5, 1, 2]);
  const a = sizes[0].length * ratios[0].length;

  // ResNet body.
  const basic = isBasicBlockDepth(depth);
  const expansion = basic ? 1 : 4;
  let n = conv(7, 3, 64, false) + bn(64);
  let cin = 64;
  const outs: number[] = [];
  RESNET_BLOCKS[depth].forEach((blocks, s) => {
    const w = 64 << s;
    for (let b = 0; b < blocks; b++) {
      const stride = b === 0 && s > 0 ? 2 : 1;
      n += basic
        ? conv(3, cin, w, false) + bn(w) + conv(3, w, w, false) + bn(w)
        : conv(1, cin, w, false) + bn(w) + conv(3, w, w, false) + bn(w) + conv(1, w, 4 * w, false) + bn(4 * w);
      if (b === 0 && (stride !== 1 || cin !== w * expansion)) n += conv(1, cin, w * expansion, false) + bn(w * expansion);
      cin = w * expansion;
    }
    outs.push(cin);
  });
  // FPN: a 1x1 lateral and a 3x3 output per level.
  for (const ci of outs) n += conv(1, ci, c, true) + conv(3, c, c, true);
  // RPN head: a 3x3 conv, objectness and deltas.
  n += conv(3, c, c, true) + conv(1, c, a, true) + conv(1, c, 4 * a, true);
  // Box head (fc6, fc7 on 7x7 pooled features) and predictor.
  n += 49 * c * f + f + f * f + f + (f * k + k) + (f * 4 * k + 4 * k);
  // Mask head, then the predictor's 2x2 transposed conv and 1x1 logits.
  let m = c;
  for (const out of maskLayers) {
    n += conv(3, m, out, true);
    m = out;
  }
  n += conv(2, m, e, true) + conv(1, e, k, true);
  return n;
}
