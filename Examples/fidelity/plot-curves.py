#!/usr/bin/env python3
"""Training curves of runs, from their events.jsonl: one SVG with the training loss per
epoch of every run (phases one after the other, a gridline at each phase start) and,
below it, α per level of every run that learns α. Standard library only.

    Examples/fidelity/plot-curves.py OUT.svg RUN_DIR [RUN_DIR ...]

A run's name in the legend is its directory's name. Each epoch counts once: an epoch
trained again after an interruption keeps its newest record. Unfinished phases are
drawn as far as they got.
"""
import json
import os
import sys

WIDTH, PANEL_H, LEFT, RIGHT, TOP, GAP = 960, 260, 60, 20, 40, 50
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
DASHES = ["", "6,3", "2,2"]


def epochs_of(run_dir):
    """[(phase, epoch, loss, alpha)] in order, the newest record of each epoch."""
    path = os.path.join(run_dir, "events.jsonl")
    latest = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{number}: not a JSON object ({e})")
            if event.get("event") == "epoch":
                latest[(event["phase"], event["epoch"])] = (event["loss"], event.get("alpha") or [])
    return [(p, e, loss, alpha) for (p, e), (loss, alpha) in sorted(latest.items())]


def axis_ticks(lo, hi, count=5):
    step = (hi - lo) / count
    return [lo + i * step for i in range(count + 1)]


def panel(out, runs, top, title, series_of, lo, hi, phase_starts, total):
    """One panel: series_of(run) -> [(label suffix, [(x, y)])]."""
    width = WIDTH - LEFT - RIGHT

    def px(x):
        return LEFT + x / max(total, 1) * width

    def py(y):
        return top + PANEL_H - (y - lo) / max(hi - lo, 1e-12) * PANEL_H

    out.append(f'<text x="{LEFT}" y="{top - 10}" font-size="14">{title}</text>')
    out.append(f'<rect x="{LEFT}" y="{top}" width="{width}" height="{PANEL_H}" fill="none" stroke="#444"/>')
    for x, phase in phase_starts:
        out.append(f'<line x1="{px(x):.1f}" y1="{top}" x2="{px(x):.1f}" y2="{top + PANEL_H}" stroke="#ccc"/>')
        out.append(f'<text x="{px(x) + 3:.1f}" y="{top + 12}" font-size="10" fill="#666">phase {phase}</text>')
    for y in axis_ticks(lo, hi):
        out.append(f'<text x="{LEFT - 6}" y="{py(y) + 4:.1f}" font-size="10" text-anchor="end">{y:.3g}</text>')
    legend_y = top + 28
    for run in runs:
        for style, (suffix, points) in enumerate(series_of(run)):
            if not points:
                continue
            colour, dash = run["colour"], DASHES[style % len(DASHES)]
            path = " ".join(f"{'M' if i == 0 else 'L'}{px(x):.1f},{py(y):.1f}" for i, (x, y) in enumerate(points))
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="1.2"{dash_attr}/>')
            out.append(f'<line x1="{WIDTH - RIGHT - 210}" y1="{legend_y - 4}" x2="{WIDTH - RIGHT - 185}" '
                       f'y2="{legend_y - 4}" stroke="{colour}"{dash_attr}/>')
            out.append(f'<text x="{WIDTH - RIGHT - 180}" y="{legend_y}" font-size="11">{run["name"]}{suffix}</text>')
            legend_y += 14


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: plot-curves.py OUT.svg RUN_DIR [RUN_DIR ...]")
    out_path, run_dirs = sys.argv[1], sys.argv[2:]
    runs = []
    for d in run_dirs:
        if not os.path.isfile(os.path.join(d, "events.jsonl")):
            sys.exit(f"{d}: no events.jsonl (expected a cil run directory)")
        runs.append({"name": os.path.basename(os.path.normpath(d)), "epochs": epochs_of(d),
                     "colour": COLOURS[len(runs) % len(COLOURS)]})
    # x: the epoch counted over the phases, each phase as long as the longest run's.
    length = {}
    for run in runs:
        for p, e, _, _ in run["epochs"]:
            length[p] = max(length.get(p, 0), e)
    start, offset = {}, 0
    for p in sorted(length):
        start[p], offset = offset, offset + length[p]
    for run in runs:
        run["points"] = [(start[p] + e, loss, alpha) for p, e, loss, alpha in run["epochs"]]
    phase_starts = [(start[p], p) for p in sorted(start)]
    losses = [loss for run in runs for _, loss, _ in run["points"]]
    if not losses:
        sys.exit("no epoch events in " + ", ".join(run_dirs))
    alphas = [a for run in runs for _, _, alpha in run["points"] for a in alpha]
    panels = 2 if alphas else 1
    height = TOP + panels * PANEL_H + (panels - 1) * GAP + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'font-family="sans-serif">', f'<rect width="{WIDTH}" height="{height}" fill="white"/>']
    panel(out, runs, TOP, "training loss (mean over each epoch)",
          lambda run: [("", [(x, loss) for x, loss, _ in run["points"]])],
          0, max(losses) * 1.05, phase_starts, offset)
    if alphas:
        levels = max(len(alpha) for run in runs for _, _, alpha in run["points"])
        lo, hi = min(alphas + [0.5]), max(alphas + [0.5])
        margin = max((hi - lo) * 0.1, 0.005)
        panel(out, [run for run in runs if any(alpha for _, _, alpha in run["points"])], TOP + PANEL_H + GAP,
              "α per level (the stable branch's weight) after each epoch",
              lambda run: [(f" level {level + 1}", [(x, alpha[level]) for x, _, alpha in run["points"]
                                                     if len(alpha) > level]) for level in range(levels)],
              lo - margin, hi + margin, phase_starts, offset)
    last = "; ".join(f"{run['name']} phase {run['epochs'][-1][0]} epoch {run['epochs'][-1][1]}"
                     for run in runs if run["epochs"])
    out.append(f'<text x="{LEFT}" y="{height - 8}" font-size="11">epoch, counted over the phases '
               f'(the last drawn: {last})</text>')
    out.append("</svg>")
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
