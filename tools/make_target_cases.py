#!/usr/bin/python3
"""Writes the target-assignment and loss parity fixtures under test/fixtures/targets/.

Run with the system interpreter (torch 1.13, torchvision 0.14):

    /usr/bin/python3 tools/make_target_cases.py

Every array is stored as {"shape", "dtype", "b64"}: base64 of little-endian bytes (float32,
int32 or uint8), so values round-trip exactly. Seeds are fixed; rerunning gives the same files.

The cases call torchvision's own code: det_utils.Matcher, det_utils.BalancedPositiveNegativeSampler,
RegionProposalNetwork.assign_targets_to_anchors / compute_loss, RoIHeads.select_training_samples,
roi_heads.fastrcnn_loss, roi_heads.project_masks_on_boxes and roi_heads.maskrcnn_loss. Sampling
is random in torchvision; the parity cases are built so that every candidate is taken (the
"take-all" regime: batch_size_per_image larger than the candidates), which makes it deterministic.
"""
import base64
import json
import os

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.roi_heads import (
    RoIHeads,
    fastrcnn_loss,
    maskrcnn_loss,
    project_masks_on_boxes,
)
from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead
from torchvision.ops import boxes as box_ops

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "targets")


def arr(t):
    """Tensor -> {"shape", "dtype", "b64"} with exact little-endian bytes."""
    t = t.detach().contiguous()
    if t.dtype in (torch.float32, torch.float64):
        dtype, data = "float32", t.to(torch.float32).numpy().astype("<f4")
    elif t.dtype in (torch.int64, torch.int32, torch.int16, torch.int8):
        dtype, data = "int32", t.to(torch.int32).numpy().astype("<i4")
    elif t.dtype in (torch.uint8, torch.bool):
        dtype, data = "uint8", t.to(torch.uint8).numpy().astype("u1")
    else:
        raise TypeError(f"unsupported dtype {t.dtype}")
    return {"shape": list(t.shape), "dtype": dtype, "b64": base64.b64encode(data.tobytes()).decode()}


def write(name, obj):
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
    print(f"{path}: {os.path.getsize(path)} bytes")


def random_boxes(n, max_x, max_y, min_wh, max_wh, gen):
    xy = torch.rand(n, 2, generator=gen) * torch.tensor([max_x, max_y])
    wh = min_wh + torch.rand(n, 2, generator=gen) * (max_wh - min_wh)
    return torch.cat([xy, xy + wh], dim=1)


def jitter_boxes(boxes, n_each, scale, gen):
    """Boxes near the given ones: proposals that overlap the ground truth at varied IoU."""
    rep = boxes.repeat_interleave(n_each, dim=0)
    wh = (rep[:, 2:] - rep[:, :2]).repeat(1, 2)
    out = rep + (torch.rand(rep.shape, generator=gen) - 0.5) * 2 * scale * wh
    x1 = torch.minimum(out[:, 0], out[:, 2] - 1)
    y1 = torch.minimum(out[:, 1], out[:, 3] - 1)
    return torch.stack([x1, y1, out[:, 2], out[:, 3]], dim=1)


# --------------------------------------------------------------------------------------------
# Matcher


def matcher_cases():
    gen = torch.Generator().manual_seed(1)
    cases = []

    def add(name, quality, high, low, allow):
        m = det_utils.Matcher(high, low, allow_low_quality_matches=allow)
        matches = m(quality.clone())
        cases.append(
            {
                "name": name,
                "high": high,
                "low": low,
                "allowLowQualityMatches": allow,
                "quality": arr(quality),
                "matches": arr(matches),
            }
        )

    gt = random_boxes(5, 200, 150, 20, 120, gen)
    anchors = torch.cat([jitter_boxes(gt, 30, 0.4, gen), random_boxes(150, 250, 200, 8, 150, gen)])
    iou = box_ops.box_iou(gt, anchors)
    add("rpn_random", iou, 0.7, 0.3, True)
    add("roi_random", iou, 0.5, 0.5, False)

    # Duplicate anchors: every GT's best IoU is shared by several predictions (ties), and two
    # GTs share an identical box (ties in the max over GT: the first GT index wins).
    gt2 = torch.tensor([[10.0, 10.0, 50.0, 60.0], [100.0, 20.0, 140.0, 50.0], [100.0, 20.0, 140.0, 50.0]])
    base = torch.tensor(
        [
            [0.0, 0.0, 40.0, 40.0],
            [90.0, 30.0, 160.0, 90.0],
            [200.0, 200.0, 220.0, 230.0],
            [12.0, 14.0, 48.0, 70.0],
        ]
    )
    anchors2 = torch.cat([base, base, base[:2]])
    add("ties_rpn", box_ops.box_iou(gt2, anchors2), 0.7, 0.3, True)
    add("ties_roi", box_ops.box_iou(gt2, anchors2), 0.5, 0.5, False)

    # Hand-written quality values exactly at float32(0.7), float32(0.3) and 0.5, and just off.
    f = lambda x: float(np.float32(x))  # noqa: E731
    below = lambda x: float(np.nextafter(np.float32(x), np.float32(0)))  # noqa: E731
    q = torch.tensor(
        [
            [f(0.7), below(0.7), f(0.3), below(0.3), 0.5, below(0.5), 0.0, 0.1, 1.0],
            [0.0, 0.2, 0.2, 0.1, 0.45, 0.5, 0.25, 0.1, 0.99],
        ],
        dtype=torch.float32,
    )
    add("thresholds_rpn", q, 0.7, 0.3, True)
    add("thresholds_roi", q, 0.5, 0.5, False)
    add("thresholds_rpn_no_low_quality", q, 0.7, 0.3, False)

    # Only low-quality matches: every prediction would be background without set_low_quality.
    q2 = torch.tensor([[0.1, 0.25, 0.25, 0.05], [0.2, 0.0, 0.15, 0.2]], dtype=torch.float32)
    add("low_quality_only", q2, 0.7, 0.3, True)

    # A GT with zero overlap everywhere: its "best" predictions are all predictions with 0
    # (torchvision matches every such prediction to its argmax GT, here the first).
    q3 = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.8, 0.1]], dtype=torch.float32)
    add("zero_row", q3, 0.7, 0.3, True)

    # NaN quality (IoU of two empty boxes): torch's max propagates NaN.
    q4 = torch.tensor([[0.1, float("nan"), 0.8], [0.9, 0.2, float("nan")]], dtype=torch.float32)
    add("nan_rpn", q4, 0.7, 0.3, True)
    add("nan_roi", q4, 0.5, 0.5, False)
    return cases


# --------------------------------------------------------------------------------------------
# Sampler (take-all regime, and counts when a random subset is drawn)


def sampler_cases():
    gen = torch.Generator().manual_seed(2)
    cases = []

    def add(name, labels, batch, fraction, take_all):
        torch.manual_seed(0)
        s = det_utils.BalancedPositiveNegativeSampler(batch, fraction)
        pos, neg = s([labels])
        n_pos, n_neg = int((labels >= 1).sum()), int((labels == 0).sum())
        if take_all:
            assert int(pos[0].sum()) == n_pos and int(neg[0].sum()) == n_neg, name
        cases.append(
            {
                "name": name,
                "labels": arr(labels),
                "batchSizePerImage": batch,
                "positiveFraction": fraction,
                "takeAll": take_all,
                "positiveMask": arr(pos[0]),
                "negativeMask": arr(neg[0]),
            }
        )

    lab = torch.randint(-1, 2, (200,), generator=gen)
    add("rpn_take_all", lab, 2000, 0.5, True)
    lab2 = torch.randint(-1, 4, (300,), generator=gen)  # classes 1..3: RoI labels
    add("roi_take_all", lab2, 5000, 0.25, True)
    lab3 = torch.tensor([1, 0, 0, -1, 2, 0, -1, 0, 1])
    add("fraction_floor", lab3, 7, 0.3, False)  # int(7 * 0.3) = 2 positives, 5 negatives
    add("few_candidates", torch.tensor([0, 0, -1, 1]), 256, 0.5, True)
    add("all_ignored", torch.full((10,), -1, dtype=torch.int64), 256, 0.5, True)
    add("empty", torch.zeros((0,), dtype=torch.int64), 256, 0.5, True)
    lab4 = torch.where(torch.rand(5000, generator=gen) < 0.05, 1, 0)
    lab4[torch.rand(5000, generator=gen) < 0.3] = -1
    add("rpn_counts", lab4, 256, 0.5, False)
    lab5 = torch.where(torch.rand(2000, generator=gen) < 0.2, torch.randint(1, 81, (2000,), generator=gen), 0)
    add("roi_counts", lab5, 512, 0.25, False)
    return cases


# --------------------------------------------------------------------------------------------
# RPN targets and loss


def make_rpn(batch=256, fraction=0.5):
    anchor_gen = AnchorGenerator(((32,), (64,)), ((0.5, 1.0, 2.0),) * 2)
    head = RPNHead(4, 3)
    return RegionProposalNetwork(
        anchor_gen, head, 0.7, 0.3, batch, fraction, dict(training=2000, testing=1000), dict(training=2000, testing=1000), 0.7
    )


def rpn_target_cases():
    gen = torch.Generator().manual_seed(3)
    rpn = make_rpn()
    # Grid anchors of a 48x64 image with stride-4 and stride-8 levels.
    images = ImageList(torch.zeros(1, 3, 48, 64), [(48, 64)])
    feats = [torch.zeros(1, 4, 12, 16), torch.zeros(1, 4, 6, 8)]
    grid = rpn.anchor_generator(images, feats)[0]
    random_anchors = torch.cat(
        [jitter_boxes(torch.tensor([[20.0, 10.0, 60.0, 40.0]]), 40, 0.3, gen), random_boxes(60, 90, 60, 4, 50, gen)]
    )
    sets = [
        ("grid_three_gt", grid, torch.tensor([[5.0, 6.0, 40.0, 45.0], [30.0, 10.0, 62.0, 30.0], [30.0, 26.0, 50.0, 47.0]])),
        ("grid_single_gt", grid, torch.tensor([[10.0, 8.0, 50.0, 40.0]])),
        ("grid_tiny_gt", grid, torch.tensor([[40.0, 30.0, 44.0, 35.0]])),  # only low-quality matches
        ("grid_no_gt", grid, torch.zeros((0, 4))),
        ("random_anchors", random_anchors, torch.cat([torch.tensor([[20.0, 10.0, 60.0, 40.0]]), random_boxes(2, 80, 50, 10, 40, gen)])),
    ]
    cases = []
    for name, anchors, gt in sets:
        labels, matched_gt = rpn.assign_targets_to_anchors([anchors], [{"boxes": gt}])
        targets = rpn.box_coder.encode(matched_gt, [anchors])[0]
        cases.append(
            {
                "name": name,
                "anchors": arr(anchors),
                "gtBoxes": arr(gt),
                "labels": arr(labels[0]),
                "regressionTargets": arr(targets),
            }
        )
    return cases


def rpn_loss_cases():
    """Targets + take-all sampling + compute_loss for two images, with gradients."""
    gen = torch.Generator().manual_seed(4)
    cases = []
    for name, n_anchors, gts in [
        ("two_images", 150, [random_boxes(3, 80, 60, 15, 50, gen), random_boxes(1, 80, 60, 20, 40, gen)]),
        ("with_empty_image", 120, [random_boxes(2, 80, 60, 15, 50, gen), torch.zeros((0, 4))]),
    ]:
        rpn = make_rpn(256, 0.5)
        anchors = []
        for g in gts:
            near = jitter_boxes(g, 15, 0.3, gen) if g.shape[0] else torch.zeros((0, 4))
            anchors.append(torch.cat([near, random_boxes(n_anchors - near.shape[0], 90, 70, 6, 60, gen)]))
        labels, matched_gt = rpn.assign_targets_to_anchors(anchors, [{"boxes": g} for g in gts])
        for lab in labels:
            # The parity needs the take-all regime: every candidate is sampled.
            assert int((lab >= 0).sum()) <= 256 and int((lab == 1).sum()) <= 128, name
        targets = rpn.box_coder.encode(matched_gt, anchors)
        total = sum(a.shape[0] for a in anchors)
        objectness = (torch.randn(total, 1, generator=gen) * 2).requires_grad_()
        deltas = (torch.randn(total, 4, generator=gen) * 0.3).requires_grad_()
        # Make a fifth of the positive deltas land inside smooth L1's quadratic zone (|d| < 1/9).
        with torch.no_grad():
            reg = torch.cat(targets)
            close = torch.rand(total, 4, generator=gen) < 0.2
            deltas[close] = reg[close] + (torch.rand(int(close.sum()), generator=gen) - 0.5) * 0.2
        torch.manual_seed(0)
        loss_obj, loss_box = rpn.compute_loss(objectness, deltas, labels, targets)
        # loss_objectness depends only on the objectness, loss_rpn_box_reg only on the deltas.
        g_obj, g_del = torch.autograd.grad(loss_obj + loss_box, [objectness, deltas])
        cases.append(
            {
                "name": name,
                "anchors": [arr(a) for a in anchors],
                "gtBoxes": [arr(g) for g in gts],
                "labels": [arr(lab) for lab in labels],
                "regressionTargets": [arr(t) for t in targets],
                "objectness": arr(objectness.flatten()),
                "predDeltas": arr(deltas),
                "lossObjectness": float(loss_obj),
                "lossRpnBoxReg": float(loss_box),
                "gradObjectness": arr(g_obj.flatten()),
                "gradPredDeltas": arr(g_del),
            }
        )
    return cases


def rpn_loss_only_cases():
    """compute_loss on random labels with a sampler so large that it takes everything."""
    gen = torch.Generator().manual_seed(5)
    rpn = make_rpn(10**6, 0.5)
    cases = []
    for name, sizes, p_pos, p_neg in [("random", [400, 300], 0.1, 0.6), ("no_positives", [200], 0.0, 0.7)]:
        labels = []
        for n in sizes:
            u = torch.rand(n, generator=gen)
            labels.append(torch.where(u < p_pos, 1.0, torch.where(u < p_pos + p_neg, 0.0, -1.0)))
        total = sum(sizes)
        targets = [torch.randn(n, 4, generator=gen) * 0.3 for n in sizes]
        objectness = (torch.randn(total, 1, generator=gen) * 3).requires_grad_()
        deltas = (torch.randn(total, 4, generator=gen) * 0.3).requires_grad_()
        loss_obj, loss_box = rpn.compute_loss(objectness, deltas, labels, targets)
        g1 = torch.autograd.grad(loss_obj, [objectness, deltas], allow_unused=True)
        g2 = torch.autograd.grad(loss_box, [objectness, deltas], allow_unused=True)
        zero = lambda g, like: g if g is not None else torch.zeros_like(like)  # noqa: E731
        cases.append(
            {
                "name": name,
                "labels": arr(torch.cat(labels)),
                "regressionTargets": arr(torch.cat(targets)),
                "objectness": arr(objectness.flatten()),
                "predDeltas": arr(deltas),
                "lossObjectness": float(loss_obj),
                "lossRpnBoxReg": float(loss_box),
                "gradObjectnessOfObjectness": arr(zero(g1[0], objectness).flatten()),
                "gradPredDeltasOfBoxReg": arr(zero(g2[1], deltas)),
            }
        )
    return cases


# --------------------------------------------------------------------------------------------
# RoI targets and Fast R-CNN loss


def make_roi_heads(batch=512, fraction=0.25):
    return RoIHeads(None, None, None, 0.5, 0.5, batch, fraction, (10.0, 10.0, 5.0, 5.0), 0.05, 0.5, 100)


def roi_target_cases():
    gen = torch.Generator().manual_seed(6)
    heads = make_roi_heads()
    gt_a = random_boxes(4, 150, 100, 20, 80, gen)
    gt_b = random_boxes(1, 150, 100, 30, 60, gen)
    images = [
        (torch.cat([jitter_boxes(gt_a, 12, 0.35, gen), random_boxes(80, 200, 150, 5, 100, gen)]), gt_a, torch.tensor([3, 1, 3, 2])),
        (torch.cat([jitter_boxes(gt_b, 10, 0.5, gen), random_boxes(40, 200, 150, 5, 100, gen)]), gt_b, torch.tensor([5])),
        (random_boxes(30, 200, 150, 5, 100, gen), torch.zeros((0, 4)), torch.zeros((0,), dtype=torch.int64)),
    ]
    proposals = [p for p, _, _ in images]
    targets = [{"boxes": g, "labels": l} for _, g, l in images]
    torch.manual_seed(0)
    props, matched, labels, reg = heads.select_training_samples([p.clone() for p in proposals], targets)
    for p, (orig, g, _) in zip(props, images):
        # take-all: every proposal (and appended GT box) is sampled
        assert p.shape[0] == orig.shape[0] + g.shape[0]
    return [
        {
            "name": "three_images",
            "proposals": [arr(p) for p in proposals],
            "gtBoxes": [arr(g) for _, g, _ in images],
            "gtLabels": [arr(l) for _, _, l in images],
            "sampledProposals": [arr(p) for p in props],
            "matchedIdxs": [arr(m) for m in matched],
            "labels": [arr(l) for l in labels],
            "regressionTargets": [arr(r) for r in reg],
        }
    ]


def fastrcnn_loss_cases():
    gen = torch.Generator().manual_seed(7)
    cases = []
    for name, sizes, k, p_fg in [("random", [40, 25], 5, 0.35), ("no_positives", [30], 4, 0.0), ("all_positive", [12], 3, 1.0)]:
        total = sum(sizes)
        labels = []
        for n in sizes:
            fg = torch.rand(n, generator=gen) < p_fg
            labels.append(torch.where(fg, torch.randint(1, k, (n,), generator=gen), 0))
        targets = [torch.randn(n, 4, generator=gen) * 0.4 for n in sizes]
        class_logits = (torch.randn(total, k, generator=gen) * 2).requires_grad_()
        box_regression = (torch.randn(total, 4 * k, generator=gen) * 0.4).requires_grad_()
        loss_cls, loss_box = fastrcnn_loss(class_logits, box_regression, labels, targets)
        g_cls = torch.autograd.grad(loss_cls, [class_logits])[0]
        g_box = torch.autograd.grad(loss_box, [box_regression], allow_unused=True)[0]
        if g_box is None:
            g_box = torch.zeros_like(box_regression)
        cases.append(
            {
                "name": name,
                "labels": arr(torch.cat(labels)),
                "regressionTargets": arr(torch.cat(targets)),
                "classLogits": arr(class_logits),
                "boxRegression": arr(box_regression),
                "lossClassifier": float(loss_cls),
                "lossBoxReg": float(loss_box),
                "gradClassLogits": arr(g_cls),
                "gradBoxRegression": arr(g_box),
            }
        )
    return cases


# --------------------------------------------------------------------------------------------
# Mask targets and Mask R-CNN loss


def blob_masks(boxes, h, w, gen):
    """0/1 ellipses inside each box, with random holes: uint8 [G, H, W]."""
    ys = torch.arange(h, dtype=torch.float32)[:, None] + 0.5
    xs = torch.arange(w, dtype=torch.float32)[None, :] + 0.5
    out = []
    for b in boxes:
        cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        rx, ry = (b[2] - b[0]) / 2, (b[3] - b[1]) / 2
        m = ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 <= 1
        m &= torch.rand(h, w, generator=gen) > 0.1
        out.append(m.to(torch.uint8))
    return torch.stack(out) if out else torch.zeros((0, h, w), dtype=torch.uint8)


def mask_target_cases():
    gen = torch.Generator().manual_seed(8)
    h, w = 48, 64
    gt = torch.tensor([[4.0, 6.0, 30.0, 40.0], [28.0, 2.0, 62.0, 26.0], [10.0, 20.0, 50.0, 47.0]])
    masks = blob_masks(gt, h, w, gen)
    boxes = torch.cat(
        [
            jitter_boxes(gt, 3, 0.3, gen),
            torch.tensor(
                [
                    [-10.0, -8.0, 20.0, 30.0],  # partly outside (samples below -1 read as 0)
                    [50.0, 30.0, 70.0, 60.0],  # past the bottom-right border
                    [20.3, 15.7, 20.8, 16.1],  # smaller than a pixel (forced to 1x1)
                    [0.0, 0.0, 64.0, 48.0],  # the whole image: 2x2 samples per bin
                    [5.5, 7.25, 33.75, 44.5],
                ]
            ),
        ]
    )
    matched = torch.cat([torch.arange(3).repeat_interleave(3), torch.tensor([0, 1, 2, 0, 2])])
    out = []
    for m in (28, 14):
        targets = project_masks_on_boxes(masks, boxes, matched, m)
        out.append(
            {
                "name": f"project_{m}",
                "height": h,
                "width": w,
                "gtMasks": arr(masks),
                "boxes": arr(boxes),
                "matchedIdxs": arr(matched),
                "size": m,
                "targets": arr(targets),
            }
        )
    return out


def mask_loss_cases():
    """maskrcnn_loss end to end (targets inside), two images, with the gradient (NHWC)."""
    gen = torch.Generator().manual_seed(9)
    h, w, k = 40, 56, 3
    gt_a = torch.tensor([[3.0, 4.0, 30.0, 35.0], [25.0, 10.0, 54.0, 38.0]])
    gt_b = torch.tensor([[10.0, 5.0, 40.0, 30.0]])
    gts = [gt_a, gt_b]
    gt_masks = [blob_masks(g, h, w, gen) for g in gts]
    gt_labels = [torch.tensor([2, 1]), torch.tensor([2])]
    proposals = [jitter_boxes(gt_a, 3, 0.25, gen), jitter_boxes(gt_b, 2, 0.25, gen)]
    matched = [torch.tensor([0, 0, 0, 1, 1, 1]), torch.tensor([0, 0])]
    p = sum(x.shape[0] for x in proposals)
    logits = (torch.randn(p, k, 28, 28, generator=gen) * 2).requires_grad_()
    loss = maskrcnn_loss(logits, proposals, gt_masks, gt_labels, matched)
    (grad,) = torch.autograd.grad(loss, [logits])
    targets = torch.cat([project_masks_on_boxes(m, b, i, 28) for m, b, i in zip(gt_masks, proposals, matched)])
    labels = torch.cat([l[i] for l, i in zip(gt_labels, matched)])
    return [
        {
            "name": "two_images",
            "height": h,
            "width": w,
            "numClasses": k,
            "gtMasks": [arr(m) for m in gt_masks],
            "gtLabels": [arr(l) for l in gt_labels],
            "proposals": [arr(x) for x in proposals],
            "matchedIdxs": [arr(i) for i in matched],
            "maskLogits": arr(logits.permute(0, 2, 3, 1)),  # NCHW -> NHWC
            "labels": arr(labels),
            "maskTargets": arr(targets),
            "lossMask": float(loss),
            "gradMaskLogits": arr(grad.permute(0, 2, 3, 1)),
        }
    ]


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    write("matcher.json", matcher_cases())
    write("sampler.json", sampler_cases())
    write("rpn_targets.json", {"targets": rpn_target_cases(), "loss": rpn_loss_cases(), "lossOnly": rpn_loss_only_cases()})
    write("roi_targets.json", {"targets": roi_target_cases(), "loss": fastrcnn_loss_cases()})
    write("mask_targets.json", {"targets": mask_target_cases(), "loss": mask_loss_cases()})


if __name__ == "__main__":
    main()
