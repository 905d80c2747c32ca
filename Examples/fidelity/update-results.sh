#!/usr/bin/env bash
# Regenerates the reduced-budget tables and plot of docs/RESULTS.md (section 2) from the
# fidelity runs, finished or not: `cil report` of OUT/reduced, pasted between the
# "cil report: begin/end" markers with its headings one level down, and its plot copied
# to docs/results/reduced-comparison.svg. The prose of sections 3-5 stays by hand.
#
#   Examples/fidelity/update-results.sh OUT      (OUT as given to Examples/fidelity/run.sh)
# CIL  the cil binary (default .build/release/cil).
set -euo pipefail
out=${1:?usage: Examples/fidelity/update-results.sh OUT}
cil=${CIL:-.build/release/cil}
here=$(cd "$(dirname "$0")/../.." && pwd)
report=$(mktemp -d)
trap 'rm -rf "$report"' EXIT
"$cil" report "$out/reduced" --out "$report" > /dev/null
cp "$report/comparison.svg" "$here/docs/results/reduced-comparison.svg"
python3 - "$report/comparison.md" "$here/docs/RESULTS.md" <<'PY'
import re, sys
report, results = sys.argv[1], sys.argv[2]
body = open(report, encoding="utf-8").read().splitlines()
body = [l for l in body if l != "# Comparison"]
body = ["#" + l if l.startswith("## ") else l for l in body]
text = open(results, encoding="utf-8").read()
begin, end = "<!-- cil report: begin -->", "<!-- cil report: end -->"
if begin not in text or end not in text:
    sys.exit(f"{results}: the markers {begin} and {end} are missing")
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(results, "w", encoding="utf-8").write(head + begin + "\n" + "\n".join(body).strip() + "\n" + end + tail)
PY
echo "updated docs/RESULTS.md section 2 and docs/results/reduced-comparison.svg from $out/reduced"
