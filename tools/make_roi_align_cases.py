#!/usr/bin/python3
"""Writes test/fixtures/roi_align/torchvision_cases.json: RoIAlign cases computed by torchvision.

Run with the system python (torch 1.13, torchvision 0.14):

    /usr/bin/python3 tools/make_roi_align_cases.py

Every tensor is stored in OUR layout (NHWC features, [R, oh, ow, C] outputs), converted here
from torch's NCHW, as {"shape": [...], "data": [flat row-major values]}. Each case holds the
forward output and the features' gradient of sum(output * dy) for a fixed random dy.
"""
import json
import math
import os

import torch
import torchvision
from torchvision.ops import MultiScaleRoIAlign, roi_align
from torchvision.ops.poolers import LevelMapper, _infer_scale

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'roi_align', 'torchvision_cases.json')


def flat(t):
    # '%.8g' keeps float32 values to within 1 ulp-ish (float32 has ~7.2 significant digits).
    return [float('%.8g' % v) for v in t.detach().reshape(-1).tolist()]


def nhwc(t):
    """torch NCHW -> our NHWC, stored with its shape."""
    t = t.permute(0, 2, 3, 1).contiguous()
    return {'shape': list(t.shape), 'data': flat(t)}


def from_nhwc(shape, data):
    return torch.tensor(data, dtype=torch.float32).reshape(shape).permute(0, 3, 1, 2).contiguous()


def roi_align_case(name, gen, n, c, h, w, boxes, output_size, spatial_scale, sampling_ratio, aligned):
    # Round the features through the stored text so that torch sees exactly what the test loads.
    x_nhwc = torch.randn(n, h, w, c, generator=gen)
    x = from_nhwc([n, h, w, c], flat(x_nhwc)).requires_grad_(True)
    rois = torch.tensor([[b[0]] + b[1:] for b in boxes], dtype=torch.float32)
    y = roi_align(x, rois, output_size, spatial_scale, sampling_ratio, aligned)
    dy_nhwc = torch.randn(y.shape[0], y.shape[2], y.shape[3], y.shape[1], generator=gen)
    dy = from_nhwc(list(dy_nhwc.shape), flat(dy_nhwc))
    (y * dy).sum().backward()
    return {
        'name': name,
        'features': nhwc(x),
        'boxes': [b[1:] for b in boxes],
        'box_indices': [int(b[0]) for b in boxes],
        'output_size': list(output_size),
        'spatial_scale': spatial_scale,
        'sampling_ratio': sampling_ratio,
        'aligned': aligned,
        'output': nhwc(y),
        'dy': nhwc(dy),
        'grad': nhwc(x.grad),
    }


def multiscale_case(name, gen, c, level_sizes, boxes_per_image, image_shapes, output_size, sampling_ratio, **kw):
    n = len(boxes_per_image)
    names = [str(i) for i in range(len(level_sizes))]
    feats = {}
    for k, (h, w) in zip(names, level_sizes):
        x_nhwc = torch.randn(n, h, w, c, generator=gen)
        feats[k] = from_nhwc([n, h, w, c], flat(x_nhwc)).requires_grad_(True)
    pooler = MultiScaleRoIAlign(names, output_size, sampling_ratio, **kw)
    boxes = [torch.tensor(b, dtype=torch.float32).reshape(-1, 4) for b in boxes_per_image]
    y = pooler(feats, boxes, image_shapes)
    dy_nhwc = torch.randn(y.shape[0], y.shape[2], y.shape[3], y.shape[1], generator=gen)
    dy = from_nhwc(list(dy_nhwc.shape), flat(dy_nhwc))
    (y * dy).sum().backward()
    concat = torch.cat(boxes)
    levels = pooler.map_levels([concat]).tolist() if len(names) > 1 else [0] * len(concat)
    return {
        'name': name,
        'featmap_names': names,
        'features': {k: nhwc(v) for k, v in feats.items()},
        'boxes': [b.tolist() for b in boxes],
        'image_shapes': [list(s) for s in image_shapes],
        'output_size': output_size,
        'sampling_ratio': sampling_ratio,
        'canonical_scale': kw.get('canonical_scale', 224),
        'canonical_level': kw.get('canonical_level', 4),
        'scales': pooler.scales,
        'levels': levels,
        'output': nhwc(y),
        'dy': nhwc(dy),
        'grads': {k: nhwc(v.grad) for k, v in feats.items()},
    }


def level_mapper_case(gen):
    boxes = []
    # Square boxes whose sqrt(area) sits exactly on and next to each level boundary (112, 224, 448,
    # 896), where float32 rounding decides; the sizes a few 1e-5 below a boundary floor to the
    # lower level without torchvision's eps = 1e-6 and to the upper one with it.
    for s in [0.0, 1.0, 55.9, 55.99998, 56.0, 111.99, 111.99993, 111.99996, 112.0, 112.00001, 223.99992,
              223.99998, 224.0, 224.00002, 447.9999, 447.99985, 448.0, 896.0, 2000.0]:
        boxes.append([10.0, 20.0, 10.0 + s, 20.0 + s])
    # Random boxes of every size and aspect.
    for _ in range(120):
        x1, y1 = (torch.rand(2, generator=gen) * 800).tolist()
        logw, logh = (torch.rand(2, generator=gen) * 10).tolist()
        boxes.append([x1, y1, x1 + math.exp(logw) / 4, y1 + math.exp(logh) / 4])
    b = torch.tensor(boxes, dtype=torch.float32)
    mapper = LevelMapper(2, 5)
    return {'k_min': 2, 'k_max': 5, 'boxes': flat(b), 'levels': mapper([b]).tolist()}


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    # A 9x11 map of an 18x22 image at scale 0.5: boxes crossing each border, fully outside, tiny,
    # huge, degenerate (x2 < x1), and samples landing exactly on -1 and on H / W.
    boxes = [
        [0, 2.0, 3.0, 12.0, 14.0],
        [0, -6.0, -4.0, 10.0, 8.0],
        [1, 12.0, 10.0, 30.0, 25.0],
        [0, -30.0, -30.0, -10.0, -10.0],
        [1, 40.0, 40.0, 60.0, 50.0],
        [0, 6.0, 6.0, 6.4, 6.2],
        [1, -50.0, -50.0, 80.0, 90.0],
        [0, 9.0, 4.0, 5.0, 12.0],
        [1, -2.5, -2.5, -0.5, -0.5],
        [1, 17.5, 13.5, 19.5, 15.5],
        [0, 0.0, 0.0, 22.0, 18.0],
        [1, 3.3, 1.7, 15.1, 16.9],
    ]
    cases = [
        roi_align_case('sr2_unaligned', gen, 2, 3, 9, 11, boxes, (3, 3), 0.5, 2, False),
        roi_align_case('adaptive_aligned', gen, 2, 3, 9, 11, boxes, (2, 4), 0.5, 0, True),
        roi_align_case('adaptive_unaligned_7x7', gen, 2, 3, 9, 11, boxes, (7, 7), 0.5, 0, False),
        roi_align_case('sr3_aligned_scale1', gen, 2, 2, 9, 11, [[b[0]] + [v / 2 for v in b[1:]] for b in boxes],
                       (2, 2), 1.0, 3, True),
    ]
    ms = [
        # canonical_scale 28 sends boxes of a 64x96 image to all four levels.
        multiscale_case('fpn4_canonical28', gen, 3, [(16, 24), (8, 12), (4, 6), (2, 3)],
                        [[[2, 3, 10, 9], [0, 0, 60, 40], [5, 5, 30, 30], [40, 10, 90, 60], [1, 1, 4, 3]],
                         [[10, 10, 70, 60], [3, 4, 17, 25], [-5, -5, 100, 70], [20, 20, 33, 31]]],
                        [(60, 90), (64, 80)], 3, 2, canonical_scale=28),
        multiscale_case('fpn4_default_mapper', gen, 1, [(48, 48), (24, 24), (12, 12), (6, 6)],
                        [[[10, 10, 40, 50], [0, 0, 192, 192], [-20, -20, 250, 250], [30, 60, 130, 170],
                          [100, 100, 101, 101], [5, 5, 120, 60]]],
                        [(192, 190)], 7, 2),
        multiscale_case('single_level', gen, 2, [(8, 12)], [[[1, 2, 20, 30]], [[4, 4, 9, 40], [0, 0, 48, 32]]],
                        [(32, 48), (30, 40)], 2, 0),
        multiscale_case('empty_image', gen, 2, [(8, 12), (4, 6)], [[[1, 2, 20, 30]], []],
                        [(32, 48), (30, 40)], 2, 2, canonical_scale=8),
    ]
    infer = [[f, i, _infer_scale(torch.zeros(1, 1, f, f), [i, i])]
             for f, i in [(200, 800), (100, 800), (50, 800), (25, 800), (13, 800), (7, 192), (48, 192),
                          (3, 64), (5, 96), (1, 3), (2, 3)]]
    doc = {
        'generator': 'tools/make_roi_align_cases.py',
        'torch': torch.__version__,
        'torchvision': torchvision.__version__,
        'layout': 'NHWC features and [R, oh, ow, C] outputs (converted from torch NCHW)',
        'roi_align': cases,
        'multiscale': ms,
        'level_mapper': level_mapper_case(gen),
        'infer_scale': infer,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
    print('wrote', os.path.normpath(OUT), os.path.getsize(OUT), 'bytes')


if __name__ == '__main__':
    main()
