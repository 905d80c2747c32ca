#!/usr/bin/env python3
"""Saves a phase-0 network of the original AANets code as a safetensors state dict
for `cil run --phase0-from` (or `--init-from`), and a probe: images with the
network's eval-mode logits and features, for `cil export --probe-input`.

    python save_original.py --aan-dir DIR --classes 2 [--backbone resnet32] \
        [--train-steps 3] [--seed 0] model.safetensors probe.safetensors

The network is the original's `resnet32(num_classes=CLASSES)` (or resnet20/18/34),
initialised as the original does; `--train-steps` SGD steps on random data (lr 0.1,
training mode) move its weights and batch-norm statistics away from their initial
values, so that the check covers them. The state dict is `model.state_dict()` as it
is, `num_batches_tracked` included, written by `safetensors.torch.save_file`.
"""
import argparse
import sys
import types

import torch
import torch.nn as nn
from safetensors.torch import save_file


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aan-dir", required=True, help="the original code's adaptive-aggregation-networks folder")
    parser.add_argument("--classes", type=int, required=True, help="classes of phase 0 (cil's --nb-cl-fg)")
    parser.add_argument("--backbone", default="resnet32", choices=["resnet32", "resnet20", "resnet18", "resnet34"])
    parser.add_argument("--train-steps", type=int, default=3)
    parser.add_argument("--probe-images", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("model")
    parser.add_argument("probe")
    args = parser.parse_args()

    sys.path.insert(0, args.aan_dir)
    sys.modules.setdefault("torchvision", types.ModuleType("torchvision"))
    import models.modified_resnet as modified_resnet
    import models.modified_resnet_cifar as modified_resnet_cifar

    torch.manual_seed(args.seed)
    cifar = args.backbone in ("resnet32", "resnet20")
    module = modified_resnet_cifar if cifar else modified_resnet
    model = getattr(module, args.backbone)(num_classes=args.classes)
    side = 32 if cifar else 224
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.train()
    for _ in range(args.train_steps):
        x = torch.randn(16, 3, side, side)
        y = torch.randint(0, args.classes, (16,))
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

    model.eval()
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, args.model, metadata={"written_by": "Examples/pytorch/save_original.py", "backbone": args.backbone})
    with torch.no_grad():
        images = torch.randn(args.probe_images, 3, side, side)
        logits = model(images)
        features = nn.Sequential(*list(model.children())[:-1])(images).flatten(1)
    save_file({"images": images, "logits": logits, "features": features}, args.probe)
    print(f"wrote {args.model}: {args.backbone}(num_classes={args.classes}), {len(state)} tensors, "
          f"{args.train_steps} training steps; {args.probe}: {tuple(images.shape)} images, logits {tuple(logits.shape)}")


if __name__ == "__main__":
    main()
