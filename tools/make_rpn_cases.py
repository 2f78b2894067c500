#!/usr/bin/python3
"""Writes the RPN and box-op parity fixtures under test/fixtures/rpn/ from torchvision 0.14.

Run with the system interpreter (torch 1.13, torchvision 0.14):

    /usr/bin/python3 tools/make_rpn_cases.py

Small arrays are written as plain JSON numbers (float32 values printed with Python's repr of the
float32 value, which parses back to the same float32). The large arrays of the full RPN case are
written as base64 of little-endian float32 / int32 bytes to keep the files small and exact.
"""
import base64
import json
import math
import os

import numpy as np
import torch
from torchvision.models.detection._utils import BoxCoder
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead
from torchvision.ops import boxes as box_ops

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "rpn")
LEVELS = ["0", "1", "2", "3", "pool"]


def flist(t):
    """float32 tensor -> nested list of Python floats (exact float32 values)."""
    return t.detach().to(torch.float32).double().tolist()


def b64f32(t):
    return base64.b64encode(t.detach().contiguous().to(torch.float32).numpy().astype("<f4").tobytes()).decode()


def b64i32(t):
    return base64.b64encode(t.detach().contiguous().to(torch.int32).numpy().astype("<i4").tobytes()).decode()


def write(name, obj):
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
    print(f"{path}: {os.path.getsize(path)} bytes")


def random_boxes(n, max_xy, min_wh, max_wh, gen):
    xy = torch.rand(n, 2, generator=gen) * max_xy
    wh = min_wh + torch.rand(n, 2, generator=gen) * (max_wh - min_wh)
    return torch.cat([xy, xy + wh], dim=1)


def anchor_cases():
    cases = []
    generator = AnchorGenerator(((32,), (64,), (128,), (256,), (512,)), ((0.5, 1.0, 2.0),) * 5)
    # (padded batch size, grid sizes per level) as a ResNet-50 FPN produces them, plus odd grids
    # whose stride is not a power of two (pool level of a 64x96 batch: 96 // 2 = 48).
    layouts = [
        ((64, 96), [(16, 24), (8, 12), (4, 6), (2, 3), (1, 2)]),
        ((32, 32), [(8, 8), (4, 4), (2, 2), (1, 1), (1, 1)]),
        ((50, 70), [(13, 18), (7, 9), (4, 5), (2, 3), (1, 2)]),
    ]
    for (h, w), grids in layouts:
        images = ImageList(torch.zeros(2, 3, h, w), [(h, w), (h - 3, w - 5)])
        feats = [torch.zeros(2, 1, gh, gw) for gh, gw in grids]
        anchors = generator(images, feats)
        assert torch.equal(anchors[0], anchors[1])
        per_level = anchors[0].split([gh * gw * 3 for gh, gw in grids])
        cases.append(
            {
                "batchShape": [h, w],
                "gridSizes": [list(g) for g in grids],
                "strides": [[h // gh, w // gw] for gh, gw in grids],
                "anchors": [flist(a) for a in per_level],
            }
        )
    base = []
    configs = [
        ((32, 64, 128, 256, 512), (0.5, 1.0, 2.0)),
        ((16, 24, 40), (0.25, 0.5, 1.0, 2.0, 3.0)),
        ((10, 7, 13), (0.3, 1.7)),
    ]
    for sizes, ratios in configs:
        g = AnchorGenerator((sizes,), (ratios,))
        base.append({"sizes": list(sizes), "aspectRatios": list(ratios), "baseAnchors": flist(g.cell_anchors[0])})
    return {"grids": cases, "base": base}


def coder_cases(gen):
    out = []
    for weights in [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)]:
        coder = BoxCoder(weights)
        ref = random_boxes(40, 500.0, 1.0, 300.0, gen)
        gt = random_boxes(40, 500.0, 1.0, 300.0, gen)
        targets = coder.encode_single(gt, ref)
        for k in [1, 3]:
            deltas = torch.randn(40, 4 * k, generator=gen) * 2.0
            deltas[:4, 2] = torch.tensor([5.0, 40.0, -8.0, math.log(1000.0 / 16)]) * weights[2]
            decoded = coder.decode(deltas, [ref])  # [R, K, 4]
            out.append(
                {
                    "weights": list(weights),
                    "reference": flist(ref),
                    "gt": flist(gt),
                    "targets": flist(targets),
                    "numClasses": k,
                    "deltas": flist(deltas),
                    "decoded": flist(decoded),
                }
            )
    return out


def nms_cases(gen):
    cases = []

    def add(name, boxes, scores, idxs, thr):
        keep = box_ops.batched_nms(boxes, scores, idxs, thr)
        plain = box_ops.nms(boxes, scores, thr)
        cases.append(
            {
                "name": name,
                "boxes": flist(boxes),
                "scores": flist(scores),
                "idxs": idxs.tolist(),
                "iouThreshold": thr,
                "batchedKeep": keep.tolist(),
                "nmsKeep": plain.tolist(),
            }
        )

    b = random_boxes(60, 40.0, 5.0, 40.0, gen)
    add("random 60 boxes, 3 classes", b, torch.rand(60, generator=gen), torch.randint(0, 3, (60,), generator=gen), 0.5)
    # ties: scores take 4 distinct values, boxes heavily overlapping
    b = random_boxes(80, 30.0, 10.0, 30.0, gen)
    s = torch.randint(0, 4, (80,), generator=gen).float() / 4
    add("ties in scores", b, s, torch.randint(0, 2, (80,), generator=gen), 0.4)
    # identical boxes with identical scores: the lowest index wins (stable sort)
    b = torch.tensor([[0, 0, 10, 10]] * 4 + [[20, 20, 30, 30]] * 3, dtype=torch.float32)
    s = torch.tensor([0.5, 0.9, 0.9, 0.5, 0.7, 0.7, 0.7])
    add("identical boxes and scores", b, s, torch.zeros(7, dtype=torch.int64), 0.5)
    # IoU exactly at the threshold is kept (IoU > thr suppresses): boxes 2 and 3 have IoU 0.5 with
    # box 0 (inter 1, union 2; inter 2, union 4); box 1 has IoU 1/3.
    b = torch.tensor([[0, 0, 2, 1], [1, 0, 3, 1], [0, 0, 1, 1], [0, 0, 4, 1]], dtype=torch.float32)
    s = torch.tensor([0.9, 0.8, 0.7, 0.6])
    add("IoU exactly 0.5 at threshold 0.5", b, s, torch.zeros(4, dtype=torch.int64), 0.5)
    # IoU = float32(3/10) = 0.30000001192..., above the double 0.3 threshold: torchvision compares
    # the float IoU with the double threshold, so this box is suppressed.
    b = torch.tensor([[0, 0, 6.5, 1], [3.5, 0, 10, 1]], dtype=torch.float32)
    add("float32 IoU 0.3 against double threshold 0.3", b, torch.tensor([0.9, 0.8]), torch.zeros(2, dtype=torch.int64), 0.3)
    # same boxes in different classes never suppress each other
    b = torch.tensor([[0, 0, 10, 10], [0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 60, 60]], dtype=torch.float32)
    add("classes separate identical boxes", b, torch.tensor([0.9, 0.8, 0.7, 0.6]), torch.tensor([0, 1, 0, 1]), 0.5)
    # more than 1000 boxes: torchvision's CPU path switches to per-class NMS then sorts by score
    b = random_boxes(1300, 150.0, 5.0, 60.0, gen)
    s = torch.randperm(1300, generator=gen).float() / 1300
    add("1300 boxes, per-class path", b, s, torch.randint(0, 4, (1300,), generator=gen), 0.6)
    add("empty", torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.int64), 0.5)
    return cases


def small_op_cases(gen):
    a = random_boxes(7, 50.0, 0.0, 30.0, gen)
    a[0] = torch.tensor([1.0, 1.0, 1.0, 5.0])  # zero width
    bb = random_boxes(5, 50.0, 1.0, 30.0, gen)
    iou = box_ops.box_iou(a, bb)
    clip_in = random_boxes(20, 120.0, 0.0, 80.0, gen) - 20.0
    clipped = box_ops.clip_boxes_to_image(clip_in, (70, 90))
    small = torch.tensor(
        [[0, 0, 1e-3, 5], [0, 0, 5, 9.99e-4], [0, 0, 0.0010000000474974513, 1], [2, 2, 2, 3], [0, 0, 4, 4], [3, 3, 3.002, 3.002]],
        dtype=torch.float32,
    )
    keep_small = box_ops.remove_small_boxes(small, 1e-3)
    return {
        "iou": {"boxes1": flist(a), "boxes2": flist(bb), "iou": flist(iou)},
        "clip": {"boxes": flist(clip_in), "size": [70, 90], "clipped": flist(clipped)},
        "removeSmall": {"boxes": flist(small), "minSize": 1e-3, "keep": keep_small.tolist()},
    }


def rpn_case():
    torch.manual_seed(1234)
    c, n = 8, 2
    batch = (64, 96)
    image_sizes = [(64, 96), (50, 70)]
    grids = [(16, 24), (8, 12), (4, 6), (2, 3), (1, 2)]
    feats = {lvl: torch.randn(n, c, gh, gw) for lvl, (gh, gw) in zip(LEVELS, grids)}
    head = RPNHead(c, 3)
    with torch.no_grad():
        # Larger than torchvision's std 0.01 init so that scores and boxes spread and NMS has work.
        for name, p in head.named_parameters():
            p.copy_(torch.randn(p.shape) * (0.3 if name.endswith("weight") else 0.5))
    anchor_gen = AnchorGenerator(((32,), (64,), (128,), (256,), (512,)), ((0.5, 1.0, 2.0),) * 5)
    images = ImageList(torch.zeros(n, 3, *batch), image_sizes)

    def run(pre, post, training):
        rpn = RegionProposalNetwork(anchor_gen, head, 0.7, 0.3, 256, 0.5, pre, post, 0.7)
        rpn.eval()
        with torch.no_grad():
            fl = list(feats.values())
            objectness, deltas = rpn.head(fl)
            anchors = rpn.anchor_generator(images, fl)
            num_per_level = [o[0].numel() for o in objectness]
            obj_flat, deltas_flat = torch.cat, None
            from torchvision.models.detection.rpn import concat_box_prediction_layers

            obj_flat, deltas_flat = concat_box_prediction_layers(objectness, deltas)
            proposals = rpn.box_coder.decode(deltas_flat, anchors).view(n, -1, 4)
            rpn.training = training
            boxes, scores = rpn.filter_proposals(proposals, obj_flat, image_sizes, num_per_level)
            rpn.training = False
            # cross-check with the module's own forward in eval mode
            if not training:
                ref_boxes, _ = rpn(images, feats)
                for x, y in zip(ref_boxes, boxes):
                    assert torch.equal(x, y)
        return objectness, deltas, boxes, scores

    out = {
        "inChannels": c,
        "batchShape": list(batch),
        "imageSizes": [list(s) for s in image_sizes],
        "features": {lvl: {"shape": [n, gh, gw, c], "nhwc": b64f32(feats[lvl].permute(0, 2, 3, 1))} for lvl, (gh, gw) in zip(LEVELS, grids)},
        "stateDict": {k: {"shape": list(v.shape), "data": b64f32(v)} for k, v in head.state_dict().items()},
        "runs": [],
    }
    settings = [
        ("eval defaults", {"training": 2000, "testing": 1000}, {"training": 2000, "testing": 1000}, False),
        ("train defaults", {"training": 2000, "testing": 1000}, {"training": 2000, "testing": 1000}, True),
        ("small top-n", {"training": 2000, "testing": 50}, {"training": 2000, "testing": 30}, False),
    ]
    for name, pre, post, training in settings:
        objectness, deltas, boxes, scores = run(pre, post, training)
        run_out = {
            "name": name,
            "training": training,
            "preNmsTopN": pre["training" if training else "testing"],
            "postNmsTopN": post["training" if training else "testing"],
            "proposals": [{"count": b.shape[0], "boxes": b64f32(b), "scores": b64f32(s)} for b, s in zip(boxes, scores)],
        }
        if name == "eval defaults":
            out["objectness"] = {lvl: {"shape": [n, gh, gw, 3], "nhwc": b64f32(o.permute(0, 2, 3, 1))} for lvl, o, (gh, gw) in zip(LEVELS, objectness, grids)}
            out["deltas"] = {lvl: {"shape": [n, gh, gw, 12], "nhwc": b64f32(d.permute(0, 2, 3, 1))} for lvl, d, (gh, gw) in zip(LEVELS, deltas, grids)}
        out["runs"].append(run_out)
        print(name, [b.shape[0] for b in boxes])
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    write("anchors.json", anchor_cases())
    write("box_coder.json", coder_cases(gen))
    write("nms.json", nms_cases(gen))
    write("box_ops.json", small_op_cases(gen))
    write("rpn.json", rpn_case())


if __name__ == "__main__":
    main()
