#!/usr/bin/env bash
# cil -> PyTorch and PyTorch -> cil on tiny synthetic runs (docs/INTEROP.md).
#
#   Examples/pytorch/roundtrip.sh AAN_DIR OUT [PYTHON]
#
# AAN_DIR: the original code's adaptive-aggregation-networks folder; OUT: a new
# directory; PYTHON: an interpreter with requirements.txt installed (default python3).
# Trains a single-branch LUCIR run and a MANets (ss + free) LUCIR run, exports
# phases 0-2 of each with probes and loads every export into the original's models
# (load_in_original.py); then saves an original resnet32 from PyTorch, runs cil with
# --phase0-from on it and compares cil's logits for PyTorch's probe images with
# PyTorch's (compare_probes.py). Any difference above 1e-4 fails the script.
set -euo pipefail
aan=$(cd "$1" && pwd)
out=$2
python=${3:-python3}
here=$(cd "$(dirname "$0")" && pwd)
cil=$here/../../.build/release/cil
mkdir -p "$out"

tiny=(--dataset synthetic --num-classes 6 --images-per-class 40 --test-images-per-class 10
      --nb-cl-fg 2 --nb-cl 2 --preset quick --epochs-fg 2 --epochs 1 --batch-size 16
      --backbone resnet32 --baseline lucir --quiet --threads 2)

echo "== cil -> PyTorch"
"$cil" run "${tiny[@]}" --branch-mode single --branch-1 free --out "$out/lucir-single"
"$cil" run "${tiny[@]}" --branch-mode dual --branch-1 ss --branch-2 free --out "$out/lucir-dual"
for run in lucir-single lucir-dual; do
    for phase in 0 1 2; do
        model=$out/$run-phase$phase.safetensors
        "$cil" export "$out/$run" --phase "$phase" --out "$model" --probe "${model%.safetensors}-probe.safetensors"
        "$python" "$here/load_in_original.py" --aan-dir "$aan" "$model" "${model%.safetensors}-probe.safetensors"
    done
done

echo "== PyTorch -> cil"
"$python" "$here/save_original.py" --aan-dir "$aan" --classes 2 --backbone resnet32 \
    "$out/original-resnet32.safetensors" "$out/original-probe.safetensors"
"$cil" run "${tiny[@]}" --branch-mode dual --branch-1 ss --branch-2 free \
    --phase0-from "$out/original-resnet32.safetensors" --out "$out/from-pytorch"
"$cil" export "$out/from-pytorch" --phase 0 --out "$out/from-pytorch-phase0.safetensors" \
    --probe "$out/from-pytorch-probe.safetensors" --probe-input "$out/original-probe.safetensors"
"$python" "$here/compare_probes.py" "$out/original-probe.safetensors" "$out/from-pytorch-probe.safetensors"
