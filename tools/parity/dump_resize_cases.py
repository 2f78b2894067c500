#!/usr/bin/python3
"""Output sizes of torchvision 0.14's GeneralizedRCNNTransform resize for many input sizes.

Writes test/fixtures/torchvision/resize_cases.json: [[h, w, min_size, max_size, out_h, out_w], ...], -1 where torch raises
Run: /usr/bin/python3 tools/parity/dump_resize_cases.py
"""
import json
import os
import random

import torch
from torchvision.models.detection.transform import _resize_image_and_masks

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "torchvision", "resize_cases.json")


def main():
    rng = random.Random(7)
    sizes = [(300, 451), (400, 600), (480, 640), (427, 640), (1, 1), (1, 2000), (2000, 1), (800, 1333), (799, 1334), (333, 500)]
    sizes += [(rng.randint(1, 2500), rng.randint(1, 2500)) for _ in range(300)]
    settings = [(800, 1333), (640, 1000), (512, 512), (1024, 1700)]
    cases = []
    for i, (h, w) in enumerate(sizes):
        mn, mx = settings[i % len(settings)]
        try:
            out, _ = _resize_image_and_masks(torch.zeros(1, h, w), float(mn), float(mx))
            cases.append([h, w, mn, mx, out.shape[-2], out.shape[-1]])
        except RuntimeError:  # torch refuses a resize to a zero size: we must throw too
            cases.append([h, w, mn, mx, -1, -1])
    with open(OUT, "w") as f:
        json.dump(cases, f)
    print(f"{len(cases)} cases -> {OUT}")


if __name__ == "__main__":
    main()
