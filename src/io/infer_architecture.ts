/**
 * The architecture a torchvision Mask R-CNN state dict was made for, read off its keys and
 * shapes (PyTorch layout), so that a checkpoint of a smaller or larger configuration than
 * `maskrcnn_resnet50_fpn` converts without the user restating it.
 */
import { isBasicBlockDepth, RESNET_BLOCKS, RESNET_DEPTHS } from '../backbone/resnet';
import type { MaskRCNNConfig } from '../model/mask_rcnn';

/**
 * The {@link MaskRCNNConfig} fields the weights fix: numClasses (`cls_score` rows), depth (blocks
 * per ResNet stage, basic or bottleneck), fpnChannels, representationSize (`fc6` rows),
 * maskLayers (one entry per `mask_head.<i>.0` conv) and maskDimReduced (`conv5_mask`). A field
 * whose keys are absent is left out (the default applies). Preprocessing, RPN and detection
 * settings are not in the weights.
 *
 * @param shapes state-dict names to shapes, e.g. from `readTorchShapes`.
 * @param source names the checkpoint in errors.
 * @throws Error when the ResNet stages match no supported depth.
 * @example
 * ```ts
 * inferArchitecture(readTorchShapes('small.pth'));
 * // { numClasses: 7, depth: 18, fpnChannels: 64, representationSize: 256, maskLayers: [64, 64, 64, 64], maskDimReduced: 64 }
 * ```
 */
export function inferArchitecture(shapes: ReadonlyMap<string, readonly number[]>, source = 'state dict'): MaskRCNNConfig {
  const dim = (key: string, axis: number): number | undefined => shapes.get(key)?.[axis];
  const config: MaskRCNNConfig = {};
  const numClasses = dim('roi_heads.box_predictor.cls_score.weight', 0);
  if (numClasses !== undefined) config.numClasses = numClasses;

  const blocks = [0, 0, 0, 0];
  let bottleneck = false;
  for (const key of shapes.keys()) {
    const m = /^backbone\.body\.layer([1-4])\.(\d+)\.(conv\d)\./.exec(key);
    if (m === null) continue;
    const stage = Number(m[1]) - 1;
    blocks[stage] = Math.max(blocks[stage], Number(m[2]) + 1);
    if (m[3] === 'conv3') bottleneck = true;
  }
  if (blocks.some((n) => n > 0)) {
    const depth = RESNET_DEPTHS.find((d) => RESNET_BLOCKS[d].every((n, i) => n === blocks[i]) && isBasicBlockDepth(d) !== bottleneck);
    if (depth === undefined) {
      throw new Error(
        `${source}: backbone.body has [${blocks.join(', ')}] ${bottleneck ? 'bottleneck' : 'basic'} blocks per stage, ` +
          `which is no supported ResNet (${RESNET_DEPTHS.map((d) => `${d}: [${RESNET_BLOCKS[d].join(', ')}]`).join(', ')})`,
      );
    }
    config.depth = depth;
  }

  const fpnChannels = dim('backbone.fpn.layer_blocks.0.0.weight', 0);
  if (fpnChannels !== undefined) config.fpnChannels = fpnChannels;
  const representationSize = dim('roi_heads.box_head.fc6.weight', 0);
  if (representationSize !== undefined) config.representationSize = representationSize;
  const maskLayers: number[] = [];
  for (let i = 0; shapes.has(`roi_heads.mask_head.${i}.0.weight`); i++) maskLayers.push(dim(`roi_heads.mask_head.${i}.0.weight`, 0)!);
  if (maskLayers.length > 0) config.maskLayers = maskLayers;
  // ConvTranspose2d weights are [in, out, kh, kw].
  const maskDimReduced = dim('roi_heads.mask_predictor.conv5_mask.weight', 1);
  if (maskDimReduced !== undefined) config.maskDimReduced = maskDimReduced;
  return config;
}
