import CILSDK
import Foundation

/// comparison.md: the summary table, the paired differences, the per-phase tables,
/// α, the phases of unfinished runs and the failures, each a section of lines.
extension ComparisonReport {
    static func percent(_ x: Double) -> String { x.isNaN ? "–" : String(format: "%.2f", 100 * x) }
    static func percent(_ s: Statistic) -> String {
        s.n > 1 ? "\(percent(s.mean)) ± \(percent(s.std))" : percent(s.mean)
    }
    static func delta(_ x: Double?) -> String {
        guard let x, !x.isNaN else { return "" }
        return String(format: "%+.2f", 100 * x)
    }

    /// "+0.37 [−0.52, +1.26]" in points; "+0.37 (1 seed)" without an interval.
    static func interval(_ d: PairedDifference) -> String {
        guard let low = d.low, let high = d.high else { return "\(delta(d.mean)) (1 seed)" }
        return "\(delta(d.mean)) [\(delta(low)), \(delta(high))]"
    }

    var markdown: String {
        var lines = ["# Comparison", ""]
        if let protocol_summary { lines += ["Protocol: \(protocol_summary).", ""] }
        lines += settingsTable
        lines += summaryTable + pairedDifferences + alphaExcursionNote + perPhaseTables + alphaPerPhase
            + unfinishedRunPhases + timeBreakdown + failureList
        return lines.joined(separator: "\n")
    }

    /// One row per arm: the summary figures and their Δ to the baseline's first arm.
    var summaryTable: [String] {
        var lines = ["Accuracies in %, mean ± standard deviation over seeds; Δ = arm minus the first arm of its baseline.",
                     "Average incremental accuracy includes phase 0; forgetting = base-class CNN accuracy after phase 0 minus at the end.", "",
                     "| baseline | arm | seeds | avg inc CNN | Δ | avg inc NME | Δ | last CNN | Δ | last NME | forgetting CNN | Δ |",
                     "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for b in baselines {
            for a in b.arms {
                let marked = a.name + ((a.seeds_with_alpha_outside_unit_interval ?? []).isEmpty ? "" : " †")
                lines.append("| \(b.name) | \(marked) | \(a.seeds.count) | \(Self.percent(a.avg_inc_acc_cnn)) | \(Self.delta(a.delta_avg_inc_acc_cnn)) | \(Self.percent(a.avg_inc_acc_nme)) | \(Self.delta(a.delta_avg_inc_acc_nme)) | \(Self.percent(a.last_acc_cnn)) | \(Self.delta(a.delta_last_acc_cnn)) | \(Self.percent(a.last_acc_nme)) | \(Self.percent(a.forgetting_cnn)) | \(Self.delta(a.delta_forgetting_cnn)) |")
            }
        }
        return lines
    }

    /// The paired Δ of every arm with a reference, with intervals and verdicts, then
    /// per baseline the paired Δ of CNN accuracy after each phase (none without pairs).
    var pairedDifferences: [String] {
        let pairedArms = baselines.flatMap { b in b.arms.compactMap { a in a.paired.map { (b.name, a.name, $0) } } }
        guard !pairedArms.isEmpty else { return [] }
        var lines = ["", "## Paired differences (arm − reference arm, same seed)", "",
                     "Δ in points: the mean over seeds of arm − reference on the same seed and class order, "
                         + "[its 95% confidence interval, Student t with n − 1 degrees of freedom]. Verdict: the interval "
                         + "lies above 0 (\"better\"; for forgetting, below), on the other side (\"worse\"), or contains 0.", "",
                     "| baseline | arm | n | Δ avg inc CNN | verdict | Δ avg inc NME | verdict | Δ last CNN | verdict | Δ forgetting CNN | verdict |",
                     "|---|---|---|---|---|---|---|---|---|---|---|"]
        for (baseline, arm, p) in pairedArms {
            let cells = [p.avg_inc_acc_cnn, p.avg_inc_acc_nme, p.last_acc_cnn, p.forgetting_cnn]
                .map { "\(Self.interval($0)) | \($0.verdict.rawValue)" }
            lines.append("| \(baseline) | \(arm) | \(p.seeds.count) | " + cells.joined(separator: " | ") + " |")
        }
        for b in baselines {
            guard let classes = b.arms.first?.classes, !classes.isEmpty, b.arms.contains(where: { $0.paired != nil }) else { continue }
            lines += ["", "Paired Δ of CNN accuracy per phase, points [95% CI]:", ""]
            lines.append("| \(b.name) | " + classes.map { "\($0) classes" }.joined(separator: " | ") + " |")
            lines.append("|---|" + classes.map { _ in "---|" }.joined())
            for a in b.arms {
                guard let p = a.paired else { continue }
                lines.append("| \(a.name) | " + p.acc_cnn_per_phase.map(Self.interval).joined(separator: " | ") + " |")
            }
        }
        return lines
    }

    /// The note behind the † of arms with a run whose α left [0, 1].
    var alphaExcursionNote: [String] {
        let outside = baselines.flatMap { b in
            b.arms.filter { !($0.seeds_with_alpha_outside_unit_interval ?? []).isEmpty }.map { (baseline: b.name, arm: $0) }
        }
        guard !outside.isEmpty else { return [] }
        return ["", "† α left [0, 1] at some level in a run of this arm (seeds: "
            + outside.map { "\($0.baseline)/\($0.arm.name) \(($0.arm.seeds_with_alpha_outside_unit_interval ?? []).map(String.init).joined(separator: ", "))" }
                .joined(separator: "; ")
            + "): a block entered the mix with a negative weight; α is not clamped (results.json `alpha_outside_unit_interval`)."]
    }

    /// A section per figure, a table per baseline: the figure of each arm after each phase.
    var perPhaseTables: [String] {
        let tables: [(String, (Arm) -> [String])] = [
            ("CNN accuracy, %", { $0.acc_cnn_per_phase.map(Self.percent) }),
            ("NME accuracy, %", { $0.acc_nme_per_phase.map(Self.percent) }),
            ("CNN accuracy on the phase-0 classes, %", { $0.acc_cnn_base_per_phase.map(Self.percent) }),
            ("CNN accuracy on the classes added after phase 0, %", { $0.acc_cnn_later_per_phase.map { $0.map(Self.percent) ?? "–" } }),
            ("wall time, s", { $0.seconds_per_phase.map { String(format: "%.0f", $0) } }),
        ]
        var lines: [String] = []
        for (title, cells) in tables {
            lines += ["", "## Per phase (\(title))", ""]
            for b in baselines {
                guard let classes = b.arms.first?.classes, !classes.isEmpty else { continue }
                lines.append("| \(b.name) | " + classes.map { "\($0) classes" }.joined(separator: " | ") + " |")
                lines.append("|---|" + classes.map { _ in "---|" }.joined())
                for a in b.arms { lines.append("| \(a.name) | " + cells(a).joined(separator: " | ") + " |") }
                lines.append("")
            }
        }
        return lines
    }

    /// α per level at the end of each phase, for the arms that have one.
    var alphaPerPhase: [String] {
        let alphaArms = baselines.flatMap { b in b.arms.filter { $0.alpha_per_phase.contains { !$0.isEmpty } }.map { (b.name, $0) } }
        guard !alphaArms.isEmpty else { return [] }
        var lines = ["## α per level at the end of each phase", ""]
        for (b, a) in alphaArms {
            let text = a.alpha_per_phase.enumerated().filter { !$0.element.isEmpty }
                .map { "phase \($0.offset): " + $0.element.map { String(format: "%.6f", $0) }.joined(separator: ", ") }
            lines.append("- \(b) / \(a.name): " + text.joined(separator: "; "))
        }
        lines.append("")
        return lines
    }

    /// A table per run that has not finished: the figures of its finished phases.
    var unfinishedRunPhases: [String] {
        guard !partial_runs.isEmpty else { return [] }
        var lines = ["## Phases finished by runs that have not finished", "",
                     "Not in the tables above (their summary figures need every phase); % except wall time.", ""]
        for r in partial_runs {
            lines.append("| \(r.baseline) / \(r.arm) / seed \(r.seed) | " + r.classes.map { "\($0) classes" }.joined(separator: " | ") + " |")
            lines.append("|---|" + r.classes.map { _ in "---|" }.joined())
            lines.append("| CNN | " + r.acc_cnn_per_phase.map(Self.percent).joined(separator: " | ") + " |")
            lines.append("| NME | " + r.acc_nme_per_phase.map(Self.percent).joined(separator: " | ") + " |")
            lines.append("| CNN, phase-0 classes | " + r.acc_cnn_base_per_phase.map(Self.percent).joined(separator: " | ") + " |")
            lines.append("| wall time, s | " + r.seconds_per_phase.map { String(format: "%.0f", $0) }.joined(separator: " | ") + " |")
            if r.alpha_per_phase.contains(where: { !$0.isEmpty }) {
                lines.append("| α per level | " + r.alpha_per_phase.map { $0.isEmpty ? "–" : $0.map { String(format: "%.4f", $0) }.joined(separator: ", ") }
                    .joined(separator: " | ") + " |")
            }
            lines.append("")
        }
        return lines
    }

    var failureList: [String] {
        guard !failures.isEmpty else { return [] }
        return ["## Failed or unfinished runs", ""]
            + failures.map { "- \($0.baseline) / \($0.arm) / seed \($0.seed) (\($0.directory)): \($0.reason)" } + [""]
    }
}
