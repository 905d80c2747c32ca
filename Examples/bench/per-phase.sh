#!/usr/bin/env bash
# Whole phases on the real CIFAR-100, timed part by part (results.json
# `seconds_breakdown`, docs/PERFORMANCE.md), beside the original PyTorch code's wall
# times for the same phases on a 2-core machine. LUCIR, B50 then 10 classes a phase,
# seed-1993 order, `--preset paper --mode faithful`, batch 128. Each round runs:
#   phase 0   one epoch of 25,000 images from scratch at lr 0.1 (`--lr-factor 1`: one
#             epoch's milestones would fall on epoch 0), then its evaluation, herding
#             and class means (`--epochs-fg 1 --stop-after-phase 0`);
#   plain     phase 1 at 4 epochs on 7,000 images (5,000 new, 2,000 exemplars), the
#             single-branch network, from the given phase-0 weights;
#   manets    the same phase 1 on MANets (`ss` stable + `free` plastic, α learned).
# Phase 1 includes the reference model, imprinting, the α pass (MANets), herding, class
# means and evaluation, as the original's figures do.
#
#   Examples/bench/per-phase.sh [DATA_DIR [ROUNDS]]   (defaults: data/cifar-100-binary, 1)
# CIL      the cil binary (default .build/release/cil)
# WEIGHTS  phase-0 weights for phase 1 (default
#          Examples/fidelity/weights/lucir-paper-phase0-seed1993.safetensors)
# THREADS  engine threads (default 2)
# KEEP     a directory to keep the run directories in (default: a temporary one, removed)
# Run it with nothing else on the cores: every figure is wall time.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
data=$(realpath "${1:-data/cifar-100-binary}")
rounds=${2:-1}
cil=${CIL:-.build/release/cil}
weights=$(realpath "${WEIGHTS:-$here/Examples/fidelity/weights/lucir-paper-phase0-seed1993.safetensors}")
threads=${THREADS:-2}
[ -f "$data/train.bin" ] || { echo "per-phase: $data/train.bin not found (expected the CIFAR-100 binary folder)" >&2; exit 2; }
[ -f "$weights" ] || { echo "per-phase: the phase-0 weights $weights are missing (WEIGHTS)" >&2; exit 2; }
if [ -n "${KEEP:-}" ]; then work=$KEEP; mkdir -p "$work"; else work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi

common=(--dataset cifar100 --data-dir "$data" --preset paper --mode faithful --nb-cl-fg 50 --nb-cl 10
        --baseline lucir --threads "$threads" --quiet)
plain=(--branch-mode single --branch-1 free)
manets=(--branch-mode dual --branch-1 ss --branch-2 free)
echo "per-phase: BLAS core $("$cil" env | awk '$1 == "blas_core" {print $2}'), $threads threads, runs in $work"
for r in $(seq 1 "$rounds"); do
    "$cil" run "${common[@]}" "${plain[@]}" --epochs-fg 1 --lr-factor 1 --stop-after-phase 0 --out "$work/r$r-phase0" > /dev/null
    "$cil" run "${common[@]}" "${plain[@]}" --phase0-from "$weights" --epochs 4 --stop-after-phase 1 \
        --out "$work/r$r-plain" > /dev/null
    "$cil" run "${common[@]}" "${manets[@]}" --phase0-from "$weights" --epochs 4 --stop-after-phase 1 \
        --out "$work/r$r-manets" > /dev/null
    echo "round $r done $(date -u +%T)"
done
python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
# The original code's wall times on a 2-core machine for the same phases (seconds).
original = {"phase0": (130, 130), "plain": (453, 646), "manets": (532, 630)}
span = lambda lo, hi, f: f(lo) if lo == hi else f"{f(lo)}-{f(hi)}"
runs = [("phase0", 0), ("plain", 1), ("manets", 1)]
def phase(run, r):
    res = json.load(open(f"{work}/r{r}-{run[0]}/results.json"))
    return next(p for p in res["phases"] if p["phase"] == run[1]), res["blas_core"]
cells = {run[0]: [phase(run, r)[0] for r in range(1, rounds + 1)] for run in runs}
core = phase(runs[0], 1)[1]
parts = sorted({k for ps in cells.values() for p in ps for k in (p.get("seconds_breakdown") or {})},
               key=lambda k: -max(statistics.median((p.get("seconds_breakdown") or {}).get(k, 0) for p in cells[n])
                                  for n, _ in runs))
med = lambda n, f: statistics.median(f(p) for p in cells[n])
print(f"\nmedians over {rounds} round(s), seconds (share of the phase); BLAS core {core}")
print("| part | phase 0, 1 epoch | phase 1 plain, 4 epochs | phase 1 MANets, 4 epochs |")
print("|---|---|---|---|")
for k in parts:
    row = []
    for n, _ in runs:
        s = med(n, lambda p: (p.get("seconds_breakdown") or {}).get(k, 0.0))
        row.append(f"{s:.1f} ({100 * s / med(n, lambda p: p['seconds']):.0f}%)")
    print(f"| {k} | " + " | ".join(row) + " |")
print("| **total** | " + " | ".join(f"**{med(n, lambda p: p['seconds']):.1f}**" for n, _ in runs) + " |")
print("| the original | " + " | ".join(span(*original[n], lambda s: f"{s}") for n, _ in runs) + " |")
print("| original / cil | " + " | ".join(
    span(*original[n], lambda s: f"{s / med(n, lambda p: p['seconds']):.1f}") + "×" for n, _ in runs) + " |")
for n, _ in runs:
    per = ", ".join(f"{p['seconds']:.1f}" for p in cells[n])
    acc = ", ".join(f"{100 * p['acc_cnn']:.2f}" for p in cells[n])
    print(f"{n}: seconds per round {per}; CNN accuracy % {acc}")
PY
