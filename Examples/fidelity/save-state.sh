#!/usr/bin/env bash
# Copies a full-budget run directory into Examples/fidelity/state/NAME in the form that
# folder's README describes: config.json, events.jsonl, results.json, the newest finished
# phase's checkpoint and the in-progress one (if any), each gzipped and cut into parts
# under 2 MiB. Safe while the run goes on: each checkpoint is copied once, and the
# copy is checked to unpack to the same bytes before the old state is replaced.
#
#   Examples/fidelity/save-state.sh RUN_DIR [NAME]     (NAME defaults to RUN_DIR's name)
set -euo pipefail
run=${1:?usage: Examples/fidelity/save-state.sh RUN_DIR [NAME]}
name=${2:-$(basename "$run")}
here=$(cd "$(dirname "$0")" && pwd)
dest="$here/state/$name"
[ -f "$run/config.json" ] || { echo "save-state: $run/config.json not found (not a run directory)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/checkpoints"
for f in config.json events.jsonl results.json; do
    [ -f "$run/$f" ] && cp "$run/$f" "$work/$f"
done

# The newest finished phase: the highest N with checkpoints/phase-N.ckpt.
newest=$(ls "$run/checkpoints" 2>/dev/null | sed -n 's/^phase-\([0-9]*\)\.ckpt$/\1/p' | sort -n | tail -1)
if [ -n "$newest" ]; then
    cp "$run/checkpoints/phase-$newest.ckpt" "$work/raw-finished"
    gzip -9 -n -c "$work/raw-finished" > "$work/finished.gz"
    split -b 1900k "$work/finished.gz" "$work/checkpoints/phase-$newest.ckpt.gz.part-"
    cmp -s <(cat "$work/checkpoints/phase-$newest.ckpt.gz.part-"* | gunzip -c) "$work/raw-finished" \
        || { echo "save-state: the parts of phase-$newest.ckpt.gz do not unpack to its checkpoint" >&2; exit 1; }
    rm "$work/raw-finished" "$work/finished.gz"
fi
progress=$(ls "$run/checkpoints" 2>/dev/null | grep -E '^phase-[0-9]+-in-progress\.ckpt$' | sort -V | tail -1 || true)
if [ -n "$progress" ]; then
    cp "$run/checkpoints/$progress" "$work/raw-progress"
    gzip -9 -n -c "$work/raw-progress" > "$work/progress.gz"
    split -b 1900k "$work/progress.gz" "$work/checkpoints/$progress.gz.part-"
    cmp -s <(cat "$work/checkpoints/$progress.gz.part-"* | gunzip -c) "$work/raw-progress" \
        || { echo "save-state: the parts of $progress.gz do not unpack to its checkpoint" >&2; exit 1; }
    rm "$work/raw-progress" "$work/progress.gz"
fi

rm -rf "$dest.new" && cp -r "$work" "$dest.new" && chmod 755 "$dest.new" "$dest.new/checkpoints"
rm -rf "$dest" && mv "$dest.new" "$dest"
last=$(grep '"event":"epoch"' "$dest/events.jsonl" 2>/dev/null | tail -1 | sed -n 's/.*"epoch":\([0-9]*\).*"phase":\([0-9]*\).*/phase \2 epoch \1/p')
echo "save-state: $dest (finished phase ${newest:-none}; ${progress:-no phase in progress}; last epoch event: ${last:-none})"
