#!/usr/bin/python3
"""Checks a .pth written by maskrcnn-tfjs (`maskrcnn convert`, MaskRCNNModel.saveTorch) in torchvision.

Given the parity fixtures it was converted from (tools/parity/make_fixtures.py), it
  1. loads the file with torch.load and, with load_state_dict(strict=True), into the torchvision
     model of the fixtures' variant built with FrozenBatchNorm2d (as torchvision's published
     checkpoints are) and with nn.BatchNorm2d (as maskrcnn_resnet50_fpn(weights=None) is);
  2. compares every tensor with the fixtures' original checkpoint (keys in order, dtype, shape,
     bytes), and the file's bytes with what torch.save writes for the same OrderedDict;
  3. runs the model on the fixture images and compares its detections with those recorded
     when the fixtures were made (boxes, scores, labels, pasted masks).
and prints one JSON verdict on stdout (test/parity/convert.parity.test.ts parses it).

Run: /usr/bin/python3 tools/parity/check_converted.py --checkpoint out.pth --fixtures .fixtures/parity-small
"""
import argparse
import collections
import json
import os
import sys
import tempfile

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision.ops.misc import FrozenBatchNorm2d

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import build_small_model  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True, help="the .pth to check")
    p.add_argument("--fixtures", required=True, help="the parity fixtures folder it was converted from")
    return p.parse_args()


def build(variant, norm):
    """The fixtures' torchvision model with FrozenBatchNorm2d ('frozen') or BatchNorm2d ('batchnorm')."""
    if variant == "small":
        return build_small_model(FrozenBatchNorm2d if norm == "frozen" else torch.nn.BatchNorm2d)
    from torchvision.models import resnet50
    from torchvision.models.detection import MaskRCNN, maskrcnn_resnet50_fpn
    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor

    if norm == "batchnorm":
        return maskrcnn_resnet50_fpn(weights=None, weights_backbone=None)
    # What maskrcnn_resnet50_fpn builds when it loads published weights.
    return MaskRCNN(_resnet_fpn_extractor(resnet50(weights=None, norm_layer=FrozenBatchNorm2d), 3), num_classes=91)


def raw_bytes(t):
    t = t.contiguous()
    return (t.reshape(1) if t.dim() == 0 else t).view(torch.uint8).numpy().tobytes()


def same_tensors(a, b):
    if list(a.keys()) != list(b.keys()):
        return False, f"keys differ: {len(a)} vs {len(b)}"
    for k in a:
        x, y = a[k], b[k]
        if x.dtype != y.dtype or x.shape != y.shape or raw_bytes(x) != raw_bytes(y):
            return False, f"{k} differs"
    return True, None


def recorded(fixtures, index, name):
    e = index["tensors"][name]
    arr = np.fromfile(os.path.join(fixtures, e["file"]), dtype="<f4" if e["dtype"] == "float32" else "<i4")
    return torch.from_numpy(arr.reshape(e["shape"]))


def max_abs(a, b):
    return float((a.double() - b.double()).abs().max()) if a.numel() else 0.0


@torch.no_grad()
def main():
    args = parse_args()
    with open(os.path.join(args.fixtures, "index.json")) as f:
        index = json.load(f)
    meta = index["meta"]
    variant = meta.get("variant", "r50")
    verdict = {"checkpoint": args.checkpoint, "variant": variant, "torch": torch.__version__, "torchvision": torchvision.__version__}

    sd = torch.load(args.checkpoint)
    verdict["keys"] = len(sd)
    verdict["num_batches_tracked"] = sum(k.endswith("num_batches_tracked") for k in sd)
    verdict["strict_load"] = {}
    models = {}
    for norm in ("frozen", "batchnorm"):
        model = build(variant, norm)
        try:
            # A copy: FrozenBatchNorm2d's loader deletes num_batches_tracked from the dict it gets.
            model.load_state_dict(collections.OrderedDict(sd), strict=True)
            verdict["strict_load"][norm] = {"ok": True}
            models[norm] = model.eval()
        except RuntimeError as e:
            verdict["strict_load"][norm] = {"ok": False, "error": str(e)[:2000]}

    original = torch.load(os.path.join(args.fixtures, "maskrcnn_seeded.pth"))
    ok, why = same_tensors(original, sd)
    verdict["same_tensors_as_original"] = ok
    if why:
        verdict["tensor_difference"] = why
    with tempfile.TemporaryDirectory() as tmp:
        # torch 1.13 names the archive after the file, so the reference gets the same name.
        ref = os.path.join(tmp, os.path.basename(args.checkpoint))
        torch.save(collections.OrderedDict(sd.items()), ref)
        with open(ref, "rb") as a, open(args.checkpoint, "rb") as b:
            verdict["equal_to_torch_save"] = a.read() == b.read()

    # The fixtures were recorded with the model as make_fixtures.py built it: FrozenBatchNorm2d
    # for the small variant, BatchNorm2d for maskrcnn_resnet50_fpn(weights=None).
    norm = "frozen" if variant == "small" else "batchnorm"
    images = []
    if norm in models:
        inputs = []
        for name in meta["images"]:
            arr = np.asarray(Image.open(os.path.join(args.fixtures, "images", f"{name}.png")).convert("RGB"))
            inputs.append(torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div(255))
        outputs = models[norm](inputs)
        for i, (name, out) in enumerate(zip(meta["images"], outputs)):
            want = {k: recorded(args.fixtures, index, f"final/{k}/{i}") for k in ("boxes", "scores", "labels", "masks")}
            n, m = len(out["boxes"]), len(want["boxes"])
            row = {"name": name, "detections": n, "recorded_detections": m}
            if n == m:
                row["labels_equal"] = bool(torch.equal(out["labels"].to(torch.int32), want["labels"]))
                row["max_abs_diff"] = {k: max_abs(out[k], want[k]) for k in ("boxes", "scores", "masks")}
            images.append(row)
    verdict["images"] = images
    verdict["same_detections"] = bool(images) and all(
        r["detections"] == r["recorded_detections"] and r.get("labels_equal") and r["detections"] > 0
        and r["max_abs_diff"]["boxes"] <= 1e-3 and r["max_abs_diff"]["scores"] <= 1e-5 and r["max_abs_diff"]["masks"] <= 1e-5
        for r in images
    )
    print(json.dumps(verdict))


if __name__ == "__main__":
    main()
