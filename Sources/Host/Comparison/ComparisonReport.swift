import CILSDK
import Foundation

/// One finished (or failed) run of a comparison.
struct ComparisonRun: Codable {
    var baseline: String
    var arm: String
    var seed: Int
    var directory: String
    /// nil while not finished; set from results.json.
    var results: RunResults?
    /// Why the run failed, if it did.
    var failure: String?
}

/// Mean and (sample) standard deviation over seeds.
struct Statistic: Codable, Equatable {
    var mean: Double
    var std: Double
    var n: Int

    init(_ values: [Double]) {
        n = values.count
        mean = values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
        let m = mean
        std = values.count > 1 ? (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(values.count - 1)).squareRoot() : 0
    }
}

/// The tables and plot of a comparison, computed from its runs.
struct ComparisonReport: Codable {
    struct Arm: Codable {
        var name: String
        var seeds: [Int]
        var avg_inc_acc_cnn: Statistic
        var avg_inc_acc_nme: Statistic
        var last_acc_cnn: Statistic
        var last_acc_nme: Statistic
        var forgetting_cnn: Statistic
        /// Classes seen after each phase, and the mean accuracies over seeds.
        var classes: [Int]
        var acc_cnn_per_phase: [Double]
        var acc_nme_per_phase: [Double]
        /// Sample standard deviation over seeds of the CNN accuracy after each phase
        /// (0 with one seed; absent from reports of older cil versions).
        var acc_cnn_std_per_phase: [Double]?
        /// CNN accuracy on the phase-0 (base) classes, and on the classes added after
        /// phase 0 (derived from the two, each seen class having equally many test
        /// images; nil in phase 0), after each phase.
        var acc_cnn_base_per_phase: [Double]
        var acc_cnn_later_per_phase: [Double?]
        /// Wall seconds of each phase (training, exemplars, evaluation), mean over seeds.
        var seconds_per_phase: [Double]
        /// Mean α per level after each phase (dual arms).
        var alpha_per_phase: [[Double]]
        /// Seeds whose run had a level's α leave [0, 1] at some epoch.
        var seeds_with_alpha_outside_unit_interval: [Int]?
        /// This arm minus the reference arm (the first), on the means.
        var delta_avg_inc_acc_cnn: Double?
        var delta_avg_inc_acc_nme: Double?
        var delta_last_acc_cnn: Double?
        var delta_forgetting_cnn: Double?
        /// This arm minus the reference arm seed by seed, with 95% intervals and
        /// verdicts (nil for the reference arm, or when no seed finished in both).
        var paired: Paired?
    }

    /// Paired differences over the seeds both arms finished (`PairedDifference`).
    struct Paired: Codable {
        var seeds: [Int]
        var avg_inc_acc_cnn: PairedDifference
        var avg_inc_acc_nme: PairedDifference
        var last_acc_cnn: PairedDifference
        var last_acc_nme: PairedDifference
        var forgetting_cnn: PairedDifference
        /// After each phase both arms finished in every paired seed.
        var acc_cnn_per_phase: [PairedDifference]
        var acc_nme_per_phase: [PairedDifference]

        /// nil when no seed has a finished run in both arms.
        init?(arm: [ComparisonRun], reference: [ComparisonRun]) {
            let pairs: [(seed: Int, arm: RunResults, reference: RunResults)] = arm.compactMap { run in
                guard let mine = run.results,
                      let theirs = reference.first(where: { $0.seed == run.seed })?.results else { return nil }
                return (run.seed, mine, theirs)
            }.sorted { $0.seed < $1.seed }
            guard !pairs.isEmpty else { return nil }
            func paired(higherIsBetter: Bool = true, _ figure: (RunResults) -> Double) -> PairedDifference {
                PairedDifference(differences: pairs.map { figure($0.arm) - figure($0.reference) }, higherIsBetter: higherIsBetter)
            }
            seeds = pairs.map(\.seed)
            avg_inc_acc_cnn = paired(\.avg_inc_acc_cnn)
            avg_inc_acc_nme = paired(\.avg_inc_acc_nme)
            last_acc_cnn = paired { $0.phases.last?.acc_cnn ?? .nan }
            last_acc_nme = paired { $0.phases.last?.acc_nme ?? .nan }
            forgetting_cnn = paired(higherIsBetter: false, \.forgetting_cnn)
            let phases = pairs.map { min($0.arm.phases.count, $0.reference.phases.count) }.min() ?? 0
            acc_cnn_per_phase = (0..<phases).map { p in paired { $0.phases[p].acc_cnn } }
            acc_nme_per_phase = (0..<phases).map { p in paired { $0.phases[p].acc_nme } }
        }
    }

    struct Baseline: Codable {
        var name: String
        var reference_arm: String
        var arms: [Arm]
    }

    struct Failure: Codable {
        var baseline: String
        var arm: String
        var seed: Int
        var directory: String
        var reason: String
    }

    /// The finished phases of a run that has not finished (running, stopped or
    /// failed): no summary figures, which need every phase, but each finished phase's.
    struct PartialRun: Codable {
        var baseline: String
        var arm: String
        var seed: Int
        var classes: [Int]
        var acc_cnn_per_phase: [Double]
        var acc_nme_per_phase: [Double]
        var acc_cnn_base_per_phase: [Double]
        var seconds_per_phase: [Double]
        var alpha_per_phase: [[Double]]
    }

    var baselines: [Baseline]
    var failures: [Failure]
    var partial_runs: [PartialRun]
    var mode: String?
    var protocol_summary: String?

    init(runs: [ComparisonRun], armOrder: [String]) {
        var baselines: [Baseline] = []
        for name in runs.map(\.baseline).uniqued() {
            let mine = runs.filter { $0.baseline == name && $0.results?.complete == true }
            let armNames = armOrder.filter { a in mine.contains { $0.arm == a } }
                + mine.map(\.arm).uniqued().filter { !armOrder.contains($0) }
            var arms: [Arm] = []
            for armName in armNames {
                let rs = mine.filter { $0.arm == armName }.compactMap(\.results)
                let phases = rs.map(\.phases)
                let count = phases.map(\.count).min() ?? 0
                func perPhase(_ key: KeyPath<PhaseResult, Double>) -> [Double] {
                    (0..<count).map { p in phases.map { $0[p][keyPath: key] }.reduce(0, +) / Double(phases.count) }
                }
                let alphaPerPhase: [[Double]] = (0..<count).map { p in
                    let sets = phases.map { $0[p].alpha }.filter { !$0.isEmpty }
                    guard let first = sets.first else { return [] }
                    return first.indices.map { k in sets.map { Double($0[k]) }.reduce(0, +) / Double(sets.count) }
                }
                arms.append(Arm(
                    name: armName, seeds: mine.filter { $0.arm == armName }.map(\.seed),
                    avg_inc_acc_cnn: Statistic(rs.map(\.avg_inc_acc_cnn)), avg_inc_acc_nme: Statistic(rs.map(\.avg_inc_acc_nme)),
                    last_acc_cnn: Statistic(rs.compactMap { $0.phases.last?.acc_cnn }),
                    last_acc_nme: Statistic(rs.compactMap { $0.phases.last?.acc_nme }),
                    forgetting_cnn: Statistic(rs.map(\.forgetting_cnn)),
                    classes: phases.first.map { Array($0.prefix(count).map(\.classes_seen)) } ?? [],
                    acc_cnn_per_phase: perPhase(\.acc_cnn), acc_nme_per_phase: perPhase(\.acc_nme),
                    acc_cnn_std_per_phase: (0..<count).map { p in Statistic(phases.map { $0[p].acc_cnn }).std },
                    acc_cnn_base_per_phase: perPhase(\.acc_cnn_base),
                    acc_cnn_later_per_phase: (0..<count).map { p in
                        let later = phases.compactMap { runPhases -> Double? in
                            let r = runPhases[p], base = runPhases[0].classes_seen
                            guard r.classes_seen > base else { return nil }
                            return (r.acc_cnn * Double(r.classes_seen) - r.acc_cnn_base * Double(base)) / Double(r.classes_seen - base)
                        }
                        return later.isEmpty ? nil : later.reduce(0, +) / Double(later.count)
                    },
                    seconds_per_phase: perPhase(\.seconds),
                    alpha_per_phase: alphaPerPhase,
                    seeds_with_alpha_outside_unit_interval: mine.filter {
                        $0.arm == armName && !(($0.results.map { AlphaExcursion.all(in: $0.phases) }) ?? []).isEmpty
                    }.map(\.seed)))
            }
            if let reference = arms.first {
                let runsOf = { (arm: String) in mine.filter { $0.arm == arm } }
                for i in arms.indices.dropFirst() {
                    arms[i].paired = Paired(arm: runsOf(arms[i].name), reference: runsOf(reference.name))
                    arms[i].delta_avg_inc_acc_cnn = arms[i].avg_inc_acc_cnn.mean - reference.avg_inc_acc_cnn.mean
                    arms[i].delta_avg_inc_acc_nme = arms[i].avg_inc_acc_nme.mean - reference.avg_inc_acc_nme.mean
                    arms[i].delta_last_acc_cnn = arms[i].last_acc_cnn.mean - reference.last_acc_cnn.mean
                    arms[i].delta_forgetting_cnn = arms[i].forgetting_cnn.mean - reference.forgetting_cnn.mean
                }
            }
            baselines.append(Baseline(name: name, reference_arm: arms.first?.name ?? "", arms: arms))
        }
        self.baselines = baselines
        failures = runs.filter { $0.results?.complete != true }.map {
            Failure(baseline: $0.baseline, arm: $0.arm, seed: $0.seed, directory: $0.directory,
                    reason: $0.failure ?? "did not finish")
        }
        partial_runs = runs.compactMap { run in
            guard let r = run.results, r.complete != true, !r.phases.isEmpty else { return nil }
            return PartialRun(baseline: run.baseline, arm: run.arm, seed: run.seed, classes: r.phases.map(\.classes_seen),
                              acc_cnn_per_phase: r.phases.map(\.acc_cnn), acc_nme_per_phase: r.phases.map(\.acc_nme),
                              acc_cnn_base_per_phase: r.phases.map(\.acc_cnn_base), seconds_per_phase: r.phases.map(\.seconds),
                              alpha_per_phase: r.phases.map { $0.alpha.map(Double.init) })
        }
        let config = runs.compactMap(\.results).first?.config
        mode = config?.mode.rawValue
        protocol_summary = config.map { c in
            let phases = c.classesPerPhase.map { $0.map(String.init).joined(separator: "+") } ?? "\(c.nbClFg)+\(c.nbCl)×N"
            let configs = runs.compactMap(\.results?.config)
            let orders = Set(configs.map(\.classOrderSeed)), trainings = Set(configs.map(\.trainSeed))
            let seeding = orders.count == 1 && trainings.count > 1
                ? "class order of seed \(c.classOrderSeed) for every run, training seed varied"
                : "class order and training seed per run"
            return "\(c.dataset), classes \(phases), \(seeding), \(c.budget.rawValue) budget, \(c.epochsFirst)/\(c.epochs) epochs, preset \(c.preset.rawValue), \(c.mode.rawValue) mode"
        }
    }

    // MARK: - Rendering

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
        lines += ["Accuracies in %, mean ± standard deviation over seeds; Δ = arm minus the first arm of its baseline.",
                  "Average incremental accuracy includes phase 0; forgetting = base-class CNN accuracy after phase 0 minus at the end.", "",
                  "| baseline | arm | seeds | avg inc CNN | Δ | avg inc NME | Δ | last CNN | Δ | last NME | forgetting CNN | Δ |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for b in baselines {
            for a in b.arms {
                let marked = a.name + ((a.seeds_with_alpha_outside_unit_interval ?? []).isEmpty ? "" : " †")
                lines.append("| \(b.name) | \(marked) | \(a.seeds.count) | \(Self.percent(a.avg_inc_acc_cnn)) | \(Self.delta(a.delta_avg_inc_acc_cnn)) | \(Self.percent(a.avg_inc_acc_nme)) | \(Self.delta(a.delta_avg_inc_acc_nme)) | \(Self.percent(a.last_acc_cnn)) | \(Self.delta(a.delta_last_acc_cnn)) | \(Self.percent(a.last_acc_nme)) | \(Self.percent(a.forgetting_cnn)) | \(Self.delta(a.delta_forgetting_cnn)) |")
            }
        }
        let pairedArms = baselines.flatMap { b in b.arms.compactMap { a in a.paired.map { (b.name, a.name, $0) } } }
        if !pairedArms.isEmpty {
            lines += ["", "## Paired differences (arm − reference arm, same seed)", "",
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
        }
        let outside = baselines.flatMap { b in
            b.arms.filter { !($0.seeds_with_alpha_outside_unit_interval ?? []).isEmpty }.map { (baseline: b.name, arm: $0) }
        }
        if !outside.isEmpty {
            lines += ["", "† α left [0, 1] at some level in a run of this arm (seeds: "
                + outside.map { "\($0.baseline)/\($0.arm.name) \(($0.arm.seeds_with_alpha_outside_unit_interval ?? []).map(String.init).joined(separator: ", "))" }
                    .joined(separator: "; ")
                + "): a block entered the mix with a negative weight; α is not clamped (results.json `alpha_outside_unit_interval`)."]
        }
        let perPhaseTables: [(String, (Arm) -> [String])] = [
            ("CNN accuracy, %", { $0.acc_cnn_per_phase.map(Self.percent) }),
            ("NME accuracy, %", { $0.acc_nme_per_phase.map(Self.percent) }),
            ("CNN accuracy on the phase-0 classes, %", { $0.acc_cnn_base_per_phase.map(Self.percent) }),
            ("CNN accuracy on the classes added after phase 0, %", { $0.acc_cnn_later_per_phase.map { $0.map(Self.percent) ?? "–" } }),
            ("wall time, s", { $0.seconds_per_phase.map { String(format: "%.0f", $0) } }),
        ]
        for (title, cells) in perPhaseTables {
            lines += ["", "## Per phase (\(title))", ""]
            for b in baselines {
                guard let classes = b.arms.first?.classes, !classes.isEmpty else { continue }
                lines.append("| \(b.name) | " + classes.map { "\($0) classes" }.joined(separator: " | ") + " |")
                lines.append("|---|" + classes.map { _ in "---|" }.joined())
                for a in b.arms { lines.append("| \(a.name) | " + cells(a).joined(separator: " | ") + " |") }
                lines.append("")
            }
        }
        let alphaArms = baselines.flatMap { b in b.arms.filter { $0.alpha_per_phase.contains { !$0.isEmpty } }.map { (b.name, $0) } }
        if !alphaArms.isEmpty {
            lines += ["## α per level at the end of each phase", ""]
            for (b, a) in alphaArms {
                let text = a.alpha_per_phase.enumerated().filter { !$0.element.isEmpty }
                    .map { "phase \($0.offset): " + $0.element.map { String(format: "%.6f", $0) }.joined(separator: ", ") }
                lines.append("- \(b) / \(a.name): " + text.joined(separator: "; "))
            }
            lines.append("")
        }
        if !partial_runs.isEmpty {
            lines += ["## Phases finished by runs that have not finished", "",
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
        }
        if !failures.isEmpty {
            lines += ["## Failed or unfinished runs", ""]
            for f in failures { lines.append("- \(f.baseline) / \(f.arm) / seed \(f.seed) (\(f.directory)): \(f.reason)") }
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }

    var csv: String {
        var lines = ["baseline,arm,seeds,avg_inc_acc_cnn_mean,avg_inc_acc_cnn_std,avg_inc_acc_nme_mean,avg_inc_acc_nme_std,last_acc_cnn_mean,last_acc_nme_mean,forgetting_cnn_mean,delta_avg_inc_acc_cnn,delta_avg_inc_acc_nme,delta_last_acc_cnn,delta_forgetting_cnn,paired_seeds,delta_avg_inc_acc_cnn_ci95_low,delta_avg_inc_acc_cnn_ci95_high,verdict_avg_inc_acc_cnn"]
        func f(_ x: Double?) -> String { x.map { String(format: "%.6f", $0) } ?? "" }
        for b in baselines {
            for a in b.arms {
                lines.append([b.name, a.name, String(a.seeds.count), f(a.avg_inc_acc_cnn.mean), f(a.avg_inc_acc_cnn.std),
                              f(a.avg_inc_acc_nme.mean), f(a.avg_inc_acc_nme.std), f(a.last_acc_cnn.mean), f(a.last_acc_nme.mean),
                              f(a.forgetting_cnn.mean), f(a.delta_avg_inc_acc_cnn), f(a.delta_avg_inc_acc_nme),
                              f(a.delta_last_acc_cnn), f(a.delta_forgetting_cnn),
                              a.paired.map { String($0.seeds.count) } ?? "", f(a.paired?.avg_inc_acc_cnn.low),
                              f(a.paired?.avg_inc_acc_cnn.high), a.paired?.avg_inc_acc_cnn.verdict.rawValue ?? ""]
                    .joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Accuracy (CNN, solid, with a shaded band of ± 1 standard deviation over seeds;
    /// NME, dashed) against the number of classes, one panel per baseline, one colour
    /// per arm. When some arm has paired differences, a second row of panels shows
    /// each arm's paired Δ of CNN accuracy per phase (points) with its 95% interval.
    var svg: String {
        let panelW = 360.0, panelH = 260.0, deltaH = 160.0, margin = 48.0
        // A panel per baseline with at least one finished arm.
        let baselines = self.baselines.filter { !$0.arms.isEmpty }
        let deltaRow = baselines.contains { $0.arms.contains { $0.paired != nil } }
        let width = Double(max(baselines.count, 1)) * (panelW + margin) + margin
        let height = panelH + 2 * margin + 30 + (deltaRow ? deltaH + margin + 20 : 0)
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
        var out = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">",
                   "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>"]
        for (i, b) in baselines.enumerated() {
            let x0 = margin + Double(i) * (panelW + margin), y0 = margin
            let allClasses = b.arms.flatMap(\.classes)
            let minC = Double(allClasses.min() ?? 0), maxC = Double(max(allClasses.max() ?? 1, (allClasses.min() ?? 0) + 1))
            let bands = b.arms.flatMap { a in zip(a.acc_cnn_per_phase, a.acc_cnn_std_per_phase ?? []).flatMap { [$0 - $1, $0 + $1] } }
            let values = b.arms.flatMap { $0.acc_cnn_per_phase + $0.acc_nme_per_phase } + bands
            let lo = max(0, floor(((values.min() ?? 0) * 10) - 0.5) / 10), hi = min(1, ceil(((values.max() ?? 1) * 10) + 0.5) / 10)
            func px(_ c: Int) -> Double { x0 + (Double(c) - minC) / (maxC - minC) * panelW }
            func py(_ a: Double) -> Double { y0 + panelH - (a - lo) / max(hi - lo, 1e-9) * panelH }
            out.append("<text x=\"\(x0 + panelW / 2)\" y=\"\(y0 - 14)\" text-anchor=\"middle\" font-weight=\"bold\">\(b.name)</text>")
            out.append("<rect x=\"\(x0)\" y=\"\(y0)\" width=\"\(panelW)\" height=\"\(panelH)\" fill=\"none\" stroke=\"#444\"/>")
            for k in 0...4 {
                let a = lo + (hi - lo) * Double(k) / 4
                out.append("<line x1=\"\(x0)\" x2=\"\(x0 + panelW)\" y1=\"\(py(a))\" y2=\"\(py(a))\" stroke=\"#ddd\"/>")
                out.append("<text x=\"\(x0 - 6)\" y=\"\(py(a) + 4)\" text-anchor=\"end\">\(Int((100 * a).rounded()))</text>")
            }
            for c in Set(allClasses).sorted() {
                out.append("<text x=\"\(px(c))\" y=\"\(y0 + panelH + 16)\" text-anchor=\"middle\">\(c)</text>")
            }
            out.append("<text x=\"\(x0 + panelW / 2)\" y=\"\(y0 + panelH + 34)\" text-anchor=\"middle\">number of classes</text>")
            out.append("<text x=\"\(x0 - 34)\" y=\"\(y0 + panelH / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 \(x0 - 34) \(y0 + panelH / 2))\">accuracy (%)</text>")
            for (j, a) in b.arms.enumerated() {
                let color = colors[j % colors.count]
                if let std = a.acc_cnn_std_per_phase, std.contains(where: { $0 > 0 }) {
                    let upper = zip(a.classes, zip(a.acc_cnn_per_phase, std)).map { "\(px($0)),\(py($1.0 + $1.1))" }
                    let lower = zip(a.classes, zip(a.acc_cnn_per_phase, std)).reversed().map { "\(px($0)),\(py($1.0 - $1.1))" }
                    out.append("<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(color)\" fill-opacity=\"0.15\" stroke=\"none\"/>")
                }
                for (series, dash) in [(a.acc_cnn_per_phase, ""), (a.acc_nme_per_phase, " stroke-dasharray=\"5,4\"")] {
                    let points = zip(a.classes, series).map { "\(px($0)),\(py($1))" }.joined(separator: " ")
                    out.append("<polyline points=\"\(points)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dash)/>")
                    for (c, v) in zip(a.classes, series) {
                        out.append("<circle cx=\"\(px(c))\" cy=\"\(py(v))\" r=\"2.5\" fill=\"\(color)\"/>")
                    }
                }
                let ly = y0 + 16 + Double(j) * 16
                out.append("<line x1=\"\(x0 + panelW - 120)\" x2=\"\(x0 + panelW - 100)\" y1=\"\(ly - 4)\" y2=\"\(ly - 4)\" stroke=\"\(color)\" stroke-width=\"2\"/>")
                out.append("<text x=\"\(x0 + panelW - 96)\" y=\"\(ly)\">\(a.name)</text>")
            }
            if deltaRow {
                out += Self.deltaPanel(b, x0: x0, y0: y0 + panelH + margin + 30, width: panelW, height: deltaH, colors: colors, px: px)
            }
        }
        let caption = "solid: CNN accuracy (band: ± 1 std over seeds); dashed: NME accuracy"
            + (deltaRow ? "; lower row: paired Δ CNN accuracy vs the first arm, 95% interval" : "")
        out.append("<text x=\"\(margin)\" y=\"\(height - 8)\" fill=\"#555\">\(caption)</text>")
        out.append("</svg>")
        return out.joined(separator: "\n")
    }

    /// The Δ panel of one baseline: each non-reference arm's paired Δ of CNN accuracy
    /// after each phase (points, dot) with its 95% interval (a vertical bar), around a
    /// zero line.
    static func deltaPanel(_ b: Baseline, x0: Double, y0: Double, width: Double, height: Double,
                           colors: [String], px: (Int) -> Double) -> [String] {
        let series = b.arms.enumerated().compactMap { j, a in a.paired.map { (j, a, $0.acc_cnn_per_phase) } }
        let ends = series.flatMap { $0.2.flatMap { [$0.low ?? $0.mean, $0.high ?? $0.mean] } }.filter(\.isFinite)
        let span = max(ends.map(abs).max() ?? 0.01, 0.005) * 1.1
        func py(_ d: Double) -> Double { y0 + height / 2 - d / span * (height / 2) }
        var out = ["<rect x=\"\(x0)\" y=\"\(y0)\" width=\"\(width)\" height=\"\(height)\" fill=\"none\" stroke=\"#444\"/>",
                   "<line x1=\"\(x0)\" x2=\"\(x0 + width)\" y1=\"\(py(0))\" y2=\"\(py(0))\" stroke=\"#888\"/>"]
        for d in [-span / 1.1, span / 1.1] {
            out.append("<text x=\"\(x0 - 6)\" y=\"\(py(d) + 4)\" text-anchor=\"end\">\(delta(d))</text>")
        }
        out.append("<text x=\"\(x0 - 34)\" y=\"\(y0 + height / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 \(x0 - 34) \(y0 + height / 2))\">Δ CNN (points)</text>")
        for (k, (j, a, deltas)) in series.enumerated() {
            let color = colors[j % colors.count], shift = Double(k) * 4
            for (c, d) in zip(a.classes, deltas) where d.mean.isFinite {
                let x = px(c) + shift
                if let low = d.low, let high = d.high {
                    out.append("<line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(py(low))\" y2=\"\(py(high))\" stroke=\"\(color)\" stroke-width=\"2\"/>")
                }
                out.append("<circle cx=\"\(x)\" cy=\"\(py(d.mean))\" r=\"3\" fill=\"\(color)\"/>")
            }
        }
        return out
    }

    var html: String {
        let rows = baselines.flatMap { b in b.arms.map { a in
            "<tr><td>\(b.name)</td><td>\(a.name)</td><td>\(a.seeds.count)</td><td>\(Self.percent(a.avg_inc_acc_cnn))</td><td>\(Self.delta(a.delta_avg_inc_acc_cnn))</td><td>\(Self.percent(a.avg_inc_acc_nme))</td><td>\(Self.delta(a.delta_avg_inc_acc_nme))</td><td>\(Self.percent(a.last_acc_cnn))</td><td>\(Self.percent(a.forgetting_cnn))</td></tr>"
        } }.joined(separator: "\n")
        let failed = failures.map { "<li>\($0.baseline) / \($0.arm) / seed \($0.seed): \($0.reason)</li>" }.joined()
        return """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>cil comparison</title>
        <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,td:nth-child(2){text-align:left}</style>
        </head><body>
        <h1>Comparison</h1>
        <p>\(protocol_summary ?? "")</p>
        <table><tr><th>baseline</th><th>arm</th><th>seeds</th><th>avg inc CNN %</th><th>Δ</th><th>avg inc NME %</th><th>Δ</th><th>last CNN %</th><th>forgetting CNN</th></tr>
        \(rows)
        </table>
        <p><img src="comparison.svg" alt="accuracy against number of classes"></p>
        \(failed.isEmpty ? "" : "<h2>Failed or unfinished runs</h2><ul>\(failed)</ul>")
        <p>Files: <a href="comparison.md">comparison.md</a>, <a href="comparison.csv">comparison.csv</a>, <a href="comparison.json">comparison.json</a>.</p>
        </body></html>
        """
    }

    /// Writes comparison.{md,csv,json,svg} and index.html into `directory`.
    func write(to directory: URL) throws {
        let encoder = JSONEncoder.cil
        // A statistic of no finished seed is NaN, which JSON has no number for.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try writeAtomically(Data(markdown.utf8), to: directory.appendingPathComponent("comparison.md"))
        try writeAtomically(Data(csv.utf8), to: directory.appendingPathComponent("comparison.csv"))
        try writeAtomically(try encoder.encode(self), to: directory.appendingPathComponent("comparison.json"))
        try writeAtomically(Data(svg.utf8), to: directory.appendingPathComponent("comparison.svg"))
        try writeAtomically(Data(html.utf8), to: directory.appendingPathComponent("index.html"))
    }
}

extension Sequence where Element: Hashable {
    /// The elements in first-seen order without repeats.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
