#!/usr/bin/python3
"""Writes the RoI-heads parity fixtures under test/fixtures/heads/ from torchvision 0.14.

Run with the system interpreter (torch 1.13, torchvision 0.14):

    /usr/bin/python3 tools/make_heads_cases.py

The head weights (fc6 alone is 1024 x 12544) and the pooled features are far too big to store, so
they are not drawn from torch's generator but from a counter-based hash that the tests re-implement
bit for bit (test/heads/support/hashed_tensor.ts):

    x = lowbias32((i + seed * 0x9E3779B9) mod 2^32)        for the i-th element in torch order
    u = ((x >> 8) - 2^23) / 2^23                            exact float32 in [-1, 1)
    value = float32(u) * float32(scale)                     one float32 multiply

The fixtures store each tensor's (shape, seed, scale) and torchvision's outputs, as base64 of
little-endian float32 / int32 bytes or plain JSON numbers (float32 values written exactly).
Everything runs through torchvision's own modules and functions.
"""
import base64
import json
import os

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.models.detection import maskrcnn_resnet50_fpn
from torchvision.models.detection.roi_heads import maskrcnn_inference, paste_masks_in_image, RoIHeads
from torchvision.models.detection.transform import resize_boxes
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "heads")
M32 = 0xFFFFFFFF


def hashed(shape, seed, scale):
    """The hashed tensor described in the module docstring, in torch (row-major) order."""
    n = int(np.prod(shape))
    x = (np.arange(n, dtype=np.uint64) + np.uint64((seed * 0x9E3779B9) & M32)) & np.uint64(M32)
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & np.uint64(M32)
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & np.uint64(M32)
    x ^= x >> np.uint64(16)
    u = ((x >> np.uint64(8)).astype(np.int64) - 2**23).astype(np.float32) / np.float32(2**23)
    v = (u * np.float32(scale)).astype(np.float32)
    return torch.from_numpy(v.reshape(shape))


def spec(shape, seed, scale):
    return {"shape": list(shape), "seed": seed, "scale": scale}


def flist(t):
    return t.detach().to(torch.float32).double().tolist()


def b64f32(t):
    return base64.b64encode(t.detach().contiguous().to(torch.float32).numpy().astype("<f4").tobytes()).decode()


def b64bits(t):
    """Boolean tensor -> base64 of np.packbits (row-major, big bit order)."""
    return base64.b64encode(np.packbits(t.detach().contiguous().numpy().astype(np.uint8).reshape(-1)).tobytes()).decode()


def write(name, obj):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
    print(f"{path}: {os.path.getsize(path)} bytes")


def set_hashed_weights(module, prefix, specs, seed0, scales):
    """Overwrites every parameter of `module` with a hashed tensor; records the specs."""
    for i, (name, p) in enumerate(sorted(module.named_parameters())):
        key = f"{prefix}{name}"
        scale = scales[key]
        seed = seed0 + i
        with torch.no_grad():
            p.copy_(hashed(tuple(p.shape), seed, scale))
        specs[key] = spec(p.shape, seed, scale)


def clustered_proposals(gen, n, h, w):
    """Proposals around a few centres (so NMS has work), a few partly outside the image."""
    centres = torch.tensor([[0.3 * w, 0.35 * h], [0.7 * w, 0.6 * h], [0.45 * w, 0.8 * h]])
    c = centres[torch.randint(0, 3, (n,), generator=gen)] + torch.randn(n, 2, generator=gen) * 3
    wh = torch.stack([0.15 * w + torch.rand(n, generator=gen) * 0.35 * w, 0.15 * h + torch.rand(n, generator=gen) * 0.35 * h], 1)
    boxes = torch.cat([c - wh / 2, c + wh / 2], 1)
    boxes[0] = torch.tensor([-6.0, -4.0, 0.4 * w, 0.3 * h])  # crosses the top-left corner
    boxes[1] = torch.tensor([0.8 * w, 0.7 * h, w + 9.0, h + 5.0])  # crosses the bottom-right corner
    return boxes


def main_case():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    model = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91).eval()
    heads: RoIHeads = model.roi_heads
    assert heads.score_thresh == 0.05 and heads.nms_thresh == 0.5 and heads.detections_per_img == 100
    assert tuple(heads.box_coder.weights) == (10.0, 10.0, 5.0, 5.0)

    # Scales: fc layers near torch's default init range; cls_score scaled up so the softmax is
    # peaked (several classes above 0.05 per RoI, some confident); mask layers near kaiming.
    scales = {
        "box_head.fc6.weight": 2.0**-7,
        "box_head.fc6.bias": 2.0**-7,
        "box_head.fc7.weight": 2.0**-5,
        "box_head.fc7.bias": 2.0**-5,
        "box_predictor.cls_score.weight": 2.5,
        "box_predictor.cls_score.bias": 0.5,
        "box_predictor.bbox_pred.weight": 0.5,
        "box_predictor.bbox_pred.bias": 0.1,
        "mask_predictor.conv5_mask.weight": 2.0**-4,
        "mask_predictor.conv5_mask.bias": 2.0**-5,
        "mask_predictor.mask_fcn_logits.weight": 2.0**-3,
        "mask_predictor.mask_fcn_logits.bias": 0.25,
    }
    for i in range(4):
        scales[f"mask_head.{i}.0.weight"] = 2.0**-4
        scales[f"mask_head.{i}.0.bias"] = 2.0**-5
    specs = {}
    set_hashed_weights(heads.box_head, "box_head.", specs, 100, scales)
    set_hashed_weights(heads.box_predictor, "box_predictor.", specs, 200, scales)
    set_hashed_weights(heads.mask_head, "mask_head.", specs, 300, scales)
    set_hashed_weights(heads.mask_predictor, "mask_predictor.", specs, 400, scales)
    assert len(specs) == len(dict(heads.named_parameters())) == 20

    image_sizes = [(60, 86), (72, 48)]  # resized, unpadded [h, w]
    original_sizes = [(37, 53), (45, 30)]
    per_image = [22, 18]
    proposals = [clustered_proposals(gen, n, h, w) for n, (h, w) in zip(per_image, image_sizes)]
    r = sum(per_image)
    box_feat_spec = spec((r, 256, 7, 7), 7, 1.0)
    box_features = hashed((r, 256, 7, 7), 7, 1.0)

    with torch.no_grad():
        x = heads.box_head(box_features)
        class_logits, box_regression = heads.box_predictor(x)
        boxes, scores, labels = heads.postprocess_detections(class_logits, box_regression, proposals, image_sizes)
        # a second setting: higher threshold, tighter NMS, top-10 cut
        heads.score_thresh, heads.nms_thresh, heads.detections_per_img = 0.2, 0.3, 10
        b2, s2, l2 = heads.postprocess_detections(class_logits, box_regression, proposals, image_sizes)
        heads.score_thresh, heads.nms_thresh, heads.detections_per_img = 0.05, 0.5, 100

        dets = [len(b) for b in boxes]
        d = sum(dets)
        mask_feat_spec = spec((d, 256, 14, 14), 9, 1.0)
        mask_features = hashed((d, 256, 14, 14), 9, 1.0)
        mask_logits = heads.mask_predictor(heads.mask_head(mask_features))  # [D, 91, 28, 28]
        probs = maskrcnn_inference(mask_logits, labels)  # per image [Di, 1, 28, 28]

        results = []
        for i in range(2):
            rb = resize_boxes(boxes[i], image_sizes[i], original_sizes[i])
            pasted = paste_masks_in_image(probs[i], rb, original_sizes[i])[:, 0]  # [Di, H, W]
            results.append((rb, pasted))

    print("detections per image", dets, "candidates > 0.05:",
          int((F.softmax(class_logits, -1)[:, 1:] > 0.05).sum()), "second setting", [len(b) for b in b2])
    logit_channels = [0, 1, 17, 45, 90] + sorted(set(int(v) for v in torch.cat(labels)[:3]))
    n_logit_masks = 6
    return {
        "weights": specs,
        "numClasses": 91,
        "imageSizes": [list(s) for s in image_sizes],
        "originalSizes": [list(s) for s in original_sizes],
        "proposals": [flist(p) for p in proposals],
        "boxFeatures": box_feat_spec,
        "classLogits": b64f32(class_logits),
        "boxRegression": b64f32(box_regression),
        "detections": [
            {"boxes": flist(boxes[i]), "scores": flist(scores[i]), "labels": labels[i].tolist()} for i in range(2)
        ],
        "detectionsStrict": {
            "options": {"scoreThresh": 0.2, "nmsThresh": 0.3, "detectionsPerImg": 10},
            "images": [{"boxes": flist(b2[i]), "scores": flist(s2[i]), "labels": l2[i].tolist()} for i in range(2)],
        },
        "maskFeatures": mask_feat_spec,
        # logits of the first masks at a few channels: [n, C', 28, 28] in torch order
        "maskLogitChannels": logit_channels,
        "maskLogitCount": n_logit_masks,
        "maskLogits": b64f32(mask_logits[:n_logit_masks, logit_channels]),
        "maskProbs": b64f32(torch.cat(probs)[:, 0]),  # [D, 28, 28]
        "resizedBoxes": [flist(rb) for rb, _ in results],
        "pastedBinary": [b64bits(p > 0.5) for _, p in results],  # [Di, H, W] bits
        "pastedProbsFirst": 3,
        "pastedProbs": [b64f32(p[:3]) for _, p in results],
    }


def many_candidates_case():
    """Post-processing alone with K = 21 and 300 RoIs: > 1000 candidates, so torchvision's
    batched_nms runs per class; some proposals are tiny or outside the image."""
    gen = torch.Generator().manual_seed(99)
    k, r = 21, 300
    h, w = 120, 150
    coder_heads = RoIHeads(
        None, None, None, 0.5, 0.5, 512, 0.25, (10.0, 10.0, 5.0, 5.0), 0.05, 0.5, 100
    )
    xy = torch.rand(r, 2, generator=gen) * torch.tensor([w, h]) - 10
    wh = 2 + torch.rand(r, 2, generator=gen) * 60
    proposals = torch.cat([xy, xy + wh], 1)
    proposals[:6, 2:] = proposals[:6, :2] + 0.004  # tiny: decoded sides < 1e-2
    proposals[6:10] = torch.tensor([w + 5.0, 10.0, w + 40.0, 50.0])  # right of the image
    logits = torch.rand(r, k, generator=gen) * 2 - 1
    logits[:, 0] += 0.5
    regression = torch.randn(r, 4 * k, generator=gen) * 0.6
    with torch.no_grad():
        boxes, scores, labels = coder_heads.postprocess_detections(logits, regression, [proposals], [(h, w)])
    cand = int((F.softmax(logits, -1)[:, 1:] > 0.05).sum())
    print("many-candidates case: candidates", cand, "detections", len(boxes[0]))
    assert cand > 1000
    return {
        "numClasses": k,
        "imageSize": [h, w],
        "proposals": b64f32(proposals),
        "classLogits": b64f32(logits),
        "boxRegression": b64f32(regression),
        "candidates": cand,
        "detections": {"boxes": flist(boxes[0]), "scores": flist(scores[0]), "labels": labels[0].tolist()},
    }


def resize_cases():
    """F.interpolate(bilinear, align_corners=False) of a padded 30x30 mask to box sizes."""
    src = F.pad(torch.sigmoid(hashed((1, 1, 28, 28), 5, 4.0)), (1, 1, 1, 1))
    cases = []
    for size in [(5, 7), (45, 61), (13, 100), (30, 30), (1, 1), (2, 57), (97, 3)]:
        out = F.interpolate(src, size=size, mode="bilinear", align_corners=False)[0, 0]
        cases.append({"size": list(size), "output": b64f32(out)})
    return {"input": b64f32(src[0, 0]), "cases": cases}


def standalone_case():
    """The heads built from torchvision's own classes with non-default sizes (fine-tuning)."""
    torch.manual_seed(1)
    head = TwoMLPHead(64 * 7 * 7, 128)
    pred = FastRCNNPredictor(128, 5)
    specs = {}
    scales = {"fc6.weight": 2.0**-5, "fc6.bias": 2.0**-5, "fc7.weight": 2.0**-4, "fc7.bias": 2.0**-4,
              "cls_score.weight": 0.5, "cls_score.bias": 0.5, "bbox_pred.weight": 0.5, "bbox_pred.bias": 0.5}
    set_hashed_weights(head, "", specs, 500, scales)
    pred_specs = {}
    set_hashed_weights(pred, "", pred_specs, 600, scales)
    feats = hashed((6, 64, 7, 7), 11, 1.0)
    with torch.no_grad():
        logits, regression = pred(head(feats))
    return {
        "head": specs,
        "predictor": pred_specs,
        "features": spec((6, 64, 7, 7), 11, 1.0),
        "classLogits": flist(logits),
        "boxRegression": flist(regression),
    }


def main():
    write("heads.json", main_case())
    write("postprocess_many.json", many_candidates_case())
    write("resize_bilinear.json", resize_cases())
    write("standalone.json", standalone_case())
    # self-check of the hash against hand-computed values, also asserted by the TS tests
    print("hash check", hashed((4,), 3, 1.0).tolist())


if __name__ == "__main__":
    main()
