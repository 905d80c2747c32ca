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
        /// Each phase's `seconds_breakdown`, part by part the mean over the seeds whose
        /// results.json has one ({} when none has; nil when no phase of any seed has one,
        /// e.g. runs of older cil versions).
        var seconds_breakdown_per_phase: [[String: Double]]?
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
        /// Each finished phase's `seconds_breakdown` ({} for a phase without one; nil
        /// when no phase has one).
        var seconds_breakdown_per_phase: [[String: Double]]?
        var alpha_per_phase: [[Double]]
    }

    var baselines: [Baseline]
    var failures: [Failure]
    var partial_runs: [PartialRun]
    var mode: String?
    var protocol_summary: String?
    /// Every resolved setting per baseline and arm (nil in reports written before).
    var settings: [ArmSettings]?

    init(runs: [ComparisonRun], armOrder: [String]) {
        baselines = runs.map(\.baseline).uniqued().map { Self.baseline($0, runs: runs, armOrder: armOrder) }
        failures = runs.filter { $0.results?.complete != true }.map {
            Failure(baseline: $0.baseline, arm: $0.arm, seed: $0.seed, directory: $0.directory,
                    reason: $0.failure ?? "did not finish")
        }
        partial_runs = runs.compactMap { run in
            guard let r = run.results, r.complete != true, !r.phases.isEmpty else { return nil }
            return PartialRun(baseline: run.baseline, arm: run.arm, seed: run.seed, classes: r.phases.map(\.classes_seen),
                              acc_cnn_per_phase: r.phases.map(\.acc_cnn), acc_nme_per_phase: r.phases.map(\.acc_nme),
                              acc_cnn_base_per_phase: r.phases.map(\.acc_cnn_base), seconds_per_phase: r.phases.map(\.seconds),
                              seconds_breakdown_per_phase: Arm.meanBreakdowns([r.phases], count: r.phases.count),
                              alpha_per_phase: r.phases.map { $0.alpha.map(Double.init) })
        }
        let config = runs.compactMap(\.results).first?.config
        mode = config?.mode.rawValue
        protocol_summary = config.map { Self.protocolSummary($0, configs: runs.compactMap(\.results?.config)) }
        settings = ArmSettings.rows(runs: runs, baselines: baselines)
    }

    /// Baseline `name`'s arms over its finished runs, in `armOrder` (arms it does not
    /// name after them, as first met), each after the first with its Δ to the first.
    static func baseline(_ name: String, runs: [ComparisonRun], armOrder: [String]) -> Baseline {
        let mine = runs.filter { $0.baseline == name && $0.results?.complete == true }
        let armNames = armOrder.filter { a in mine.contains { $0.arm == a } }
            + mine.map(\.arm).uniqued().filter { !armOrder.contains($0) }
        let runsOf = { (arm: String) in mine.filter { $0.arm == arm } }
        var arms = armNames.map { Arm(name: $0, runs: runsOf($0)) }
        if let reference = arms.first {
            for i in arms.indices.dropFirst() {
                arms[i].paired = Paired(arm: runsOf(arms[i].name), reference: runsOf(reference.name))
                arms[i].delta_avg_inc_acc_cnn = arms[i].avg_inc_acc_cnn.mean - reference.avg_inc_acc_cnn.mean
                arms[i].delta_avg_inc_acc_nme = arms[i].avg_inc_acc_nme.mean - reference.avg_inc_acc_nme.mean
                arms[i].delta_last_acc_cnn = arms[i].last_acc_cnn.mean - reference.last_acc_cnn.mean
                arms[i].delta_forgetting_cnn = arms[i].forgetting_cnn.mean - reference.forgetting_cnn.mean
            }
        }
        return Baseline(name: name, reference_arm: arms.first?.name ?? "", arms: arms)
    }

    /// "DATASET, classes 50+10×N, SEEDING, fixed budget, 160/160 epochs, preset paper, faithful mode"
    /// of the first run's configuration `c`; the seeding from every run's.
    static func protocolSummary(_ c: RunConfiguration, configs: [RunConfiguration]) -> String {
        let phases = c.classesPerPhase.map { $0.map(String.init).joined(separator: "+") } ?? "\(c.nbClFg)+\(c.nbCl)×N"
        let orders = Set(configs.map(\.classOrderSeed)), trainings = Set(configs.map(\.trainSeed))
        let seeding = orders.count == 1 && trainings.count > 1
            ? "class order of seed \(c.classOrderSeed) for every run, training seed varied"
            : "class order and training seed per run"
        return "\(c.dataset), classes \(phases), \(seeding), \(c.budget.rawValue) budget, \(c.epochsFirst)/\(c.epochs) epochs, preset \(c.preset.rawValue), \(c.mode.rawValue) mode"
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

extension ComparisonReport.Arm {
    /// Arm `name` over its finished `runs` (one per seed): statistics and means over seeds.
    init(name: String, runs: [ComparisonRun]) {
        let rs = runs.compactMap(\.results)
        let phases = rs.map(\.phases)
        let count = phases.map(\.count).min() ?? 0
        func perPhase(_ key: KeyPath<PhaseResult, Double>) -> [Double] {
            (0..<count).map { p in phases.map { $0[p][keyPath: key] }.reduce(0, +) / Double(phases.count) }
        }
        self.init(
            name: name, seeds: runs.map(\.seed),
            avg_inc_acc_cnn: Statistic(rs.map(\.avg_inc_acc_cnn)), avg_inc_acc_nme: Statistic(rs.map(\.avg_inc_acc_nme)),
            last_acc_cnn: Statistic(rs.compactMap { $0.phases.last?.acc_cnn }),
            last_acc_nme: Statistic(rs.compactMap { $0.phases.last?.acc_nme }),
            forgetting_cnn: Statistic(rs.map(\.forgetting_cnn)),
            classes: phases.first.map { Array($0.prefix(count).map(\.classes_seen)) } ?? [],
            acc_cnn_per_phase: perPhase(\.acc_cnn), acc_nme_per_phase: perPhase(\.acc_nme),
            acc_cnn_std_per_phase: (0..<count).map { p in Statistic(phases.map { $0[p].acc_cnn }).std },
            acc_cnn_base_per_phase: perPhase(\.acc_cnn_base),
            acc_cnn_later_per_phase: (0..<count).map { p in Self.laterClassAccuracy(phases, phase: p) },
            seconds_per_phase: perPhase(\.seconds),
            seconds_breakdown_per_phase: Self.meanBreakdowns(phases, count: count),
            alpha_per_phase: (0..<count).map { p in Self.meanAlpha(phases.map { $0[p].alpha }) },
            seeds_with_alpha_outside_unit_interval: runs.filter {
                !(($0.results.map { AlphaExcursion.all(in: $0.phases) }) ?? []).isEmpty
            }.map(\.seed))
    }

    /// The mean over runs of the CNN accuracy after `phase` on the classes added after
    /// phase 0, derived from the accuracy on all seen classes and on the phase-0 ones
    /// (every seen class having equally many test images); nil in phase 0.
    static func laterClassAccuracy(_ runs: [[PhaseResult]], phase p: Int) -> Double? {
        let later = runs.compactMap { runPhases -> Double? in
            let r = runPhases[p], base = runPhases[0].classes_seen
            guard r.classes_seen > base else { return nil }
            return (r.acc_cnn * Double(r.classes_seen) - r.acc_cnn_base * Double(base)) / Double(r.classes_seen - base)
        }
        return later.isEmpty ? nil : later.reduce(0, +) / Double(later.count)
    }

    /// The first `count` phases' `seconds_breakdown`, part by part the mean over the
    /// runs that have one for the phase ({} when none has); nil when no run has any.
    static func meanBreakdowns(_ runs: [[PhaseResult]], count: Int) -> [[String: Double]]? {
        let perPhase = (0..<count).map { p -> [String: Double] in
            let breakdowns = runs.compactMap { $0[p].seconds_breakdown }
            var mean: [String: Double] = [:]
            for b in breakdowns { for (part, s) in b { mean[part, default: 0] += s / Double(breakdowns.count) } }
            return mean
        }
        return perPhase.contains { !$0.isEmpty } ? perPhase : nil
    }

    /// The mean per level of the runs' α that are not empty (single-branch runs have none).
    static func meanAlpha(_ alphas: [[Float]]) -> [Double] {
        let sets = alphas.filter { !$0.isEmpty }
        guard let first = sets.first else { return [] }
        return first.indices.map { k in sets.map { Double($0[k]) }.reduce(0, +) / Double(sets.count) }
    }
}

extension Sequence where Element: Hashable {
    /// The elements in first-seen order without repeats.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
