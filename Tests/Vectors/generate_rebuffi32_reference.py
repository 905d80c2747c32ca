#!/usr/bin/env python3
"""Writes pytorch/12_rebuffi32.safetensors: PODNet's CIFAR network ("rebuffi"
ResNet-32, docs/ALGORITHMS.md §2.5) defined here in PyTorch, one training-mode
forward and backward pass, for NetworkTests/RebuffiResNetTests.swift.

Made with torch 2.13.0+cpu, safetensors 0.8.0 (Examples/pytorch/requirements.txt).
Run from anywhere:  python3 Tests/Vectors/generate_rebuffi32_reference.py

The network, from the description of PODNet's `my_resnet` (n = 5, nf = 16,
`last_relu=False`, `zero_residual=True`, stride downsampling):
- stem conv3x3 3->nf (no bias), BN, ReLU;
- stage_1: n blocks of nf; stage_2: a width-doubling block (stride 2) + n-1 blocks;
  stage_3: a width-doubling block + n-2 blocks; stage_4: one block of 4nf;
- block: conv3x3 (stride 2 when doubling) -> BN -> ReLU -> conv3x3 -> BN, plus the
  shortcut, and no ReLU after the addition; the doubling shortcut keeps every other
  row and column (x[..., ::2, ::2]) and appends as many zero channels;
- the feature is the average of the stage_4 output over its 8x8 positions;
- the four maps POD-spatial reads: the outputs of stages 1, 2, 3 and stage_4.

Two cases (the real network's weights and gradients do not fit in a small file):
- `w4.*`: the same structure at width nf = 4 (4, 8, 16 channels), every tensor in
  the file: weights and BN buffers (random; every BN gamma away from zero, so that
  every parameter gets a gradient), the input, the upstream gradients, the outputs,
  every parameter's gradient, the input's gradient and the BN buffers after the pass.
- `w16.*`: the network itself (nf = 16). Its weights, buffers and upstream gradients
  are given by a recipe in the metadata (`w16_recipe`), exact in float32; the input
  is in the file. Stored: the feature, the BN buffers after the pass, and for each map
  and each gradient a summary (`w16.summary.*`, float64: sum of E*P, sum of |E*P|,
  sum of E^2, element count, with P the recipe's probe for that tensor) and a sample
  (`w16.sample.*`: every element of tensors up to 256 elements, else elements
  (j * 104729) mod count for j < 256).

The recipe: for a tensor named S with entry [offset, scale], element i is
offset + scale * v_i with v_i = (mix64(fnv1a64(S) + (i + 1) * 0x9E3779B97F4A7C15) >> 44
- 2^19) / 2^19 (64-bit wrapping arithmetic; mix64 is SplitMix64's finaliser), so
v_i is in [-1, 1) on a 2^-19 grid and every value is exact in float32.

Every computation runs in float64 on the float32 inputs; results are rounded to
float32. The metadata holds the tolerances (several times the deviation of the same
pass run in float32), the parameter counts of rebuffi32 and of the w4 network, the
state-dict names and shapes of both, and the float32 run's worst deviations.
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


class Block(nn.Module):
    def __init__(self, cin, doubles):
        super().__init__()
        cout = 2 * cin if doubles else cin
        self.doubles = doubles
        self.conv_a = nn.Conv2d(cin, cout, 3, stride=2 if doubles else 1, padding=1, bias=False)
        self.bn_a = nn.BatchNorm2d(cout)
        self.conv_b = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn_b = nn.BatchNorm2d(cout)

    def forward(self, x):
        y = self.bn_b(self.conv_b(F.relu(self.bn_a(self.conv_a(x)))))
        if self.doubles:
            kept = x[:, :, ::2, ::2]
            x = torch.cat([kept, torch.zeros_like(kept)], 1)
        return x + y


class Stage(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return x


class Rebuffi(nn.Module):
    def __init__(self, n=5, nf=16):
        super().__init__()
        self.conv_1_3x3 = nn.Conv2d(3, nf, 3, stride=1, padding=1, bias=False)
        self.bn_1 = nn.BatchNorm2d(nf)
        self.stage_1 = Stage([Block(nf, False) for _ in range(n)])
        self.stage_2 = Stage([Block(nf, True)] + [Block(2 * nf, False) for _ in range(n - 1)])
        self.stage_3 = Stage([Block(2 * nf, True)] + [Block(4 * nf, False) for _ in range(n - 2)])
        self.stage_4 = Block(4 * nf, False)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        for m in self.modules():
            if isinstance(m, Block):
                nn.init.constant_(m.bn_b.weight, 0)

    def forward(self, x):
        x = F.relu(self.bn_1(self.conv_1_3x3(x)))
        m1 = self.stage_1(x)
        m2 = self.stage_2(m1)
        m3 = self.stage_3(m2)
        m4 = self.stage_4(m3)
        return m4.mean(dim=(2, 3)), [m1, m2, m3, m4]


def shapes(model):
    return {k: list(v.shape) for k, v in model.state_dict().items()}


def output_shapes(nf, x):
    with torch.no_grad():
        feature, maps = Rebuffi(n=5, nf=nf)(x)
    return {"feature": list(feature.shape), **{f"map{k + 1}": list(m.shape) for k, m in enumerate(maps)}}


def param_count(model):
    return sum(p.numel() for p in model.parameters())


def run(model, values, x, upstream, dtype):
    """One training-mode pass in `dtype`: outputs, gradients, buffers after."""
    model = model.to(dtype)
    model.train()
    with torch.no_grad():
        for k, v in model.state_dict().items():
            if v.is_floating_point():
                v.copy_(values[k].to(dtype))
    xi = x.to(dtype).clone().requires_grad_(True)
    feature, maps = model(xi)
    outs = {"feature": feature, **{f"map{k + 1}": m for k, m in enumerate(maps)}}
    loss = sum((outs[k] * upstream[k].to(dtype)).sum() for k in outs)
    model.zero_grad()
    loss.backward()
    grads = {k: p.grad.detach().clone() for k, p in model.named_parameters()}
    grads["input"] = xi.grad.detach().clone()
    after = {k: v.detach().clone() for k, v in model.state_dict().items()
             if k.endswith("running_mean") or k.endswith("running_var")}
    return {k: v.detach() for k, v in outs.items()}, grads, after


def group(name):
    if name == "feature":
        return "feature"
    if name.startswith("map"):
        return "maps"
    if name == "input":
        return "grad_input"
    if name.endswith("running_mean") or name.endswith("running_var"):
        return "running_stats"
    return "grad_conv" if "conv" in name else "grad_bn"


def deviations(results64, results32):
    """Worst float32-vs-float64 deviation per group: max |d| and max |d| / |e|
    over the elements with |e| above 1% of the tensor's largest magnitude."""
    worst = {}
    for part64, part32 in zip(results64, results32):
        for k, e in part64.items():
            a = part32[k].double()
            d = (a - e).abs()
            big = e.abs() > 0.01 * e.abs().max()
            rel = (d[big] / e.abs()[big]).max().item() if big.any() else 0.0
            w = worst.setdefault(group(k), [0.0, 0.0])
            w[0] = max(w[0], d.max().item())
            w[1] = max(w[1], rel)
    return worst


# The recipe of the w16 case.
def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def recipe_values(name, count):
    base = fnv1a64(name)
    v = [((mix64((base + (i + 1) * GOLDEN) & M64) >> 44) - (1 << 19)) / (1 << 19) for i in range(count)]
    return torch.tensor(v, dtype=torch.float64)


def recipe_tensor(name, shape, offset, scale):
    t = offset + scale * recipe_values(name, math.prod(shape)).reshape(shape)
    assert torch.equal(t.float().double(), t), name  # exact in float32
    return t.float()


def sample_indices(n):
    return list(range(n)) if n <= 256 else [(j * 104729) % n for j in range(256)]


def random_values(model, gen):
    values = {}
    for k, v in model.state_dict().items():
        if not v.is_floating_point():
            continue
        if k.endswith("running_mean") or k.endswith(".bias"):
            t = torch.randn(v.shape, generator=gen) * 0.2
        elif k.endswith("running_var") or v.dim() == 1:
            t = 0.5 + torch.rand(v.shape, generator=gen)
        else:
            fan_out = v.shape[0] * v.shape[2] * v.shape[3]
            t = torch.randn(v.shape, generator=gen) * math.sqrt(2 / fan_out)
        values[k] = t.float()
    return values


def tolerances(worst):
    # 10x the float32 run's worst relative deviation (at least 1e-5), and an atol of
    # 10x its worst absolute deviation: generous for the small entries, where the
    # float32 noise is absolute rather than relative.
    return {g: {"rtol": float(f"{max(10 * r, 1e-5):.1g}"), "atol": float(f"{max(10 * a, 1e-7):.1g}")}
            for g, (a, r) in sorted(worst.items())}


def main():
    tensors = {}
    meta = {}
    gen = torch.Generator().manual_seed(20261204)

    # w4: everything in the file.
    w4 = Rebuffi(n=5, nf=4)
    v4 = random_values(w4, gen)
    x4 = torch.randn(2, 3, 32, 32, generator=gen).float()
    up4 = {k: torch.randn(s, generator=gen).float() for k, s in output_shapes(4, x4).items()}
    r64 = run(Rebuffi(n=5, nf=4), v4, x4, up4, torch.float64)
    r32 = run(Rebuffi(n=5, nf=4), v4, x4, up4, torch.float32)
    worst4 = deviations(r64, r32)
    for k, v in v4.items():
        tensors[f"w4.param.{k}"] = v
    tensors["w4.input"] = x4
    for k, v in up4.items():
        tensors[f"w4.upstream.{k}"] = v
    outs, grads, after = r64
    for k, v in outs.items():
        tensors[f"w4.out.{k}"] = v.float()
    for k, v in grads.items():
        tensors[f"w4.grad.{k}"] = v.float()
    for k, v in after.items():
        tensors[f"w4.after.{k}"] = v.float()

    # w16: the network itself, weights by the recipe.
    w16 = Rebuffi(n=5, nf=16)
    sd16 = shapes(w16)
    recipe = {}
    for k, shape in sd16.items():
        if k.endswith("num_batches_tracked"):
            continue
        if k.endswith("running_mean") or k.endswith(".bias"):
            recipe[k] = [0.0, 0.125]
        elif k.endswith("running_var") or len(shape) == 1:
            recipe[k] = [1.0, 0.25]
        else:
            fan_out = shape[0] * shape[2] * shape[3]
            recipe[k] = [0.0, 2.0 ** round(math.log2(math.sqrt(6 / fan_out)))]
    v16 = {k: recipe_tensor(k, sd16[k], *r) for k, r in recipe.items()}
    x16 = torch.randn(2, 3, 32, 32, generator=gen).float()
    up_shapes = output_shapes(16, x16)
    for k, shape in up_shapes.items():
        recipe[f"upstream.{k}"] = [0.0, 1.0]
    up16 = {k: recipe_tensor(f"upstream.{k}", s, 0.0, 1.0) for k, s in up_shapes.items()}
    r64 = run(Rebuffi(n=5, nf=16), v16, x16, up16, torch.float64)
    r32 = run(Rebuffi(n=5, nf=16), v16, x16, up16, torch.float32)
    worst16 = deviations(r64, r32)
    outs, grads, after = r64
    tensors["w16.input"] = x16
    tensors["w16.out.feature"] = outs["feature"].float()
    for k, v in after.items():
        tensors[f"w16.after.{k}"] = v.float()
    summarised = {**{k: v for k, v in outs.items() if k != "feature"}, **{f"grad.{k}": v for k, v in grads.items()}}
    for k, e in summarised.items():
        flat = e.reshape(-1)
        probe = recipe_values(f"probe.{k}", flat.numel())
        recipe[f"probe.{k}"] = [0.0, 1.0]
        tensors[f"w16.summary.{k}"] = torch.tensor(
            [(flat * probe).sum().item(), (flat * probe).abs().sum().item(), (flat * flat).sum().item(),
             float(flat.numel())], dtype=torch.float64)
        tensors[f"w16.sample.{k}"] = flat[sample_indices(flat.numel())].float()

    worst = {g: [max(worst4.get(g, [0, 0])[i], worst16.get(g, [0, 0])[i]) for i in (0, 1)]
             for g in set(worst4) | set(worst16)}
    meta["tolerance"] = json.dumps(tolerances(worst), sort_keys=True)
    meta["float32_worst_deviation"] = json.dumps(
        {g: {"max_abs": float(f"{a:.3g}"), "max_rel": float(f"{r:.3g}")} for g, (a, r) in sorted(worst.items())},
        sort_keys=True)
    meta["parameter_count_rebuffi32"] = str(param_count(w16))
    meta["parameter_count_w4"] = str(param_count(w4))
    meta["state_dict_rebuffi32"] = json.dumps(sd16, sort_keys=True)
    meta["state_dict_w4"] = json.dumps(shapes(w4), sort_keys=True)
    meta["w16_recipe"] = json.dumps(recipe, sort_keys=True)
    init = Rebuffi(n=5, nf=16).state_dict()
    meta["zero_initialised_gammas"] = json.dumps(sorted(k for k, v in init.items()
                                                        if k.endswith(".weight") and v.dim() == 1 and not v.any()))
    meta["written_by"] = "Tests/Vectors/generate_rebuffi32_reference.py"

    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "pytorch", "12_rebuffi32.safetensors")
    save_file({k: v.contiguous() for k, v in tensors.items()}, path, metadata=meta)
    print(path, os.path.getsize(path), "bytes")
    print("parameters: rebuffi32", meta["parameter_count_rebuffi32"], "w4", meta["parameter_count_w4"])
    print("float32 worst deviation", meta["float32_worst_deviation"])
    print("tolerance", meta["tolerance"])


if __name__ == "__main__":
    main()
