import Foundation

/// comparison.md's "Where the time goes": per arm (means over seeds) and per unfinished
/// run, each phase's wall seconds by part (results.json `seconds_breakdown`,
/// `PhaseClock`) and each part's share of the phase.
extension ComparisonReport {
    /// A table per arm and unfinished run with a breakdown: a row per phase, a column
    /// per part that took at least 0.05 s (a figure other than 0.0) in some phase, and
    /// `other` (in `PhaseClock.Part` order, parts of other names after them), each cell
    /// "seconds (share)"; comparison.json keeps every part. None without breakdowns.
    var timeBreakdown: [String] {
        let finished = baselines.flatMap { b in
            b.arms.compactMap { a in a.seconds_breakdown_per_phase.map { ("\(b.name) / \(a.name)", a.classes, $0) } }
        }
        let unfinished = partial_runs.compactMap { r in
            r.seconds_breakdown_per_phase.map { ("\(r.baseline) / \(r.arm) / seed \(r.seed) (unfinished)", r.classes, $0) }
        }
        let tables = finished + unfinished
        guard !tables.isEmpty else { return [] }
        var lines = ["## Where the time goes", "",
                     "Wall seconds of each phase by part (finished arms: the mean over seeds), and the part's share of the phase. "
                         + "The parts are disjoint and sum to the phase's time; `training steps` excludes the reference model's "
                         + "forward pass and the data loading, each its own part (docs/PERFORMANCE.md, \"In a run\"). "
                         + "A phase written by an older cil has no breakdown (–).", ""]
        for (title, classes, phases) in tables {
            lines += Self.breakdownTable(title: title, classes: classes, phases: phases) + [""]
        }
        return lines
    }

    /// One table: `phases[p]` is phase p's breakdown (empty when it has none).
    static func breakdownTable(title: String, classes: [Int], phases: [[String: Double]]) -> [String] {
        let known = PhaseClock.Part.allCases.map(\.rawValue)
        let others = Set(phases.flatMap(\.keys)).subtracting(known).sorted()
        let parts = (known + others).filter { part in
            part == PhaseClock.Part.other.rawValue ? phases.contains { $0[part] != nil } : phases.contains { ($0[part] ?? 0) >= 0.05 }
        }
        var lines = ["| \(title) | total, s | " + parts.map { $0.replacingOccurrences(of: "_", with: " ") }.joined(separator: " | ") + " |",
                     "|---|---|" + parts.map { _ in "---|" }.joined()]
        for (p, breakdown) in phases.enumerated() {
            let label = p < classes.count ? "phase \(p) (\(classes[p]) classes)" : "phase \(p)"
            guard !breakdown.isEmpty else {
                lines.append("| \(label) | – | " + parts.map { _ in "–" }.joined(separator: " | ") + " |")
                continue
            }
            let total = breakdown.values.reduce(0, +)
            let cells = parts.map { part -> String in
                let s = breakdown[part] ?? 0
                return String(format: "%.1f (%.1f%%)", s, total > 0 ? 100 * s / total : 0)
            }
            lines.append("| \(label) | " + String(format: "%.1f", total) + " | " + cells.joined(separator: " | ") + " |")
        }
        return lines
    }
}
