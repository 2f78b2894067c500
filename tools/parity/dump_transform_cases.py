#!/usr/bin/python3
"""Batches made by torchvision 0.14's GeneralizedRCNNTransform (eval mode) from synthetic 8-bit images.

For each case, images of the given sizes whose bytes are `(k * 7919 + 13 * i + 5) % 256` (k the
index in the HWC array, i the image's index) go through to_tensor (`/ 255`), normalize, bilinear
resize and batch padding. The recorded answer is the SHA-256 of the batch as little-endian float32
in NHWC order, so the test can ask for bit-for-bit equality without storing the pixels, plus a few
values to show where a difference starts.

Writes test/fixtures/torchvision/transform_cases.json
Run: /usr/bin/python3 tools/parity/dump_transform_cases.py
"""
import hashlib
import json
import os

import numpy as np
import torch
from torchvision.models.detection.transform import GeneralizedRCNNTransform

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "torchvision", "transform_cases.json")
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
CASES = [
    # (sizes [h, w] of the images batched together, min_size, max_size)
    ([[37, 53], [50, 29]], 64, 100),  # upscale, mixed sizes and orientations
    ([[120, 200]], 50, 90),  # downscale, capped by max_size
    ([[61, 47], [33, 33], [80, 64]], 96, 160),  # three images, a square one
]


def image_bytes(h, w, i):
    k = np.arange(h * w * 3, dtype=np.int64)
    return ((k * 7919 + 13 * i + 5) % 256).astype(np.uint8).reshape(h, w, 3)


@torch.no_grad()
def main():
    torch.set_num_threads(1)
    cases = []
    for sizes, mn, mx in CASES:
        t = GeneralizedRCNNTransform(mn, mx, MEAN, STD).eval()
        images = [torch.from_numpy(image_bytes(h, w, i)).permute(2, 0, 1).float().div(255) for i, (h, w) in enumerate(sizes)]
        batch, _ = t(images)
        nhwc = batch.tensors.permute(0, 2, 3, 1).contiguous().numpy().astype("<f4")
        cases.append(
            {
                "sizes": sizes,
                "minSize": mn,
                "maxSize": mx,
                "shape": list(nhwc.shape),
                "imageSizes": [list(s) for s in batch.image_sizes],
                "sha256": hashlib.sha256(nhwc.tobytes()).hexdigest(),
                "first": [float(v) for v in nhwc.reshape(-1)[:6]],
            }
        )
    with open(OUT, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
    print(f"{len(cases)} cases -> {OUT}")


if __name__ == "__main__":
    main()
