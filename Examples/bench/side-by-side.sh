#!/usr/bin/env bash
# cil against a PyTorch peer, measured the way docs/PERFORMANCE.md asks: the two
# alternated in one sitting, N rounds, medians and ratios at the end.
#
#   python3 -m venv .venv-bench && .venv-bench/bin/pip install -r Examples/bench/requirements.txt
#   PYTHON=.venv-bench/bin/python Examples/bench/side-by-side.sh [ROUNDS]   (default 5)
# CIL     the cil binary (default .build/release/cil)
# PYTHON  the python that runs the peer, with torch 2.13.0+cpu (default python3)
# PEER    the PyTorch peer script (default torch_peer.py next to this script): it takes
#         BATCH STEPS THREADS and prints "plain ResNet-32 train: N img/s" and
#         "dual  ResNet-32 train: N img/s" (docs/PERFORMANCE.md)
# THREADS threads for both (default 2)
# Each round: cil plain (8 steps), the peer (plain and dual, 5 steps each), cil dual (6 steps).
set -euo pipefail
rounds=${1:-5}
cil=${CIL:-.build/release/cil}
python=${PYTHON:-python3}
threads=${THREADS:-2}
peer=${PEER:-$(dirname "$0")/torch_peer.py}
[ -f "$peer" ] || { echo "side-by-side: the peer script $peer is missing" >&2; exit 2; }
log=$(mktemp)
trap 'rm -f "$log" "$log.err"' EXIT
rate() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(round(d["images_per_second"], 1), round(d["eval_images_per_second"], 1), d["peak_rss_bytes"], d["blas_core"])'; }
for r in $(seq 1 "$rounds"); do
    read -r cp ce cm core < <("$cil" bench --steps 8 --threads "$threads" --json | rate)
    peer_out=$("$python" "$peer" 128 5 "$threads" 2> "$log.err") || { cat "$log.err" >&2; exit 1; }
    tp=$(sed -n 's/^plain ResNet-32 train: \([0-9.]*\) img\/s/\1/p' <<< "$peer_out")
    td=$(sed -n 's/^dual  ResNet-32 train: \([0-9.]*\) img\/s/\1/p' <<< "$peer_out")
    [ -n "$tp" ] && [ -n "$td" ] || { printf 'side-by-side: no plain and dual "train:" lines from %s:\n%s\n' "$peer" "$peer_out" >&2; exit 1; }
    read -r dp de dm _ < <("$cil" bench --steps 6 --threads "$threads" --branch-mode dual --json | rate)
    echo "round $r $(date -u +%T): cil plain $cp (eval $ce, $((cm / 1048576)) MiB)  peer plain $tp  |  cil dual $dp (eval $de, $((dm / 1048576)) MiB)  peer dual $td  [BLAS $core]"
    echo "$cp $tp $dp $td $ce $de" >> "$log"
done
python3 - "$log" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
med = [statistics.median(c) for c in zip(*rows)]
cp, tp, dp, td, ce, de = med
print(f"medians over {len(rows)} rounds: plain cil {cp:.1f} / peer {tp:.1f} = {cp / tp:.2f}x; "
      f"dual cil {dp:.1f} / peer {td:.1f} = {dp / td:.2f}x; eval/train cil {ce / cp:.1f}x plain, {de / dp:.1f}x dual")
print("per-round ratios: plain " + ", ".join(f"{r[0] / r[1]:.2f}" for r in rows) + "; dual " + ", ".join(f"{r[2] / r[3]:.2f}" for r in rows))
PY
