import Foundation

/// The resolved settings of every arm, as its runs' config.json records them (one row
/// per baseline and arm; seeds change only the seeds): the report header's statement
/// of every value a run used.
struct ArmSettings: Codable, Equatable {
    var baseline: String
    var arm: String
    var backbone: String
    /// "single free" or "dual ss + fixed".
    var branches: String
    /// Epochs of phase 0 / of every later phase.
    var epochs: String
    /// Learning rate of phase 0 / of later phases, and the network schedule.
    var learning_rate: String
    var schedule: String
    /// The MultiStep milestones of a later phase, in epochs (the network's when it is
    /// MultiStep, and α's).
    var milestones: [Int]
    var weight_decay: Float
    var momentum: Float
    /// Training / balanced-set / evaluation batch.
    var batches: String
    /// α's learning rate (0: α not learned) and gradient policy.
    var fusion_lr: Float
    var alpha_gradient: String
    /// "fixed 2000 in total" or "dynamic 20 per class".
    var budget: String
    var stepping: String
    /// The baseline's options as given by the flags and the preset ("" if none).
    var baseline_options: String

    init(baseline: String, arm: String, config c: RunConfiguration) {
        self.baseline = baseline
        self.arm = arm
        backbone = c.backbone.rawValue
        branches = c.branchMode == .single ? "single \(c.branch1)" : "dual \(c.branch1) + \(c.branch2)"
        epochs = "\(c.epochsFirst) / \(c.epochs)"
        learning_rate = "\(c.baseLR1) / \(c.baseLR2)"
        schedule = c.schedule.rawValue
        milestones = c.milestones(epochs: c.epochs)
        weight_decay = c.weightDecay
        momentum = c.momentum
        batches = "\(c.batchSize) / \(c.testBatchSize) / \(c.evalBatchSize)"
        fusion_lr = c.fusionLR
        alpha_gradient = c.alphaGradient.rawValue
        budget = c.budget == .fixed ? "fixed \(c.budgetTotal) in total" : "dynamic \(c.budgetPerClass) per class"
        stepping = c.stepping.rawValue
        baseline_options = c.baselineOptions.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
    }

    /// One row per baseline and arm, in report order, from the first run of each that
    /// has a configuration.
    static func rows(runs: [ComparisonRun], baselines: [ComparisonReport.Baseline]) -> [ArmSettings] {
        baselines.flatMap { b in
            b.arms.compactMap { a in
                runs.first { $0.baseline == b.name && $0.arm == a.name && $0.results != nil }
                    .map { ArmSettings(baseline: b.name, arm: a.name, config: $0.results!.config) }
            }
        }
    }

    static let header = ["baseline", "arm", "backbone", "branches", "epochs", "lr", "schedule", "milestones",
                         "weight decay", "momentum", "batch / balanced / eval", "fusion lr", "α gradient", "budget",
                         "stepping", "baseline options"]

    /// The cells of `header`, in its order.
    var cells: [String] {
        [baseline, arm, backbone, branches, epochs, learning_rate, schedule, milestones.map(String.init).joined(separator: ", "),
         "\(weight_decay)", "\(momentum)", batches, "\(fusion_lr)", alpha_gradient, budget, stepping, baseline_options]
    }
}

extension ComparisonReport {
    /// comparison.md's settings section: every resolved value per baseline and arm.
    var settingsTable: [String] {
        guard let settings, !settings.isEmpty else { return [] }
        return ["## Settings", "",
                "As each arm's config.json records them (epochs and lr: phase 0 / later phases; milestones: "
                    + "of a later phase, in epochs).", "",
                "| " + ArmSettings.header.joined(separator: " | ") + " |",
                "|" + String(repeating: "---|", count: ArmSettings.header.count)]
            + settings.map { "| " + $0.cells.joined(separator: " | ") + " |" } + [""]
    }

    /// index.html's settings table.
    var settingsHTML: String {
        guard let settings, !settings.isEmpty else { return "" }
        let head = ArmSettings.header.map { "<th>\($0)</th>" }.joined()
        let rows = settings.map { "<tr>" + $0.cells.map { "<td>\($0)</td>" }.joined() + "</tr>" }.joined(separator: "\n")
        return "<h2>Settings</h2>\n<table><tr>\(head)</tr>\n\(rows)\n</table>"
    }
}
