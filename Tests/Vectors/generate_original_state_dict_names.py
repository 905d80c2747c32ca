#!/usr/bin/env python3
"""Writes original_state_dict_names.json: the names and shapes of the state dicts of
the original AANets code's networks, for StateDictTests to compare cil's names with.

    python3 Tests/Vectors/generate_original_state_dict_names.py --aan-dir DIR

DIR is the original code's adaptive-aggregation-networks folder. Made with
torch 2.13.0+cpu (Examples/pytorch/requirements.txt). Entries:

- resnet32_phase0: `resnet32(num_classes=50)` (fc a CosineLinear);
- resnet32_phase1: the same with fc a SplitCosineLinear(64, 50, 10), as
  base_trainer.py builds b1_model in phase 1 with branch_1 free or fixed;
- resnetmtl32_phase1: `resnetmtl32(num_classes=50)` with the split fc (b1_model, ss);
- resnet20_phase0, resnet18_phase0: `resnet20(num_classes=10)`,
  `modified_resnet.resnet18(num_classes=100)`;
- fusion_vars: the state dict of the CIFAR `nn.ParameterList` of α.
"""
import argparse
import json
import os
import sys
import types

import torch
import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument("--aan-dir", required=True)
args = parser.parse_args()
sys.path.insert(0, args.aan_dir)
sys.modules.setdefault("torchvision", types.ModuleType("torchvision"))
import models.modified_linear as modified_linear  # noqa: E402
import models.modified_resnet as modified_resnet  # noqa: E402
import models.modified_resnet_cifar as modified_resnet_cifar  # noqa: E402
import models.modified_resnetmtl_cifar as modified_resnetmtl_cifar  # noqa: E402


def names(module):
    return {k: list(v.shape) for k, v in module.state_dict().items()}


def split(model, old, new):
    model.fc = modified_linear.SplitCosineLinear(model.fc.in_features, old, new)
    return model


out = {
    "resnet32_phase0": names(modified_resnet_cifar.resnet32(num_classes=50)),
    "resnet32_phase1": names(split(modified_resnet_cifar.resnet32(num_classes=50), 50, 10)),
    "resnetmtl32_phase1": names(split(modified_resnetmtl_cifar.resnetmtl32(num_classes=50), 50, 10)),
    "resnet20_phase0": names(modified_resnet_cifar.resnet20(num_classes=10)),
    "resnet18_phase0": names(modified_resnet.resnet18(num_classes=100)),
    "fusion_vars": names(nn.ParameterList([nn.Parameter(torch.FloatTensor([0.5])) for _ in range(3)])),
}
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "original_state_dict_names.json"), "w") as f:
    json.dump(out, f, indent=1, sort_keys=True)
    f.write("\n")
