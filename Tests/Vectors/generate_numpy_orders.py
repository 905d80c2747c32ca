#!/usr/bin/env python3
"""Writes numpy_class_orders.json: the class orders NumPy's legacy global RNG gives,
i.e. `np.random.seed(seed); order = np.arange(n); np.random.shuffle(order)`, exactly as
the original code builds its class order (docs/ALGORITHMS.md §1.1,
AAN:trainer/base_trainer.py `init_class_order`). Also the first MT19937 outputs after
`np.random.seed(seed)`, to test the generator on its own.

Run from anywhere:  python3 Tests/Vectors/generate_numpy_orders.py
"""
import json
import os

import numpy as np

SEEDS = [0, 1, 7, 42, 1993, 2021, 123456789, 4294967295]
SIZES = [1, 2, 3, 10, 100, 200, 1000]


def order(seed, n):
    np.random.seed(seed)
    a = np.arange(n)
    np.random.shuffle(a)
    return [int(v) for v in a]


def first_uint32(seed, count):
    rs = np.random.RandomState(seed)
    # randint with dtype uint32 over the full range returns raw 32-bit outputs.
    return [int(v) for v in rs.randint(0, 2**32, size=count, dtype=np.uint32)]


cases = [{"seed": s, "n": n, "order": order(s, n)} for s in SEEDS for n in SIZES]
raw = [{"seed": s, "uint32": first_uint32(s, 8)} for s in [0, 1993, 5489]]
out = {
    "description": "np.random.seed(seed); a = np.arange(n); np.random.shuffle(a) (NumPy's legacy MT19937 RandomState)",
    "numpy_version": np.__version__,
    "cases": cases,
    "mt19937_first_outputs": raw,
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "numpy_class_orders.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {path}: {len(cases)} orders")
