#!/usr/bin/python3
"""Writes the optimizer, gradient-clipping and learning-rate fixtures under test/fixtures/optim/.

Run with the system interpreter (torch 1.13):

    /usr/bin/python3 tools/make_optim_cases.py

Every array is stored as {"shape", "dtype", "b64"}: base64 of little-endian float32 bytes, so
values round-trip exactly. Seeds are fixed; rerunning gives the same file.

Optimizer cases run torch.optim.SGD / Adam / AdamW (single-tensor code path, as on CPU) over a
few parameters of different shapes and a sequence of random gradients, with a learning rate that
changes every step (as under a scheduler). A `null` gradient means "no gradient this step"
(p.grad is None), which torch skips without touching the parameter or its state.

Clip cases run torch.nn.utils.clip_grad_norm_ (norm 2). Schedule cases drive LinearLR and
MultiStepLR on one optimizer exactly as torchvision's detection reference does (train.py and
engine.py), recording the lr used by each iteration.
"""
import base64
import json
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "optim")
SHAPES = [[3, 3, 2, 4], [5, 3], [4]]
STEPS = 8


def arr(t):
    t = t.detach().contiguous().to(torch.float32)
    data = t.numpy().astype("<f4")
    return {"shape": list(t.shape), "dtype": "float32", "b64": base64.b64encode(data.tobytes()).decode()}


def make_inputs(seed):
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(s, generator=g) for s in SHAPES]
    grads = [[torch.randn(s, generator=g) * 0.5 for s in SHAPES] for _ in range(STEPS)]
    return params, grads


def optimizer_case(name, make_opt, seed, lrs, missing=(), groups=None):
    """`missing`: (step, param index) pairs that get no gradient. `groups`: list of
    (param indices, extra group options) or None for one group."""
    params0, grads = make_inputs(seed)
    params = [p.clone().requires_grad_(True) for p in params0]
    if groups is None:
        opt = make_opt([{"params": params}])
    else:
        opt = make_opt([dict({"params": [params[i] for i in idx]}, **extra) for idx, extra in groups])
    after = []
    for s in range(STEPS):
        for group in opt.param_groups:
            group["lr"] = lrs[s]
        for i, p in enumerate(params):
            p.grad = None if (s, i) in missing else grads[s][i].clone()
        opt.step()
        after.append([arr(p) for p in params])
    return {
        "name": name,
        "lrs": lrs,
        "params": [arr(p) for p in params0],
        "grads": [[None if (s, i) in missing else arr(grads[s][i]) for i in range(len(SHAPES))] for s in range(STEPS)],
        "after": after,
    }


def clip_case(seed, max_norm, scale):
    g = torch.Generator().manual_seed(seed)
    grads = [torch.randn(s, generator=g) * scale for s in SHAPES]
    params = [torch.zeros(s, requires_grad=True) for s in SHAPES]
    for p, gr in zip(params, grads):
        p.grad = gr.clone()
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return {
        "max_norm": max_norm,
        "grads": [arr(x) for x in grads],
        "total_norm": float(total),
        "clipped": [arr(p.grad) for p in params],
    }


def schedule_epoch_case(base_lr, iters_per_epoch, epochs, milestones, gamma=0.1, warmup_factor=1.0 / 1000):
    """torchvision references/detection: MultiStepLR made in train.py and stepped per epoch;
    LinearLR made inside train_one_epoch for epoch 0 only and stepped per iteration."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base_lr, momentum=0.9)
    multi = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=gamma)
    lrs = []
    warmup_iters = min(1000, iters_per_epoch - 1)
    for epoch in range(epochs):
        warm = None
        if epoch == 0:
            warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=warmup_factor, total_iters=warmup_iters)
        for _ in range(iters_per_epoch):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            if warm is not None:
                warm.step()
        multi.step()
    return {
        "unit": "epoch", "base_lr": base_lr, "iters_per_epoch": iters_per_epoch, "warmup_iters": warmup_iters,
        "warmup_factor": warmup_factor, "milestones": milestones, "gamma": gamma, "lrs": lrs,
    }


def schedule_iteration_case(base_lr, iters, warmup_iters, milestones, gamma=0.1, warmup_factor=1.0 / 1000):
    """Both schedulers stepped per iteration, the warmup first (MultiStepLR made first, as in the
    reference)."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base_lr, momentum=0.9)
    multi = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=gamma)
    warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=warmup_factor, total_iters=warmup_iters)
    lrs = []
    for _ in range(iters):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        warm.step()
        multi.step()
    return {
        "unit": "iteration", "base_lr": base_lr, "warmup_iters": warmup_iters, "warmup_factor": warmup_factor,
        "milestones": milestones, "gamma": gamma, "lrs": lrs,
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    sgd_lrs = [0.02 * (0.5 + 0.1 * s) for s in range(STEPS)]
    adam_lrs = [1e-3 * (1.0 - 0.08 * s) for s in range(STEPS)]
    cases = [
        optimizer_case("sgd", lambda g: torch.optim.SGD(g, lr=0.02, momentum=0.9, weight_decay=1e-4), 1, sgd_lrs),
        optimizer_case("sgd_plain", lambda g: torch.optim.SGD(g, lr=0.02, weight_decay=1e-4), 7, sgd_lrs),
        optimizer_case("sgd_nesterov",
                       lambda g: torch.optim.SGD(g, lr=0.02, momentum=0.9, weight_decay=1e-4, nesterov=True),
                       2, sgd_lrs),
        # Two groups: decay on the first two parameters, none on the bias-like third; the second
        # parameter has no gradient at steps 0 and 3 (its momentum buffer starts at step 1).
        optimizer_case("sgd_groups", lambda g: torch.optim.SGD(g, lr=0.02, momentum=0.9, weight_decay=1e-4), 3,
                       sgd_lrs, missing={(0, 1), (3, 1)}, groups=[([0, 1], {}), ([2], {"weight_decay": 0.0})]),
        optimizer_case("adam", lambda g: torch.optim.Adam(g, lr=1e-3, weight_decay=1e-4), 4, adam_lrs,
                       missing={(2, 0)}),
        optimizer_case("adamw", lambda g: torch.optim.AdamW(g, lr=1e-3, weight_decay=1e-2), 5, adam_lrs,
                       missing={(0, 2), (5, 2)}),
        optimizer_case("adamw_betas",
                       lambda g: torch.optim.AdamW(g, lr=1e-3, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.05),
                       6, adam_lrs),
    ]
    clips = [clip_case(10, 1.0, 0.5), clip_case(11, 1000.0, 0.5), clip_case(12, 0.3, 2.0)]
    schedules = [
        schedule_epoch_case(0.02, 8, 5, [2, 4]),
        schedule_iteration_case(0.02, 40, 10, [15, 30, 30]),
        # A milestone inside the warmup: the recursive factors interleave.
        schedule_iteration_case(0.01, 40, 12, [5, 20], gamma=0.5, warmup_factor=0.01),
    ]
    doc = {
        "torch": torch.__version__,
        "optimizers": {c["name"]: c for c in cases},
        "clip": clips,
        "schedules": schedules,
    }
    path = os.path.join(OUT, "optim_cases.json")
    with open(path, "w") as f:
        json.dump(doc, f)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
