import ArgumentParser
import CILSDK
import Foundation

/// The flags that define an arm: protocol, method, optimisation, fidelity. Every
/// option also has the original code's underscore spelling where one exists.
/// Unset options take the preset's value.
struct ArmOptions: ParsableArguments {
    @Option(help: "Defaults: paper (docs/ALGORITHMS.md §1.7; CIFAR-style data: 160 epochs, lr 0.1 with steps at 80/120, batch 128, fusion lr 1e-5, 2000 exemplars; image folders: resnet18, 90 epochs, lr 0.05 cosine, α steps at 29/60, weight decay 1e-4, balanced batch 50, 20 exemplars per class, --branch-2 fixed, λ_base 10) or quick (a reduced budget, see README).")
    var preset: String = Preset.paper.rawValue

    // Protocol.
    @Option(name: [.customLong("seed"), .customLong("random-seed"), .customLong("random_seed")],
            help: "Class-order seed (NumPy legacy shuffle; 1993 gives docs/ALGORITHMS.md §1.1's order); also seeds training unless --train-seed.")
    var seed: Int = 1993
    @Option(name: [.customLong("train-seed")], help: "Seed of shuffling, augmentation and the balanced set (default: --seed).")
    var trainSeed: UInt64?
    @Option(name: [.customLong("nb-cl-fg"), .customLong("nb_cl_fg")], help: "Classes in phase 0 (default 50, or half the classes).")
    var nbClFg: Int?
    @Option(name: [.customLong("nb-cl"), .customLong("nb_cl")], help: "Classes per later phase (default 10, or a tenth of the classes).")
    var nbCl: Int?
    @Option(name: .customLong("classes-per-phase"), help: "Explicit class counts per phase, comma-separated (overrides --nb-cl-fg/--nb-cl).")
    var classesPerPhase: String?
    @Option(help: "Exemplar budget: fixed (2000 in total, ceil(2000/seen) per class) or dynamic (a number per class).")
    var budget: String?
    @Flag(name: .customLong("dynamic_budget"), help: "The original flag for --budget dynamic.")
    var dynamicBudgetFlag = false
    @Option(name: [.customLong("nb-protos"), .customLong("nb_protos")], help: "Exemplars per class of the dynamic budget; the fixed total is 100 times this (default 20).")
    var nbProtos: Int?
    @Option(name: .customLong("train-images-per-class"), help: "Use only the first N training images of each class (default: all; quick: 50).")
    var trainImagesPerClass: Int?
    @Option(name: .customLong("eval-images-per-class"), help: "Evaluate on the first N test images of each class (default: all).")
    var evalImagesPerClass: Int?

    // Method.
    @Option(help: "Baseline plugin: icarl, lucir, podnet or any loaded one (see `cil plugins`).")
    var baseline: String = DefaultPlugins.baseline
    @Option(name: .customLong("baseline-option"), help: ArgumentHelp("A baseline option NAME=VALUE; repeatable.", valueName: "name=value"))
    var baselineOptions: [String] = []
    @Option(name: [.customLong("branch-mode"), .customLong("branch_mode")], help: "single (plain network) or dual (MANets).")
    var branchMode: String = "dual"
    @Option(name: [.customLong("branch-1"), .customLong("branch_1")], help: "Branch type of the stable block (ss, fixed, free or a plugin).")
    var branch1: String = DefaultPlugins.stableBranch
    @Option(name: [.customLong("branch-2"), .customLong("branch_2")], help: "Branch type of the plastic block (dual mode; default free, or fixed in the paper preset on image folders).")
    var branch2: String?
    @Option(name: .customLong("branch-1-option"), help: ArgumentHelp("An option of branch 1's type, NAME=VALUE; repeatable.", valueName: "name=value"))
    var branch1Options: [String] = []
    @Option(name: .customLong("branch-2-option"), help: ArgumentHelp("An option of branch 2's type, NAME=VALUE; repeatable.", valueName: "name=value"))
    var branch2Options: [String] = []
    @Option(name: .customLong("loss-term"), help: "A C loss-term plugin (see `cil plugins`) added to the baseline's loss.")
    var lossTerm: String?
    @Option(name: .customLong("loss-term-weight"), help: "Weight of --loss-term (default 1).")
    var lossTermWeight: Float = 1
    @Option(help: "resnet32, resnet20, resnet18, resnet34, or rebuffi32 (PODNet's CIFAR ResNet-32: zero-padded shortcuts, no ReLU after additions, a fourth one-block stage; 4 levels). Default: the baseline's published network (podnet: rebuffi32 on CIFAR-style data, resnet18 on image folders), else resnet32 (resnet18 on image folders).")
    var backbone: String?
    @Option(name: .customLong("imgnet_backbone"),
            help: "The original code's ImageNet network (resnet18 or resnet34): the backbone on image folders unless --backbone; ignored on CIFAR-100 and synthetic data, as the original always uses resnet32 on CIFAR-100.")
    var imgnetBackbone: String?

    // Optimisation.
    @Option(help: "faithful (the original code's quirks, docs/ALGORITHMS.md §8, with each baseline's own scheduler stepping: the MANets trainers' at the start of an epoch, PODNet's step(epoch) at the end) or corrected.")
    var mode: String = "faithful"
    @Option(name: [.customLong("epochs-fg"), .customLong("epochs_fg")], help: "Epochs of phase 0 (default: --epochs).")
    var epochsFirst: Int?
    @Option(help: "Epochs of every later phase (and of phase 0 unless --epochs-fg).")
    var epochs: Int?
    @Option(name: [.customLong("batch-size"), .customLong("train_batch_size")], help: "Training batch size.")
    var batchSize: Int?
    @Option(name: [.customLong("test-batch-size"), .customLong("test_batch_size")], help: "Batch size of the balanced set (α steps).")
    var testBatchSize: Int?
    @Option(name: [.customLong("eval-batch-size"), .customLong("eval_batch_size")], help: "Batch size of feature extraction and evaluation.")
    var evalBatchSize: Int?
    @Option(name: [.customLong("lr-fg"), .customLong("base_lr1")], help: "Learning rate of phase 0.")
    var baseLR1: Float?
    @Option(name: [.customLong("lr"), .customLong("base_lr2")], help: "Learning rate of later phases.")
    var baseLR2: Float?
    @Option(name: [.customLong("lr-factor"), .customLong("lr_factor")], help: "MultiStep decay factor.")
    var lrFactor: Float?
    @Option(name: [.customLong("weight-decay"), .customLong("custom_weight_decay")], help: "Weight decay.")
    var weightDecay: Float?
    @Option(name: [.customLong("momentum"), .customLong("custom_momentum")], help: "SGD momentum.")
    var momentum: Float?
    @Option(help: "Network LR schedule: auto (the baseline's published one: MultiStep, or cosine for PODNet and image folders), multistep or cosine.")
    var schedule: String = "auto"
    @Option(name: [.customLong("fusion-lr"), .customLong("fusion_lr")], help: "Learning rate of α (0: α fixed).")
    var fusionLR: Float?
    @Option(name: .customLong("alpha-grad"), help: "α's gradient between α steps: auto (= zero-per-step, the setting behind the published tables), original (what the baseline's trainer in the original code's latest release does: accumulate for lucir), accumulate or zero-per-step. See docs/ALGORITHMS.md §5.4-§5.7.")
    var alphaGrad: String = "auto"

    // The original code's method flags: each sets the option that the baseline maps it
    // to (`Baseline.originalFlags`), and is ignored by a baseline that maps none, as the
    // original code ignores the flags of the methods it does not run.
    @Option(name: .customLong("the_lambda"), help: "The original code's λ_base (lucir: lambda-base).")
    var theLambda: Float?
    @Option(name: .customLong("dist"), help: "The original code's margin (lucir: dist).")
    var dist: Float?
    @Option(name: .customLong("K"), help: "The original code's hard negatives (lucir: K).")
    var hardNegatives: Int?
    @Option(name: .customLong("lw_mr"), help: "The original code's margin-ranking weight (lucir: lw-mr).")
    var lwMR: Float?
    @Option(name: .customLong("icarl_T"), help: "The original code's iCaRL temperature (icarl: T).")
    var icarlT: Float?
    @Option(name: .customLong("icarl_beta"), help: "The original code's iCaRL distillation weight (icarl: beta).")
    var icarlBeta: Float?

    /// The original code's method flags given, by the original's names.
    var originalFlagsGiven: [(flag: String, value: String)] {
        let all: [(String, (any CustomStringConvertible)?)] = [("the_lambda", theLambda), ("dist", dist), ("K", hardNegatives),
                                                                ("lw_mr", lwMR), ("icarl_T", icarlT), ("icarl_beta", icarlBeta)]
        return all.compactMap { flag, value in value.map { (flag, $0.description) } }
    }

    // Accepted and ignored, so that the original README's commands run as they are.
    @Option(name: .customLong("gpu"), help: ArgumentHelp("Ignored (no GPU).", visibility: .hidden))
    var gpu: String?
    @Option(name: .customLong("num_workers"), help: ArgumentHelp("Ignored (decoding uses the engine's threads).", visibility: .hidden))
    var numWorkers: String?
    @Option(name: .customLong("ckpt_label"), help: ArgumentHelp("The label at the end of the run directory's name without --out (default exp01); ignored with --out.", visibility: .hidden))
    var ckptLabel: String?

    /// What the ignored options mean here (`--ckpt_label` names the run directory
    /// unless `--out` is given).
    func ignoredNotes(outGiven: Bool) -> [String] {
        var notes: [String] = []
        if gpu != nil { notes.append("--gpu is ignored: cil runs on the CPU") }
        if numWorkers != nil { notes.append("--num_workers is ignored: decoding uses the engine's threads") }
        if ckptLabel != nil, outGiven { notes.append("--ckpt_label is ignored: results go to --out") }
        return notes
    }

    /// "NAME=VALUE" pairs into a dictionary; errors name the flag.
    static func pairs(_ items: [String], flag: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for item in items {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ValidationError("\(flag) \(item): expected NAME=VALUE")
            }
            out[String(item[..<eq])] = String(item[item.index(after: eq)...])
        }
        return out
    }

    /// The fully resolved configuration: the dataset, the checked flags, the plugins,
    /// then every setting the flags leave open from the preset, the dataset or the baseline.
    func resolve(data given: DatasetOptions, catalog: PluginCatalog, notes: (String) -> Void = { _ in }) throws -> RunConfiguration {
        let data = Self.resolvedDataset(given, notes: notes)
        let imageFolders = data.dataset == "imagefolder"
        let choices = try parseChoices(imageFolders: imageFolders)
        // Plugins must exist before anything runs: list the available ones if not.
        let baselineType = try catalog.baseline(named: baseline)
        _ = try catalog.branchType(named: branch1)
        if choices.branchMode == .dual { _ = try catalog.branchType(named: choices.plasticBranch) }
        if let lossTerm { _ = try catalog.lossTerm(named: lossTerm) }

        var baselineOptions = try Self.pairs(self.baselineOptions, flag: "--baseline-option")
        for (flag, value) in originalFlagsGiven {
            if let option = baselineType.originalFlags[flag] { baselineOptions[option] = value }
        }
        // The preset's method flags, where neither the flag nor the option was given.
        for (flag, value) in choices.defaults.originalFlags {
            if let option = baselineType.originalFlags[flag], baselineOptions[option] == nil { baselineOptions[option] = value }
        }
        let phases = try phaseCounts(dataset: data)
        // Instantiating the baseline checks its options now, and tells its schedule.
        let probe = try baselineType.init(
            options: try PluginOptions(plugin: baseline, specs: baselineType.options, given: baselineOptions),
            setting: RunSetting(dataset: data.dataset, classesPerPhase: [], mode: choices.mode, seed: UInt64(seed)))
        let schedule = choices.schedule
            ?? choices.defaults.schedule ?? probe.trainingPolicy.preferredSchedule ?? (imageFolders ? .cosine : .multistep)
        let alphaPolicy = try alphaGradientPolicy(probe.trainingPolicy)
        let branchOptions = (try Self.pairs(branch1Options, flag: "--branch-1-option"),
                             choices.branchMode == .dual ? try Self.pairs(branch2Options, flag: "--branch-2-option") : [:])
        let policy = probe.trainingPolicy
        let backbone = try resolvedBackbone(imageFolders: imageFolders, dataset: data.dataset, preferred: policy.preferredBackbone,
                                            notes: notes)
        let preprocessing = try resolvedPreprocessing(imageFolders: imageFolders, dataset: data.dataset, preferred: policy.preprocessing)
        let config = configuration(data: data, choices: choices, phases: phases, baselineOptions: baselineOptions,
                                   branchOptions: branchOptions, backbone: backbone, preprocessing: preprocessing,
                                   schedule: schedule, alphaGradient: alphaPolicy, originalStepping: policy.originalStepping)
        try Self.check(config)
        return config
    }

    /// The flags with a few accepted values, parsed; errors name the flag and the values.
    struct Choices {
        var preset: Preset
        var defaults: Preset.Defaults
        var mode: FidelityMode
        var branchMode: BranchMode
        var budget: BudgetKind
        /// nil: auto.
        var schedule: ScheduleKind?
        /// `--branch-2`, or the preset's.
        var plasticBranch: String
    }

    /// The choice flags, checked, with the preset's values for the data kind.
    func parseChoices(imageFolders: Bool) throws -> Choices {
        guard let preset = Preset(rawValue: preset) else {
            throw ValidationError("--preset \(self.preset): expected one of \(Preset.allCases.map(\.rawValue).sorted().joined(separator: ", "))")
        }
        guard (0...Int(UInt32.max)).contains(seed) else {
            throw ValidationError("--seed \(seed): expected 0...\(UInt32.max) (NumPy's seed range)")
        }
        guard let mode = FidelityMode(rawValue: mode) else { throw ValidationError("--mode \(self.mode): expected faithful or corrected") }
        guard let branchMode = BranchMode(rawValue: branchMode) else { throw ValidationError("--branch-mode \(self.branchMode): expected single or dual") }
        let defaults = preset.defaults(imageFolders: imageFolders)
        let budgetName = dynamicBudgetFlag ? BudgetKind.dynamic.rawValue : (budget ?? defaults.budget.rawValue)
        guard let budget = BudgetKind(rawValue: budgetName) else { throw ValidationError("--budget \(budgetName): expected fixed or dynamic") }
        let schedule = ScheduleKind(rawValue: self.schedule)
        guard schedule != nil || self.schedule == "auto" else {
            throw ValidationError("--schedule \(self.schedule): expected auto, multistep or cosine")
        }
        return Choices(preset: preset, defaults: defaults, mode: mode, branchMode: branchMode, budget: budget, schedule: schedule,
                       plasticBranch: branch2 ?? defaults.plasticBranch)
    }

    /// The dataset's name with the original code's names and `auto` resolved.
    static func resolvedDataset(_ given: DatasetOptions, notes: (String) -> Void) -> DatasetOptions {
        var data = given
        if let name = DatasetOptions.originalNames[data.dataset] { data.dataset = name }
        if data.dataset == "auto" {
            let (name, notice) = DatasetAuto.resolve(dataDir: data.dataDir)
            data.dataset = name
            if let notice { notes(notice) }
        }
        return data
    }

    /// Classes of phase 0 and of each later phase (defaults: half and a tenth of the
    /// classes, 50 and 10 for 100 or more), and the explicit counts if given.
    func phaseCounts(dataset data: DatasetOptions) throws -> (nbClFg: Int, nbCl: Int, explicit: [Int]?) {
        let numClasses = data.dataset == "synthetic" ? (data.numClasses ?? 100) : (data.dataset == "cifar100" ? 100 : nil)
        let nbClFg = self.nbClFg ?? numClasses.map { $0 >= 100 ? 50 : max(1, $0 / 2) } ?? 50
        let nbCl = self.nbCl ?? numClasses.map { $0 >= 100 ? 10 : max(1, $0 / 10) } ?? 10
        guard let text = classesPerPhase else { return (nbClFg, nbCl, nil) }
        let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil && $0! > 0 }) else {
            throw ValidationError("--classes-per-phase \(text): expected positive integers separated by commas")
        }
        return (nbClFg, nbCl, parts.map { $0! })
    }

    /// `--alpha-grad`: auto is zero-per-step; original is what the baseline's trainer did.
    func alphaGradientPolicy(_ policy: TrainingPolicy) throws -> AlphaGradientPolicy {
        switch alphaGrad {
        case "auto": return .zeroPerStep
        case "original": return policy.originalAlphaGradient
        default:
            guard let value = AlphaGradientPolicy(rawValue: alphaGrad) else {
                throw ValidationError("--alpha-grad \(alphaGrad): expected auto, original, accumulate or zero-per-step")
            }
            return value
        }
    }

    /// `--backbone`; else on image folders `--imgnet_backbone` (the original reads it on
    /// ImageNet only); else the baseline's preferred network (`preferred`, which must
    /// fit the data); else the dataset's default, ResNet-18 on image folders and
    /// ResNet-32 otherwise.
    func resolvedBackbone(imageFolders: Bool, dataset: String, preferred: BackboneKind? = nil,
                          notes: (String) -> Void) throws -> BackboneKind {
        if let preferred, preferred.isImageNet != imageFolders {
            throw RunError.configuration("baseline '\(baseline)' prefers the backbone \(preferred.rawValue), which does not fit \(dataset) images; choose one with --backbone")
        }
        let fallback = preferred ?? (imageFolders ? .resnet18 : .resnet32)
        if let imgnetBackbone, !imageFolders, backbone == nil {
            notes("--imgnet_backbone \(imgnetBackbone) is ignored on \(dataset): the original code uses it only on ImageNet; the network is \(fallback.rawValue) (--backbone chooses another)")
        }
        let given = backbone.map { ("--backbone", $0) } ?? (imageFolders ? imgnetBackbone.map { ("--imgnet_backbone", $0) } : nil)
        guard let given else { return fallback }
        let (flag, name) = given
        guard let kind = BackboneKind(rawValue: name) else {
            throw RunError.configuration("\(flag) \(name): expected \(BackboneKind.expected)")
        }
        return kind
    }

    /// The baseline's own pipeline (`preferred`), if it declares one; it must be of the
    /// data's family (32×32 images, or natural images on image folders).
    func resolvedPreprocessing(imageFolders: Bool, dataset: String, preferred: Preprocessing?) throws -> Preprocessing? {
        guard let preferred else { return nil }
        guard (preferred.family == .imagenet) == imageFolders else {
            throw RunError.configuration("baseline '\(baseline)' asks for the \(preferred.rawValue) preprocessing, which does not fit \(dataset) images")
        }
        return preferred
    }

    /// The configuration of the parsed flags, unset ones from the preset.
    func configuration(data: DatasetOptions, choices c: Choices, phases: (nbClFg: Int, nbCl: Int, explicit: [Int]?),
                       baselineOptions: [String: String], branchOptions: ([String: String], [String: String]),
                       backbone: BackboneKind, preprocessing: Preprocessing? = nil, schedule: ScheduleKind,
                       alphaGradient: AlphaGradientPolicy, originalStepping: SchedulerStepping = .faithful) -> RunConfiguration {
        let p = c.defaults, dual = c.branchMode == .dual
        let synthetic = data.dataset == "synthetic"
        let nbProtos = self.nbProtos ?? p.nbProtos
        return RunConfiguration(
            dataset: data.dataset, dataDir: data.dataDir, syntheticClasses: synthetic ? (data.numClasses ?? 100) : nil,
            syntheticImagesPerClass: data.imagesPerClass, syntheticTestImagesPerClass: data.testImagesPerClass, dataSeed: data.dataSeed,
            trainImagesPerClass: trainImagesPerClass ?? (synthetic ? nil : p.trainImagesPerClass),
            testImagesPerClass: evalImagesPerClass,
            classOrderSeed: seed, nbClFg: phases.nbClFg, nbCl: phases.nbCl, classesPerPhase: phases.explicit,
            budget: c.budget, budgetTotal: nbProtos * 100, budgetPerClass: nbProtos,
            baseline: baseline, baselineOptions: baselineOptions, branchMode: c.branchMode, branch1: branch1,
            branch2: dual ? c.plasticBranch : "", branch1Options: branchOptions.0, branch2Options: branchOptions.1,
            backbone: backbone, preprocessing: preprocessing,
            mode: c.mode, epochsFirst: epochsFirst ?? (epochs ?? p.epochsFirst), epochs: epochs ?? p.epochs,
            batchSize: batchSize ?? p.batchSize, testBatchSize: testBatchSize ?? p.testBatchSize,
            evalBatchSize: evalBatchSize ?? p.evalBatchSize, baseLR1: baseLR1 ?? p.lr, baseLR2: baseLR2 ?? p.lr,
            weightDecay: weightDecay ?? p.weightDecay, momentum: momentum ?? p.momentum, lrFactor: lrFactor ?? p.lrFactor,
            schedule: schedule, milestoneFractions: p.milestoneFractions,
            fusionLR: dual ? (fusionLR ?? p.fusionLR) : 0, alphaGradient: alphaGradient,
            trainSeed: trainSeed ?? UInt64(seed), preset: c.preset,
            stepping: c.preset == .quick || c.mode == .corrected ? .corrected : originalStepping,
            lossTerm: lossTerm, lossTermWeight: lossTermWeight)
    }

    static func check(_ c: RunConfiguration) throws {
        func need(_ ok: Bool, _ message: String) throws { if !ok { throw ValidationError(message) } }
        try need(c.epochs >= 1 && c.epochsFirst >= 1, "--epochs and --epochs-fg must be at least 1")
        try need(c.batchSize >= 2, "--batch-size must be at least 2 (batch norm needs it), got \(c.batchSize)")
        try need(c.testBatchSize >= 1 && c.evalBatchSize >= 1, "--test-batch-size and --eval-batch-size must be at least 1")
        try need(c.baseLR1 >= 0 && c.baseLR2 >= 0 && c.fusionLR >= 0, "learning rates must not be negative")
        try need(c.weightDecay >= 0 && c.momentum >= 0 && c.momentum < 1, "--weight-decay must be >= 0 and --momentum in [0, 1)")
        try need(c.budgetPerClass >= 1, "--nb-protos must be at least 1")
        try need((c.trainImagesPerClass ?? 1) >= 1 && (c.testImagesPerClass ?? 1) >= 1, "per-class image limits must be at least 1")
    }
}
