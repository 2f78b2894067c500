#!/usr/bin/python3
"""Training-mode reference fixtures from torchvision for the training-loss parity test.

Builds the same seeded maskrcnn_resnet50_fpn as tools/parity/make_fixtures.py (its seed, batch
norm randomisation and head gains, imported from it), switches it to training mode and computes
torchvision 0.14's five losses on a small batch with masks, then the gradients of a few
parameters after loss.backward().

Deterministic sampling: both fg/bg samplers get a batch size far above the number of candidates,
so torchvision takes every positive and every negative (min(num_pos, B * f) = num_pos and
min(num_neg, B - num_pos) = num_neg) and its random permutation changes nothing but the order of
a sum. The TypeScript side uses the same sizes.

The backbone of a weights=None model uses nn.BatchNorm2d; in training mode that would normalise
with batch statistics, which FrozenBatchNorm2d (torchvision's choice for pretrained backbones,
and ours) never does. The batch norms are therefore kept in eval mode: the running statistics
are used, exactly the frozen affine map.

The transform is bypassed: the batch is normalised and padded here (to a multiple of 32) and
recorded, and the model's backbone, rpn and roi_heads run on it as GeneralizedRCNN.forward does.

Output (git-ignored): .fixtures/training/
  maskrcnn_seeded_train.pth  the state_dict (torch.save zip format)
  index.json                 {meta, tensors: {name: {shape, dtype, file}}}
  (batch/*, targets/*, losses/*, grads/*: the two-image batch; empty/*: image 1 alone, no GT;
   trajectory/*: 20 plain-SGD steps on the batch with fixed proposals, float32 and float64;
   batchnorm/*: the small ResNet-18 model with BatchNorm2d in training mode, its losses,
   gradients and moved running statistics, with maskrcnn_small_batchnorm.pth)
  tensors/<name>.bin         raw little-endian float32 / int32 data, torch layout

Run standalone: /usr/bin/python3 tools/parity/make_training_fixtures.py [--out DIR]
"""
import argparse
import copy
import os
import sys

import numpy as np
import torch
import torchvision
from torchvision.models.detection import maskrcnn_resnet50_fpn
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.rpn import concat_box_prediction_layers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402  (seed, batch-norm randomisation, head gains, Recorder)

# torch 1.13 on CPU runs float32 convolutions through oneDNN (mkldnn). Its backward pass is
# coarser than the native path: on this model its layer2.0.conv2 gradient is 1.9e-3 (relative,
# max-abs) from the float64 gradient, the native path's 7.5e-5. The reference must be the more
# exact of torchvision's own float32 computations, so oneDNN is turned off (it changes no result
# beyond rounding: the float64 check below and the parity test print both distances).
torch.backends.mkldnn.enabled = False

# Take-all sampling (see the module docstring); the TypeScript test passes the same values.
TAKE_ALL = 1_000_000
# Two images of different sizes padded into one 128 x 160 batch.
IMAGE_SIZES = [(128, 160), (120, 150)]
BATCH_SHAPE = (128, 160)
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
# Ground truth per image: (label, box xyxy in resized pixels, mask shape).
GROUND_TRUTH = [
    [(1, (10.0, 12.0, 70.0, 90.0), "ellipse"), (18, (60.5, 30.25, 150.0, 110.0), "rect"), (3, (90.0, 5.0, 130.0, 40.0), "ellipse")],
    [(5, (20.0, 20.0, 100.0, 100.0), "ellipse"), (62, (4.0, 60.0, 60.0, 116.0), "rect")],
]
# Sampled parameters of every trained stage (issue 6): RPN head, box head and predictor, mask
# head and predictor, FPN, ResNet layer4 and layer2.
GRAD_PARAMS = [
    "rpn.head.conv.0.0.weight",
    "rpn.head.bbox_pred.weight",
    "roi_heads.box_head.fc6.weight",
    "roi_heads.box_head.fc7.bias",
    "roi_heads.box_predictor.cls_score.weight",
    "roi_heads.box_predictor.bbox_pred.weight",
    "roi_heads.mask_head.0.0.weight",
    "roi_heads.mask_predictor.conv5_mask.weight",
    "roi_heads.mask_predictor.mask_fcn_logits.weight",
    "backbone.fpn.inner_blocks.3.0.weight",
    "backbone.fpn.layer_blocks.0.0.weight",
    "backbone.body.layer4.0.conv1.weight",
    "backbone.body.layer2.0.conv2.weight",
]
LOSS_NAMES = ["loss_objectness", "loss_rpn_box_reg", "loss_classifier", "loss_box_reg", "loss_mask"]
# The training trajectory (issue 10): plain SGD (no momentum, no weight decay) from the seeded
# model on the same batch, take-all sampling, every parameter but the batch norms' (frozen on our
# side) trained, the five losses recorded before each of TRAJECTORY_STEPS updates. The RoI heads
# train on proposals fixed at step 0 (TRAJECTORY_TOP_N per image, recorded): proposal selection
# (top-n, NMS) is discontinuous, and with live proposals torchvision's own float32 and float64
# runs of these 20 steps drift apart by up to 16% (measured at lr 1e-4), so no bound could tell a
# fault from a flipped proposal. Everything else (backbone, FPN, RPN head and its losses on fixed
# anchors, box and mask heads) runs and trains as in GeneralizedRCNN.forward.
TRAJECTORY_STEPS = 20
TRAJECTORY_LR = 1e-4
TRAJECTORY_TOP_N = 300


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", ".fixtures", "training"))
    return p.parse_args()


def make_mask(h, w, box, kind):
    x0, y0, x1, y1 = box
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    if kind == "rect":
        m = (xx >= x0 + 3) & (xx <= x1 - 3) & (yy >= y0 + 3) & (yy <= y1 - 3)
    else:
        cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
        m = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0
    return m.astype(np.uint8)


def make_images(gen):
    """Smooth random colour fields (features vary over the image), values in [0, 1]."""
    images = []
    for h, w in IMAGE_SIZES:
        coarse = torch.rand(1, 3, h // 8, w // 8, generator=gen)
        img = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)[0]
        images.append((img + 0.1 * torch.rand(3, h, w, generator=gen)).clamp(0, 1))
    return images


def trajectory(rec, model, batch, targets):
    """TRAJECTORY_STEPS plain-SGD steps from `model`'s weights, in float32 and in float64.

    Records trajectory/proposals/<i> (the fixed proposals), trajectory/losses [steps, 5] (the
    losses each update was computed from) and trajectory64/losses (the same run in float64: how
    far torchvision's own float32 run drifts from the exact one). Returns the names of the
    trained parameters.
    """
    sizes = list(IMAGE_SIZES)
    fixed = copy.deepcopy(model)
    fixed.rpn._pre_nms_top_n["training"] = TRAJECTORY_TOP_N
    fixed.rpn._post_nms_top_n["training"] = TRAJECTORY_TOP_N
    with torch.no_grad():
        proposals, _ = fixed.rpn(ImageList(batch, sizes), fixed.backbone(batch), targets)
    for i, p in enumerate(proposals):
        rec.add(f"trajectory/proposals/{i}", p)

    def run(dtype):
        m = copy.deepcopy(model).to(dtype)
        frozen = set()
        for name, mod in m.named_modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                frozen.update({f"{name}.weight", f"{name}.bias"})
        named = [(n, p) for n, p in m.named_parameters() if n not in frozen]
        opt = torch.optim.SGD([p for _, p in named], lr=TRAJECTORY_LR, momentum=0.0, weight_decay=0.0)
        x = batch.to(dtype)
        tg = [{**t, "boxes": t["boxes"].to(dtype)} for t in targets]
        props = [p.to(dtype) for p in proposals]
        image_list = ImageList(x, sizes)
        history = []
        for _ in range(TRAJECTORY_STEPS):
            feats = m.backbone(x)
            # RegionProposalNetwork.forward's losses, without its (discontinuous) proposal selection.
            levels = list(feats.values())
            objectness, deltas = m.rpn.head(levels)
            anchors = m.rpn.anchor_generator(image_list, levels)
            objectness, deltas = concat_box_prediction_layers(objectness, deltas)
            labels, matched_gt_boxes = m.rpn.assign_targets_to_anchors(anchors, tg)
            regression_targets = m.rpn.box_coder.encode(matched_gt_boxes, anchors)
            loss_objectness, loss_rpn_box_reg = m.rpn.compute_loss(objectness, deltas, labels, regression_targets)
            _, roi_l = m.roi_heads(feats, props, sizes, tg)
            losses = {"loss_objectness": loss_objectness, "loss_rpn_box_reg": loss_rpn_box_reg, **roi_l}
            history.append([float(losses[k]) for k in LOSS_NAMES])
            opt.zero_grad()
            sum(losses[k] for k in LOSS_NAMES).backward()
            opt.step()
        return torch.tensor(history, dtype=torch.float64), [n for n, _ in named]

    losses32, names = run(torch.float32)
    losses64, _ = run(torch.float64)
    rec.add("trajectory/losses", losses32.float())
    rec.add("trajectory64/losses", losses64.float())
    drift = ((losses32 - losses64).abs() / losses64.abs()).max().item()
    print(f"make_training_fixtures: trajectory total loss {losses32[0].sum():.4f} -> {losses32[-1].sum():.4f}; float32 vs float64 max relative {drift:.2e}")
    return names


# The batch-norm case (backboneNorm 'batch'): torchvision's small Mask R-CNN
# (make_fixtures.build_small_model, ResNet-18) built with nn.BatchNorm2d, as torchvision builds a
# backbone it trains from scratch, in training mode: batch statistics in the forward, the running
# statistics moved once. Labels fit its 7 classes.
BN_LABELS = [[1, 2, 3], [4, 6]]
BN_GRAD_PARAMS = [
    "backbone.body.conv1.weight",
    "backbone.body.bn1.weight",
    "backbone.body.bn1.bias",
    "backbone.body.layer1.0.bn2.weight",
    "backbone.body.layer2.0.downsample.1.weight",
    "backbone.body.layer3.1.conv2.weight",
    "backbone.body.layer4.1.bn2.bias",
    "backbone.fpn.layer_blocks.0.0.weight",
    "rpn.head.conv.0.0.weight",
    "roi_heads.box_predictor.cls_score.weight",
    "roi_heads.mask_predictor.mask_fcn_logits.weight",
]
BN_RUNNING = ["backbone.body.bn1", "backbone.body.layer2.0.downsample.1", "backbone.body.layer4.1.bn2"]


def batchnorm_training(rec, out, batch, targets, gen):
    """Losses, gradients and updated running statistics of the small model with BatchNorm2d in
    training mode (batchnorm/*), and its float64 gradients (batchnorm64/*)."""
    model = mf.build_small_model(norm_layer=torch.nn.BatchNorm2d)
    with torch.no_grad():
        mf.randomise_frozen_bn(model, gen)
        model.rpn.head.cls_logits.weight.mul_(mf.RPN_OBJECTNESS_GAIN)
        model.rpn.head.cls_logits.bias.mul_(mf.RPN_OBJECTNESS_GAIN)
        model.rpn.head.bbox_pred.weight.mul_(mf.RPN_DELTA_GAIN)
        model.rpn.head.bbox_pred.bias.mul_(mf.RPN_DELTA_GAIN)
    torch.save(model.state_dict(), os.path.join(out, "maskrcnn_small_batchnorm.pth"))
    model.rpn.fg_bg_sampler.batch_size_per_image = TAKE_ALL
    model.roi_heads.fg_bg_sampler.batch_size_per_image = TAKE_ALL
    tg = [{**t, "labels": torch.tensor(BN_LABELS[i], dtype=torch.int64)} for i, t in enumerate(targets)]
    for i, t in enumerate(tg):
        rec.add(f"batchnorm/targets/{i}/labels", t["labels"])

    def step(m, x, tgs):
        m.train()  # BatchNorm2d too: batch statistics, running statistics moved once
        image_list = ImageList(x, list(IMAGE_SIZES))
        features = m.backbone(x)
        proposals, rpn_losses = m.rpn(image_list, features, tgs)
        _, roi_losses = m.roi_heads(features, proposals, image_list.image_sizes, tgs)
        losses = {**rpn_losses, **roi_losses}
        m.zero_grad()
        sum(losses[k] for k in LOSS_NAMES).backward()
        return losses, proposals

    m64 = copy.deepcopy(model).double()
    losses, proposals = step(model, batch, tg)
    for name in LOSS_NAMES:
        rec.add(f"batchnorm/losses/{name}", losses[name].detach().reshape(()))
    params = dict(model.named_parameters())
    for name in BN_GRAD_PARAMS:
        rec.add(f"batchnorm/grads/{name}", params[name].grad)
    modules = dict(model.named_modules())
    for name in BN_RUNNING:
        rec.add(f"batchnorm/running/{name}.running_mean", modules[name].running_mean)
        rec.add(f"batchnorm/running/{name}.running_var", modules[name].running_var)
    tg64 = [{**t, "boxes": t["boxes"].double()} for t in tg]
    losses64, proposals64 = step(m64, batch.double(), tg64)
    if [len(p) for p in proposals64] != [len(p) for p in proposals]:
        sys.exit("make_training_fixtures: batch-norm case: float64 proposals differ from float32 ones")
    params64 = dict(m64.named_parameters())
    for name in BN_GRAD_PARAMS:
        rec.add(f"batchnorm64/grads/{name}", params64[name].grad)
    return {
        "config": {**mf.SMALL_CONFIG, "backboneNorm": "batch", "trainableBackboneLayers": 5},
        "proposals": [len(p) for p in proposals],
        "losses": {k: float(losses[k]) for k in LOSS_NAMES},
        "grad_params": BN_GRAD_PARAMS,
        "running": BN_RUNNING,
        "momentum": 0.1,
    }


def main():
    args = parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(mf.SEED)
    gen = torch.Generator().manual_seed(mf.SEED)

    model = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None)
    with torch.no_grad():
        n_bn = mf.randomise_frozen_bn(model, gen)
        # No classifier gain here (the inference fixtures need it to get detections): with it
        # the classification loss is ~97 and its gradient dwarfs the rest, so float32 rounding
        # in the deepest layers decides the comparison rather than the implementation.
        model.rpn.head.cls_logits.weight.mul_(mf.RPN_OBJECTNESS_GAIN)
        model.rpn.head.cls_logits.bias.mul_(mf.RPN_OBJECTNESS_GAIN)
        model.rpn.head.bbox_pred.weight.mul_(mf.RPN_DELTA_GAIN)
        model.rpn.head.bbox_pred.bias.mul_(mf.RPN_DELTA_GAIN)
        model.roi_heads.mask_predictor.mask_fcn_logits.weight.mul_(mf.MASK_LOGIT_GAIN)
        model.roi_heads.mask_predictor.mask_fcn_logits.bias.mul_(mf.MASK_LOGIT_GAIN)
    torch.save(model.state_dict(), os.path.join(out, "maskrcnn_seeded_train.pth"))

    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()  # running statistics: the FrozenBatchNorm2d map (see the docstring)
    model.rpn.fg_bg_sampler.batch_size_per_image = TAKE_ALL
    model.roi_heads.fg_bg_sampler.batch_size_per_image = TAKE_ALL

    rec = mf.Recorder(out)
    images = make_images(gen)
    batch = torch.zeros(len(images), 3, *BATCH_SHAPE)
    mean = torch.tensor(MEAN)[:, None, None]
    std = torch.tensor(STD)[:, None, None]
    for i, img in enumerate(images):
        h, w = IMAGE_SIZES[i]
        batch[i, :, :h, :w] = (img - mean) / std
    rec.add("batch/images", batch)
    rec.add("batch/image_sizes", torch.tensor(IMAGE_SIZES))

    targets = []
    for i, gts in enumerate(GROUND_TRUTH):
        h, w = IMAGE_SIZES[i]
        boxes = torch.tensor([b for _, b, _ in gts], dtype=torch.float32).reshape(-1, 4)
        labels = torch.tensor([l for l, _, _ in gts], dtype=torch.int64)
        masks = torch.from_numpy(np.stack([make_mask(h, w, b, k) for _, b, k in gts])) if gts else torch.zeros(0, h, w, dtype=torch.uint8)
        targets.append({"boxes": boxes, "labels": labels, "masks": masks})
        rec.add(f"targets/{i}/boxes", boxes)
        rec.add(f"targets/{i}/labels", labels)
        rec.add(f"targets/{i}/masks", masks)

    # GeneralizedRCNN.forward after the transform.
    image_list = ImageList(batch, list(IMAGE_SIZES))
    features = model.backbone(batch)
    proposals, rpn_losses = model.rpn(image_list, features, targets)
    for i, p in enumerate(proposals):
        rec.add(f"rpn/proposals/{i}", p)
    _, roi_losses = model.roi_heads(features, proposals, image_list.image_sizes, targets)
    losses = {**rpn_losses, **roi_losses}
    for name in LOSS_NAMES:
        rec.add(f"losses/{name}", losses[name].detach().reshape(()))
    total = sum(losses[name] for name in LOSS_NAMES)
    model.zero_grad()
    total.backward()
    params = dict(model.named_parameters())
    for name in GRAD_PARAMS:
        rec.add(f"grads/{name}", params[name].grad)

    # The same step in float64: how far torchvision's own float32 gradients are from the exact
    # ones (at most ~5e-4 here, with oneDNN off); the parity test prints our distance to both.
    model64 = copy.deepcopy(model).double()
    targets64 = [{**t, "boxes": t["boxes"].double()} for t in targets]
    batch64 = batch.double()
    features64 = model64.backbone(batch64)
    proposals64, rpn64 = model64.rpn(ImageList(batch64, list(IMAGE_SIZES)), features64, targets64)
    if [len(p) for p in proposals64] != [len(p) for p in proposals]:
        sys.exit("make_training_fixtures: float64 proposals differ from float32 ones; cannot use them as a yardstick")
    _, roi64 = model64.roi_heads(features64, proposals64, list(IMAGE_SIZES), targets64)
    model64.zero_grad()
    sum({**rpn64, **roi64}[n] for n in LOSS_NAMES).backward()
    params64 = dict(model64.named_parameters())
    for name in GRAD_PARAMS:
        rec.add(f"grads64/{name}", params64[name].grad)

    # An image without ground truth, alone: torchvision's losses on background only (box, mask
    # and RPN box losses are 0; objectness and classifier are not).
    h, w = IMAGE_SIZES[1]
    empty_batch = batch[1:2].clone()
    rec.add("empty/batch/images", empty_batch)
    empty_targets = [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64), "masks": torch.zeros(0, h, w, dtype=torch.uint8)}]
    with torch.no_grad():
        empty_features = model.backbone(empty_batch)
        empty_proposals, empty_rpn = model.rpn(ImageList(empty_batch, [(h, w)]), empty_features, empty_targets)
        _, empty_roi = model.roi_heads(empty_features, empty_proposals, [(h, w)], empty_targets)
    empty_losses = {**empty_rpn, **empty_roi}
    for name in LOSS_NAMES:
        rec.add(f"empty/losses/{name}", empty_losses[name].reshape(()))

    trajectory_params = trajectory(rec, model, batch, targets)
    batchnorm = batchnorm_training(rec, out, batch, targets, gen)

    meta = {
        "trajectory": {"steps": TRAJECTORY_STEPS, "lr": TRAJECTORY_LR, "rpn_top_n": TRAJECTORY_TOP_N, "params": trajectory_params},
        "batchnorm": batchnorm,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "seed": mf.SEED,
        "take_all": TAKE_ALL,
        "image_sizes": IMAGE_SIZES,
        "batch_shape": BATCH_SHAPE,
        "batch_norms_randomised": n_bn,
        "proposals": [len(p) for p in proposals],
        "losses": {k: float(losses[k]) for k in LOSS_NAMES},
        "grad_params": GRAD_PARAMS,
        "empty_proposals": [len(p) for p in empty_proposals],
        "empty_losses": {k: float(empty_losses[k]) for k in LOSS_NAMES},
        "rpn_pre_nms_top_n_train": model.rpn._pre_nms_top_n["training"],
        "rpn_post_nms_top_n_train": model.rpn._post_nms_top_n["training"],
    }
    rec.write_index(meta)
    print(f"make_training_fixtures: losses {meta['losses']}, proposals {meta['proposals']}; wrote {len(rec.index)} tensors to {out}")


if __name__ == "__main__":
    main()
