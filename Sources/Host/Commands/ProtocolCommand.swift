import ArgumentParser
import CILSDK
import Foundation

/// `cil protocol`: the resolved class-incremental protocol: the class order, the
/// classes of every phase and the exemplars kept per class after each phase
/// (docs/ALGORITHMS.md §1.1-§1.4). The original code's flag spellings (`--nb_cl_fg`,
/// `--nb_cl`, `--random_seed`, `--nb_protos`, `--dynamic_budget`) are accepted too.
struct ProtocolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "protocol",
        abstract: "Print the class order, the classes of each phase and the exemplars per class of each phase."
    )

    @OptionGroup var data: DatasetOptions

    @Option(name: [.customLong("seed"), .customLong("random_seed"), .customLong("random-seed")],
            help: "Class-order seed: the order is NumPy's legacy np.random.seed(seed); np.random.shuffle(arange(n)) (0...4294967295).")
    var seed: Int = 1993

    @Option(name: [.customLong("nb-cl-fg"), .customLong("nb_cl_fg")], help: "Classes in phase 0 (nb_cl_fg).")
    var nbClFg: Int = 50

    @Option(name: [.customLong("nb-cl"), .customLong("nb_cl")], help: "Classes per later phase (nb_cl).")
    var nbCl: Int = 10

    @Option(name: .customLong("classes-per-phase"),
            help: "Explicit class counts per phase, comma-separated (e.g. 40,20,20,20); replaces --nb-cl-fg / --nb-cl.")
    var classesPerPhase: String?

    @Option(help: "Exemplar budget: fixed (2000 in total, ceil(2000 / seen classes) per class; the original's default) or dynamic (20 per class).")
    var budget: String = "fixed"

    @Flag(name: .customLong("dynamic_budget"), help: "The original code's flag: same as --budget dynamic.")
    var dynamicBudget = false

    @Option(name: [.customLong("nb-protos"), .customLong("nb_protos")],
            help: "Exemplars per class of the budget (nb_protos): the fixed total is nb_protos x 100, the dynamic count nb_protos.")
    var nbProtos: Int = 20

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard BudgetKind(rawValue: budget) != nil else {
            throw ValidationError("--budget \(budget): expected fixed or dynamic")
        }
        guard nbProtos >= 1 else { throw ValidationError("--nb-protos must be at least 1, got \(nbProtos)") }
    }

    /// Classes of the dataset, without reading images where the count is known.
    func numClasses() throws -> Int {
        switch data.dataset {
        case "cifar100": return CIFAR100.numClasses
        case "synthetic": return data.numClasses ?? 100
        default:
            if data.dataDir == nil, ProcessInfo.processInfo.environment[DataLocation.environmentVariable] == nil, let n = data.numClasses { return n }
            let root = try DataLocation.resolve(data.dataDir, dataset: "imagefolder")
            return try ImageFolder.scan((root as NSString).appendingPathComponent("train"), what: "image-folder training split").classNames.count
        }
    }

    func resolve() throws -> IncrementalProtocol {
        let n = try numClasses()
        let order = try ClassOrder.seeded(seed, count: n)
        let plan: PhasePlan
        if let text = classesPerPhase {
            let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            var counts: [Int] = []
            for p in parts {
                guard let v = Int(p) else {
                    throw ValidationError("--classes-per-phase \(text): '\(p)' is not a whole number (expected e.g. 50,10,10)")
                }
                counts.append(v)
            }
            plan = try PhasePlan(numClasses: n, classesPerPhase: counts)
        } else {
            plan = try PhasePlan.incremental(numClasses: n, nbClFg: nbClFg, nbCl: nbCl)
        }
        let kind: BudgetKind = dynamicBudget ? .dynamic : BudgetKind(rawValue: budget)!
        let mode: ExemplarBudget = kind == .dynamic ? .dynamic(perClass: nbProtos) : .fixed(total: nbProtos * 100)
        return try IncrementalProtocol(order: order, plan: plan, budget: mode)
    }

    func run() throws {
        let p = try resolve()
        let perClass = p.exemplarsPerClass
        let phases: [[String: Any]] = (0 ..< p.plan.phaseCount).map { i in
            let c = p.plan.counts(phase: i)
            return ["phase": i, "classes": p.classes(phase: i), "mapped_labels": [c.old, c.seen],
                    "old": c.old, "new": c.new, "seen": c.seen,
                    "exemplars_per_class": perClass[i], "exemplars_total": perClass[i] * c.seen]
        }
        var budgetObject: [String: Any] = ["mode": p.budget.name]
        switch p.budget {
        case let .fixed(total): budgetObject["total"] = total
        case let .dynamic(n): budgetObject["per_class"] = n
        }
        if json {
            var object: [String: Any] = [
                "dataset": data.dataset, "num_classes": p.order.count, "seed": seed,
                "class_order": p.order.classes,
                "class_order_source": seed == 1993 && p.order.count == 100 ? "docs/ALGORITHMS.md §1.1 (hard-coded, equals NumPy's)" : "NumPy legacy shuffle (MT19937)",
                "classes_per_phase": p.plan.classesPerPhase,
                "phases": phases, "budget": budgetObject, "exemplars_per_class": perClass,
                "incremental_phases": p.plan.incrementalPhases,
            ]
            if let fg = p.plan.nbClFg, let cl = p.plan.nbCl { object["nb_cl_fg"] = fg; object["nb_cl"] = cl }
            let out = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: out, as: UTF8.self))
            return
        }
        print("dataset \(data.dataset), \(p.order.count) classes, seed \(seed), \(p.plan.incrementalPhases) incremental phases, budget \(p.budget.name) (\(budgetObject["total"].map { "\($0) in total" } ?? "\(nbProtos) per class"))")
        print("class order: \(p.order.classes.map(String.init).joined(separator: " "))")
        for i in 0 ..< p.plan.phaseCount {
            let c = p.plan.counts(phase: i)
            print("phase \(i): labels \(c.old)..<\(c.seen), \(perClass[i]) exemplars per class (\(perClass[i] * c.seen) total); classes \(p.classes(phase: i).map(String.init).joined(separator: " "))")
        }
    }
}
