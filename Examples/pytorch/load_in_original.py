#!/usr/bin/env python3
"""Loads a network exported by `cil export` into the original AANets code's own
models and checks that they compute what cil computed.

    python load_in_original.py --aan-dir DIR model.safetensors probe.safetensors

DIR is a checkout of the original code (github.com/yaoyao-liu/class-incremental-learning,
folder adaptive-aggregation-networks): its models/ and utils/ are imported from there.
From the file's __metadata__ the script builds the original's network:

- plain (phase 0, or single-branch runs): `resnet32` (resnet20/18/34 by `backbone`),
  or its `resnetmtl` twin when branch 1 is `ss` after phase 0; `fc` a `CosineLinear`,
  or a `SplitCosineLinear` when the file has `fc.fc1.weight` (phase >= 1);
- dual (MANets, phase >= 1): b1_model as above with the split head, b2_model (its
  own unused `CosineLinear` over the phase-0 classes), and `fusion_vars`, an
  `nn.ParameterList` of α;

loads the tensors with `load_state_dict(strict=True)` (every tensor of the file must
be used), runs the probe's `images` in eval mode (dual: through the original's
`process_inputs_fp`), and prints the largest absolute difference of the logits and
features to cil's. Exit status 1 if either exceeds --tolerance (times max(1, the
largest |value|)).

The original's utils/misc.py imports torchvision, which this check does not need;
when torchvision is not installed an empty stand-in module is used.
"""
import argparse
import sys
import types

import torch
import torch.nn as nn
from safetensors import safe_open
from safetensors.torch import load_file


def import_original(aan_dir):
    sys.path.insert(0, aan_dir)
    try:
        import torchvision  # noqa: F401
    except ImportError:
        sys.modules["torchvision"] = types.ModuleType("torchvision")
    import models.modified_linear as modified_linear
    import models.modified_resnet as modified_resnet
    import models.modified_resnet_cifar as modified_resnet_cifar
    import models.modified_resnetmtl as modified_resnetmtl
    import models.modified_resnetmtl_cifar as modified_resnetmtl_cifar
    from utils.process_fp import process_inputs_fp
    constructors = {
        "resnet32": (modified_resnet_cifar.resnet32, modified_resnetmtl_cifar.resnetmtl32),
        "resnet20": (modified_resnet_cifar.resnet20, modified_resnetmtl_cifar.resnetmtl20),
        "resnet18": (modified_resnet.resnet18, modified_resnetmtl.resnetmtl18),
        "resnet34": (modified_resnet.resnet34, modified_resnetmtl.resnetmtl34),
    }
    return constructors, modified_linear, process_inputs_fp


def build_branch(constructors, backbone, branch_type, phase0_classes):
    """The original builds every branch with num_classes = nb_cl_fg; `ss` is the mtl network."""
    plain, mtl = constructors[backbone]
    return (mtl if branch_type == "ss" else plain)(num_classes=phase0_classes)


def split_head(modified_linear, model, state, prefix):
    """Replaces a CosineLinear fc by the SplitCosineLinear the state dict holds."""
    if prefix + "fc.fc1.weight" in state:
        old, d = state[prefix + "fc.fc1.weight"].shape
        new = state[prefix + "fc.fc2.weight"].shape[0]
        model.fc = modified_linear.SplitCosineLinear(d, old, new)


def sub_dict(state, prefix):
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aan-dir", required=True, help="the original code's adaptive-aggregation-networks folder")
    parser.add_argument("--tolerance", type=float, default=1e-4,
                        help="largest accepted difference, relative to max(1, largest |value|) (default 1e-4)")
    parser.add_argument("model")
    parser.add_argument("probe")
    args = parser.parse_args()

    constructors, modified_linear, process_inputs_fp = import_original(args.aan_dir)
    with safe_open(args.model, "pt") as f:
        meta = f.metadata()
    state = load_file(args.model)
    probe = load_file(args.probe)
    backbone, phase = meta["backbone"], int(meta["phase"])
    phase0_classes = int(meta["phase0_classes"])
    if meta.get("head") != "CosineHead":
        sys.exit(f"{args.model}: head {meta.get('head')}: the original code has only the cosine classifier")
    if backbone not in constructors:
        sys.exit(f"{args.model}: backbone {backbone} is not one of the original's {sorted(constructors)}")
    dataset = "cifar100" if backbone in ("resnet32", "resnet20") else "imagenet"
    torch.set_grad_enabled(False)

    if meta["layout"] == "plain":
        branch = meta["branch_1"] if phase > 0 else "free"
        model = build_branch(constructors, backbone, branch, phase0_classes)
        split_head(modified_linear, model, state, "")
        model.load_state_dict(state, strict=True)
        model.eval()
        images = probe["images"]
        logits = model(images)
        features = nn.Sequential(*list(model.children())[:-1])(images).flatten(1)
        built = f"{type(model).__name__} ({backbone}, fc {type(model.fc).__name__})"
    else:
        b1 = build_branch(constructors, backbone, meta["branch_1"], phase0_classes)
        b2 = build_branch(constructors, backbone, meta["branch_2"], phase0_classes)
        split_head(modified_linear, b1, state, "b1_model.")
        b1.load_state_dict(sub_dict(state, "b1_model."), strict=True)
        b2.load_state_dict(sub_dict(state, "b2_model."), strict=True)
        alphas = sub_dict(state, "fusion_vars.")
        fusion_vars = nn.ParameterList([nn.Parameter(torch.FloatTensor([0.5])) for _ in alphas])
        fusion_vars.load_state_dict(alphas, strict=True)
        used = {k for k in state if k.split(".")[0] in ("b1_model", "b2_model", "fusion_vars")}
        if used != set(state):
            sys.exit(f"{args.model}: tensors the original's models do not take: {sorted(set(state) - used)}")
        b1.eval()
        b2.eval()
        the_args = types.SimpleNamespace(dataset=dataset)
        logits, features = process_inputs_fp(the_args, fusion_vars, b1, b2, probe["images"])
        built = (f"b1_model {type(b1).__name__} (fc {type(b1.fc).__name__}), b2_model {type(b2).__name__}, "
                 f"fusion_vars {[round(a.item(), 6) for a in fusion_vars]}")

    logit_diff = (logits - probe["logits"]).abs().max().item()
    feature_diff = (features.flatten(1) - probe["features"]).abs().max().item()
    logit_scale = probe["logits"].abs().max().item()
    feature_scale = probe["features"].abs().max().item()
    print(f"{args.model}: phase {phase}, {meta['layout']}: {built}; load_state_dict(strict=True) ok")
    print(f"probe: {tuple(probe['images'].shape)} images; logits {tuple(logits.shape)}")
    print(f"max |logit difference| = {logit_diff:.3e} (max |logit| {logit_scale:.4g}), "
          f"max |feature difference| = {feature_diff:.3e} (max |feature| {feature_scale:.4g})")
    if logit_diff > args.tolerance * max(1.0, logit_scale) or feature_diff > args.tolerance * max(1.0, feature_scale):
        sys.exit(f"difference above the tolerance {args.tolerance} (relative to max(1, largest |value|))")


if __name__ == "__main__":
    main()
