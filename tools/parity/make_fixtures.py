#!/usr/bin/python3
"""Reference fixtures from torchvision for the parity tests.

Variant r50 (default): torchvision's maskrcnn_resnet50_fpn(weights=None, weights_backbone=None).
Variant small: the architecture of the model that ships in weights/, as torchvision builds it
from its parts: resnet18 (BasicBlock, FrozenBatchNorm2d) in BackboneWithFPN with 64 channels,
TwoMLPHead(64 * 7 * 7, 256), MaskRCNNHeads(64, [64] * 4, 1), MaskRCNNPredictor(64, 64, 7),
images resized to 320-512; index.json's meta.config is the same model as our MaskRCNNConfig.

Builds the model under a fixed
seed, randomises every FrozenBatchNorm2d (weight, bias, running mean and var, so that the
mapping of each buffer is really exercised), saves the state_dict with torch.save, and records
the output of every stage on real photographs (skimage's chelsea 300x451 and coffee 400x600:
sizes that are not multiples of 32, batched together).

Output (git-ignored): .fixtures/parity/ (variant small: .fixtures/parity-small/)
  maskrcnn_seeded.pth        the state_dict (torch.save zip format)
  images/<name>.png          the input photographs, lossless
  index.json                 {name: {shape, dtype, file}} for every recorded tensor
  tensors/<name>.bin         raw little-endian data (float32, or int32 for integer tensors)

Tensors keep torchvision's layout (NCHW for feature maps); the tests convert.
Run: /usr/bin/python3 tools/parity/make_fixtures.py [--variant r50|small] [--out DIR]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torchvision
from torchvision.models.detection import maskrcnn_resnet50_fpn
from torchvision.ops.misc import FrozenBatchNorm2d

SEED = 20261128
IMAGES = ("chelsea", "coffee")
# The small-input case for the slow cpu backend: a crop of the transformed batch.
SMALL_CROP = (64, 96)
# With random weights every class scores about 1/91 < 0.05 and nothing would be detected; a
# larger classifier gain spreads the logits so that the detection path is really exercised.
CLS_SCORE_GAIN = 12.0
# The randomised batch norms make objectness logits large enough that many sigmoid scores round
# to the same float32 near 1.0; torchvision's NMS order among such ties is arbitrary. A smaller
# objectness gain keeps scores distinct, as in a trained model, so the proposals are well defined.
RPN_OBJECTNESS_GAIN = 0.25
# Likewise random box deltas reach the exp() clamp and make proposals a tenth of a pixel wide,
# whose IoU is dominated by float noise; trained RPNs predict deltas of order 0.1.
RPN_DELTA_GAIN = 0.1
# Random mask logits reach +-300, so every pasted probability is 0, 1 or (where bilinear
# interpolation falls half-way between the two) 0.5 up to rounding, and the 0.5 threshold then
# decides on float noise. Trained mask heads give smooth probabilities; so does a smaller gain.
MASK_LOGIT_GAIN = 0.02


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--variant", choices=("r50", "small"), default="r50")
    p.add_argument("--out", default=None)
    a = p.parse_args()
    if a.out is None:
        a.out = os.path.join(os.path.dirname(__file__), "..", "..", ".fixtures", "parity" if a.variant == "r50" else "parity-small")
    return a


# The small variant, as our MaskRCNNConfig names it (written to meta.config for the tests).
SMALL_CONFIG = {
    "depth": 18,
    "fpnChannels": 64,
    "representationSize": 256,
    "maskLayers": [64, 64, 64, 64],
    "maskDimReduced": 64,
    "numClasses": 7,
    "transform": {"minSize": 320, "maxSize": 512},
}


def build_small_model(norm_layer=FrozenBatchNorm2d):
    """torchvision's MaskRCNN from its parts, the way a torchvision user configures a small one
    (norm_layer: torch.nn.BatchNorm2d gives the state dict num_batches_tracked counters)."""
    from torchvision.models import resnet18, resnet34
    from torchvision.models.detection import MaskRCNN
    from torchvision.models.detection.backbone_utils import BackboneWithFPN
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
    from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

    c = SMALL_CONFIG
    body = {18: resnet18, 34: resnet34}[c["depth"]](weights=None, norm_layer=norm_layer)
    layers = {"layer1": "0", "layer2": "1", "layer3": "2", "layer4": "3"}
    backbone = BackboneWithFPN(body, layers, [64, 128, 256, 512], c["fpnChannels"], extra_blocks=LastLevelMaxPool())
    k = c["numClasses"]
    f = c["representationSize"]
    return MaskRCNN(
        backbone,
        num_classes=None,
        min_size=c["transform"]["minSize"],
        max_size=c["transform"]["maxSize"],
        box_head=TwoMLPHead(c["fpnChannels"] * 7 * 7, f),
        box_predictor=FastRCNNPredictor(f, k),
        mask_head=MaskRCNNHeads(c["fpnChannels"], c["maskLayers"], 1),
        mask_predictor=MaskRCNNPredictor(c["maskLayers"][-1], c["maskDimReduced"], k),
    )


class Recorder:
    def __init__(self, out):
        self.out = out
        self.index = {}
        os.makedirs(os.path.join(out, "tensors"), exist_ok=True)

    def add(self, name, t):
        t = t.detach().cpu()
        if t.dtype in (torch.int64, torch.int32, torch.uint8, torch.bool):
            arr, dtype = t.to(torch.int32).numpy(), "int32"
        else:
            arr, dtype = t.to(torch.float32).numpy(), "float32"
        if not np.all(np.isfinite(arr)):
            sys.exit(f"make_fixtures: {name} has non-finite values; the seeded model is degenerate")
        fname = name.replace("/", "__") + ".bin"
        arr.astype("<" + arr.dtype.str[1:]).tofile(os.path.join(self.out, "tensors", fname))
        self.index[name] = {"shape": list(arr.shape), "dtype": dtype, "file": "tensors/" + fname}

    def add_levels(self, prefix, levels):
        for k, v in levels.items():
            self.add(f"{prefix}/{k}", v)

    def write_index(self, meta):
        with open(os.path.join(self.out, "index.json"), "w") as f:
            json.dump({"meta": meta, "tensors": self.index}, f, indent=1)


def randomise_frozen_bn(model, gen):
    # With weights=None torchvision builds the backbone with nn.BatchNorm2d (in eval mode the same
    # affine map as FrozenBatchNorm2d, plus a num_batches_tracked buffer that loaders must skip);
    # with published weights it uses FrozenBatchNorm2d. Either way the four tensors are randomised.
    n = 0
    for m in model.modules():
        if isinstance(m, (FrozenBatchNorm2d, torch.nn.BatchNorm2d)):
            c = m.weight.shape[0]
            m.weight.copy_(torch.empty(c).uniform_(0.5, 1.5, generator=gen))
            m.bias.copy_(torch.empty(c).normal_(0.0, 0.2, generator=gen))
            m.running_mean.copy_(torch.empty(c).normal_(0.0, 0.2, generator=gen))
            m.running_var.copy_(torch.empty(c).uniform_(0.5, 2.0, generator=gen))
            n += 1
    return n


def load_images(out):
    import skimage.data
    from PIL import Image

    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    tensors = []
    for name in IMAGES:
        arr = getattr(skimage.data, name)()
        Image.fromarray(arr).save(os.path.join(out, "images", f"{name}.png"))
        # What torchvision's to_tensor does: uint8 HWC -> float32 CHW / 255.
        tensors.append(torch.from_numpy(arr).permute(2, 0, 1).float().div(255))
    return tensors


@torch.no_grad()
def main():
    args = parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)

    model = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None) if args.variant == "r50" else build_small_model()
    n_bn = randomise_frozen_bn(model, gen)
    model.roi_heads.box_predictor.cls_score.weight.mul_(CLS_SCORE_GAIN)
    model.rpn.head.cls_logits.weight.mul_(RPN_OBJECTNESS_GAIN)
    model.rpn.head.cls_logits.bias.mul_(RPN_OBJECTNESS_GAIN)
    model.rpn.head.bbox_pred.weight.mul_(RPN_DELTA_GAIN)
    model.rpn.head.bbox_pred.bias.mul_(RPN_DELTA_GAIN)
    model.roi_heads.mask_predictor.mask_fcn_logits.weight.mul_(MASK_LOGIT_GAIN)
    model.roi_heads.mask_predictor.mask_fcn_logits.bias.mul_(MASK_LOGIT_GAIN)
    model.eval()
    torch.save(model.state_dict(), os.path.join(out, "maskrcnn_seeded.pth"))

    rec = Recorder(out)
    images = load_images(out)
    for name, img in zip(IMAGES, images):
        rec.add(f"input/{name}", img)

    image_list, _ = model.transform(images)
    rec.add("transform/images", image_list.tensors)
    rec.add("transform/image_sizes", torch.tensor(image_list.image_sizes))

    body = model.backbone.body(image_list.tensors)
    rec.add_levels("body", body)
    fpn = model.backbone.fpn(body)
    rec.add_levels("fpn", fpn)

    small = image_list.tensors[:1, :, : SMALL_CROP[0], : SMALL_CROP[1]].contiguous()
    rec.add("small/input", small)
    small_body = model.backbone.body(small)
    rec.add_levels("small/body", small_body)
    rec.add_levels("small/fpn", model.backbone.fpn(small_body))

    # Region proposals: per-level head outputs, then the proposals each image keeps.
    feats = list(fpn.values())
    objectness, deltas = model.rpn.head(feats)
    for name, o, d in zip(fpn.keys(), objectness, deltas):
        rec.add(f"rpn/objectness/{name}", o)
        rec.add(f"rpn/deltas/{name}", d)
    proposals, _ = model.rpn(image_list, fpn)
    for i, p in enumerate(proposals):
        rec.add(f"rpn/proposals/{i}", p)

    # Box branch on those proposals.
    rh = model.roi_heads
    box_features = rh.box_roi_pool(fpn, proposals, image_list.image_sizes)
    rec.add("roi/box_features", box_features)
    class_logits, box_regression = rh.box_predictor(rh.box_head(box_features))
    rec.add("roi/class_logits", class_logits)
    rec.add("roi/box_regression", box_regression)
    detections, _ = rh(fpn, proposals, image_list.image_sizes)
    for i, d in enumerate(detections):
        for k in ("boxes", "scores", "labels", "masks"):
            rec.add(f"det/{k}/{i}", d[k])
    det_boxes = [d["boxes"] for d in detections]
    mask_features = rh.mask_roi_pool(fpn, det_boxes, image_list.image_sizes)
    rec.add("det/mask_features", mask_features)
    rec.add("det/mask_logits", rh.mask_predictor(rh.mask_head(mask_features)))

    # The whole model, as a user calls it: results in original image coordinates.
    final = model(images)
    for i, d in enumerate(final):
        for k in ("boxes", "scores", "labels", "masks"):
            rec.add(f"final/{k}/{i}", d[k])
    counts = [len(d["boxes"]) for d in final]
    if min(counts) < 5:
        sys.exit(f"make_fixtures: only {counts} detections per image; the parity test needs more")

    meta = {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "seed": SEED,
        "images": list(IMAGES),
        "batch_norms_randomised": n_bn,
        "state_dict_keys": len(model.state_dict()),
        "proposals": [len(p) for p in proposals],
        "detections": counts,
        "cls_score_gain": CLS_SCORE_GAIN,
        "rpn_objectness_gain": RPN_OBJECTNESS_GAIN,
        "rpn_delta_gain": RPN_DELTA_GAIN,
        "mask_logit_gain": MASK_LOGIT_GAIN,
        "variant": args.variant,
        "config": SMALL_CONFIG if args.variant == "small" else {},
    }
    rec.write_index(meta)
    print(f"make_fixtures: wrote {len(rec.index)} tensors and the seeded state_dict to {out}")


if __name__ == "__main__":
    main()
