#!/usr/bin/env python3
"""Prints the largest absolute differences of two probes' logits and features (the
images must be the same), e.g. PyTorch's from save_original.py and cil's from
`cil export --probe-input`. Exit status 1 above --tolerance.

    python compare_probes.py [--tolerance 1e-4] reference.safetensors other.safetensors
"""
import argparse
import sys

from safetensors.torch import load_file


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest accepted difference, relative to max(1, largest |value|)")
    parser.add_argument("reference")
    parser.add_argument("other")
    args = parser.parse_args()
    a, b = load_file(args.reference), load_file(args.other)
    if not (a["images"] == b["images"]).all():
        sys.exit("the probes are of different images")
    worst = 0.0
    for name in ("logits", "features"):
        diff = (a[name] - b[name]).abs().max().item()
        scale = max(1.0, a[name].abs().max().item())
        worst = max(worst, diff / scale)
        print(f"{name} {tuple(a[name].shape)}: max |difference| = {diff:.3e} (max |value| {a[name].abs().max().item():.4g})")
    if worst > args.tolerance:
        sys.exit(f"difference above the tolerance {args.tolerance}")


if __name__ == "__main__":
    main()
