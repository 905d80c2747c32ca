#!/usr/bin/env python3
"""Writes safetensors_reference.safetensors: a small file made by the reference
implementation of the format (the `safetensors` package, from PyTorch tensors), with
one tensor of every dtype cil reads and known values, for SafeTensorsTests.

Made with torch 2.13.0+cpu, safetensors 0.8.0 (requirements: Examples/pytorch/requirements.txt).
Run from anywhere:  python3 Tests/Vectors/generate_safetensors_reference.py

One metadata key only: the reference writes several in an arbitrary order, and the
test also checks that cil's writer reproduces this file byte for byte.
"""
import os

import torch
from safetensors.torch import save_file

tensors = {
    "f32": torch.tensor([[1.5, -2.25, 0.0], [3.0e-8, 1.0e30, -0.125]], dtype=torch.float32),
    "f32_scalar": torch.tensor(0.75, dtype=torch.float32),
    "f32_empty": torch.zeros(0, 4, dtype=torch.float32),
    "f64": torch.tensor([1.0 / 3.0, -1.0e300, 2.5], dtype=torch.float64),
    "f16": torch.tensor([1.0, -2.0, 6.0e-8, 65504.0, float("inf")], dtype=torch.float16),
    "bf16": torch.tensor([1.0, -3.5, 1.0e38], dtype=torch.bfloat16),
    "i64": torch.tensor([[0, -1], [2**40, -(2**62)]], dtype=torch.int64),
    "i32": torch.tensor([7, -8, 2**31 - 1, -(2**31)], dtype=torch.int32),
    "u8": torch.tensor([0, 1, 127, 128, 255], dtype=torch.uint8),
    "bool": torch.tensor([[True, False], [False, True]]),
    # A state-dict-like entry: BatchNorm's batch counter is a 0-d int64.
    "bn1.num_batches_tracked": torch.tensor(3, dtype=torch.int64),
}

here = os.path.dirname(os.path.abspath(__file__))
save_file(tensors, os.path.join(here, "safetensors_reference.safetensors"),
          metadata={"written_by": "safetensors.torch.save_file"})
