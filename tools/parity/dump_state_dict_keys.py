#!/usr/bin/python3
"""Writes torchvision 0.14's state-dict keys and shapes (no values) for the models we mirror.

These small JSON files let the unit tests check our key mapping without the 170 MB fixtures.
Run: /usr/bin/python3 tools/parity/dump_state_dict_keys.py  (writes test/fixtures/torchvision/)
"""
import json
import os

import torch
from torchvision.models import resnet101
from torchvision.models.detection import maskrcnn_resnet50_fpn
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
from torchvision.ops.misc import FrozenBatchNorm2d

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "torchvision")


def dump(name, module):
    keys = {k: list(v.shape) for k, v in module.state_dict().items()}
    with open(os.path.join(OUT, f"{name}.keys.json"), "w") as f:
        json.dump(keys, f, indent=0)
    print(f"{name}: {len(keys)} keys")


def main():
    os.makedirs(OUT, exist_ok=True)
    dump("maskrcnn_resnet50_fpn", maskrcnn_resnet50_fpn(weights=None, weights_backbone=None))
    # The published checkpoint's structure: FrozenBatchNorm2d, no num_batches_tracked.
    dump("resnet101_fpn_backbone", _resnet_fpn_extractor(resnet101(norm_layer=FrozenBatchNorm2d), 3))


if __name__ == "__main__":
    main()
