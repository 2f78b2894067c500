#!/usr/bin/python3
"""torchvision's side of `npm run bench`: a worker holding one maskrcnn_resnet50_fpn, answering
the driver's commands one at a time (one JSON command a line on stdin, one reply a line on stdout
marked '@@bench '; see tools/bench/child.ts).

- setup {mode, weights, manifest, minSize}: builds the model as maskrcnn_resnet50_fpn does for
  published weights (ResNet-50 with FrozenBatchNorm2d, trainable_backbone_layers 3, the same
  architecture and trainable set as ours) and loads the state dict.
- infer {count}: `count` inferences of the inference image, one at a time, timed stage by stage
  by running GeneralizedRCNN.forward's steps by hand (transform, backbone, rpn, roi_heads,
  transform.postprocess) under torch.inference_mode (as torchvision's reference evaluation); a
  forward pre-hook on roi_heads.mask_roi_pool splits the RoI heads into box and mask parts.
- train: one step: model(images, targets), the sum of the losses, backward, SGD step (momentum
  0.9, weight decay 1e-4, the driver's learning rate).
- memory: peak resident memory (getrusage's ru_maxrss, KiB on Linux).

Threads: --threads N sets torch.set_num_threads (1 for latency and training, 2 for throughput).
torch's defaults are kept otherwise (oneDNN convolutions on), as a user gets them.

Run by tools/bench/bench.ts: /usr/bin/python3 tools/bench/torch_bench.py --threads 1
"""
import argparse
import json
import math
import resource
import sys
import time

import numpy as np
import torch
import torchvision
from torchvision.models import resnet50
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
from torchvision.ops.misc import FrozenBatchNorm2d

MARK = "@@bench "
STAGES = ("preprocess", "backbone_fpn", "rpn", "box_head", "mask_head_paste")


def reply(msg):
    sys.stdout.write(MARK + json.dumps(msg) + "\n")
    sys.stdout.flush()


def build_model(weights, min_size):
    sd = torch.load(weights, map_location="cpu")
    num_classes = sd["roi_heads.box_predictor.cls_score.weight"].shape[0]
    # maskrcnn_resnet50_fpn with weights: FrozenBatchNorm2d and three trainable ResNet stages.
    # (FrozenBatchNorm2d drops the num_batches_tracked counters of a BatchNorm2d state dict.)
    body = resnet50(weights=None, norm_layer=FrozenBatchNorm2d)
    model = MaskRCNN(_resnet_fpn_extractor(body, 3), num_classes=num_classes, min_size=min_size)
    model.load_state_dict(sd)
    return model


def read_rgb(img):
    arr = np.fromfile(img["file"], dtype=np.uint8).reshape(img["height"], img["width"], 3)
    # torchvision's to_tensor: uint8 HWC -> float32 CHW / 255.
    return torch.from_numpy(arr).permute(2, 0, 1).float().div(255)


class Worker:
    def __init__(self):
        self.model = None
        self.stamp = {}

    def setup(self, c):
        with open(c["manifest"]) as f:
            inputs = json.load(f)
        t0 = time.perf_counter()
        self.model = build_model(c["weights"], int(c["minSize"]))
        load_ms = (time.perf_counter() - t0) * 1000
        self.model.roi_heads.mask_roi_pool.register_forward_pre_hook(lambda m, args: self.stamp.__setitem__("mask", time.perf_counter()))
        self.image = read_rgb(inputs["inference"])
        if c["mode"] == "train":
            self.model.train()
            self.train_images = [read_rgb(t) for t in inputs["training"]]
            self.targets = []
            for t in inputs["training"]:
                g = len(t["labels"])
                masks = np.fromfile(t["masksFile"], dtype=np.uint8).reshape(g, t["height"], t["width"])
                self.targets.append({
                    "boxes": torch.tensor(t["boxes"], dtype=torch.float32),
                    "labels": torch.tensor(t["labels"], dtype=torch.int64),
                    "masks": torch.from_numpy(masks.copy()),
                })
            params = [p for p in self.model.parameters() if p.requires_grad]
            # torchvision's reference momentum and decay; the driver's lr (see TRAIN_LR in bench.ts).
            self.optimizer = torch.optim.SGD(params, lr=float(c["lr"]), momentum=0.9, weight_decay=1e-4)
        else:
            self.model.eval()
        versions = {"torch": torch.__version__, "torchvision": torchvision.__version__, "python": sys.version.split()[0]}
        return {"loadMs": load_ms, "threads": torch.get_num_threads(), "versions": versions}

    def infer_once(self):
        m = self.model
        with torch.inference_mode():
            t0 = time.perf_counter()
            original_sizes = [self.image.shape[-2:]]
            images, _ = m.transform([self.image])
            t1 = time.perf_counter()
            features = m.backbone(images.tensors)
            t2 = time.perf_counter()
            proposals, _ = m.rpn(images, features)
            t3 = time.perf_counter()
            self.stamp.clear()
            detections, _ = m.roi_heads(features, proposals, images.image_sizes)
            t4 = time.perf_counter()
            detections = m.transform.postprocess(detections, images.image_sizes, original_sizes)
            t5 = time.perf_counter()
        mask_start = self.stamp.get("mask", t4)
        stages = dict(zip(STAGES, [(t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000, (mask_start - t3) * 1000, (t5 - mask_start) * 1000]))
        return (t5 - t0) * 1000, stages, len(detections[0]["boxes"])

    def infer(self, c):
        ms, stages, detections = [], [], []
        for _ in range(int(c.get("count", 1))):
            total, s, d = self.infer_once()
            ms.append(total)
            stages.append(s)
            detections.append(d)
        return {"ms": ms, "stages": stages, "detections": detections}

    def train(self, c):
        t0 = time.perf_counter()
        self.optimizer.zero_grad(set_to_none=True)
        losses = self.model(self.train_images, self.targets)
        total = sum(losses.values())
        total.backward()
        self.optimizer.step()
        ms = (time.perf_counter() - t0) * 1000
        values = {k: v.item() for k, v in losses.items()}
        if not all(math.isfinite(v) for v in values.values()):
            raise FloatingPointError(f"non-finite loss: {values}")
        return {"ms": ms, "losses": values}

    def memory(self, c):
        return {"peakMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    worker = Worker()
    commands = {"setup": worker.setup, "infer": worker.infer, "train": worker.train, "memory": worker.memory}
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            c = json.loads(line)
            if c.get("cmd") == "quit":
                break
            if c.get("cmd") not in commands:
                raise ValueError(f"unknown command {c.get('cmd')!r} (valid: {', '.join(commands)}, quit)")
            reply({"ok": True, **commands[c["cmd"]](c)})
        except Exception as e:  # the driver shows the error; the worker stays up for the next command
            import traceback

            reply({"ok": False, "error": f"{type(e).__name__}: {e}\n{traceback.format_exc()}"})


if __name__ == "__main__":
    main()
