import CILSDK
import Foundation

/// Everything that decides what a run computes, fully resolved (no "auto" left).
/// Written to `config.json`; a run directory holding a different configuration is
/// refused. Settings that do not change results (threads, plugin directories,
/// progress output) are not part of it.
struct RunConfiguration: Codable, Equatable {
    // Data.
    var dataset: String
    var dataDir: String?
    /// synthetic: classes, train and test images per class, generator seed.
    var syntheticClasses: Int?
    var syntheticImagesPerClass: Int
    var syntheticTestImagesPerClass: Int
    var dataSeed: UInt64
    /// Use at most this many training (test) images per class (nil: all). The first
    /// ones in split order, so the choice is deterministic.
    var trainImagesPerClass: Int?
    var testImagesPerClass: Int?

    // Protocol (docs/ALGORITHMS.md §1).
    /// `random_seed`: the class order's NumPy seed (1993).
    var classOrderSeed: Int
    var nbClFg: Int
    var nbCl: Int
    /// Explicit class counts per phase (overrides nb_cl_fg / nb_cl).
    var classesPerPhase: [Int]?
    /// A total (`budgetTotal`) or a number per class (`budgetPerClass`).
    var budget: BudgetKind
    var budgetTotal: Int
    var budgetPerClass: Int

    // Method.
    var baseline: String
    var baselineOptions: [String: String]
    var branchMode: BranchMode
    var branch1: String
    var branch2: String
    var branch1Options: [String: String]
    var branch2Options: [String: String]
    /// `--backbone`, else the baseline's `TrainingPolicy.preferredBackbone`, else
    /// resnet32 (resnet18 on image folders).
    var backbone: BackboneKind
    /// The baseline's own data pipeline (`TrainingPolicy.preprocessing`, e.g. PODNet's
    /// `podnet-cifar`), or nil for the dataset's (the MANets code's: `cifar` on
    /// CIFAR-100 and the synthetic data, `imagenet` on image folders). Absent from the
    /// config.json of baselines that declare none.
    var preprocessing: Preprocessing?

    // Optimisation (docs/ALGORITHMS.md §1.7).
    var mode: FidelityMode
    var epochsFirst: Int
    var epochs: Int
    var batchSize: Int
    var testBatchSize: Int
    var evalBatchSize: Int
    var baseLR1: Float
    var baseLR2: Float
    var weightDecay: Float
    var momentum: Float
    var lrFactor: Float
    /// The network's LR schedule.
    var schedule: ScheduleKind
    /// The MultiStep milestones of a phase of E epochs, as fractions f: epoch ⌊f·E⌋,
    /// for the network's schedule when it is MultiStep and always for α's: [0.5, 0.75]
    /// on CIFAR-style data, [0.333, 0.667] in the paper preset on image folders (as the
    /// original). nil (configurations written before the field existed): [0.5, 0.75].
    var milestoneFractions: [Double]?
    var fusionLR: Float
    var alphaGradient: AlphaGradientPolicy
    /// Seed of every random choice of training (shuffling, augmentation, balanced set).
    var trainSeed: UInt64
    /// The preset the defaults came from.
    var preset: Preset
    /// When the LR schedulers (network and α) step: in `faithful` mode the baseline's
    /// original trainer's way (`TrainingPolicy.originalStepping`: `faithful`, the
    /// MANets trainers' step at the start of each epoch, so epoch e uses the value for
    /// e + 1; `lagging`, PODNet's `step(epoch)` at the end, so epoch e uses the value
    /// for e − 1), in `corrected` mode `corrected`. The quick preset always uses
    /// `corrected`: with a handful of epochs the MANets shift would decay (MultiStep)
    /// or zero (cosine) the learning rate from the first epoch.
    var stepping: SchedulerStepping
    /// A C loss-term plugin added to the baseline's loss, and its weight (nil: none).
    var lossTerm: String?
    var lossTermWeight: Float
    /// A PyTorch state dict phase 0 starts from (`--init-from`) or is replaced by
    /// (`--phase0-from FILE`); nil: phase 0 starts from a fresh initialisation.
    var phaseZeroWeights: PhaseZeroWeights?

    /// Whether `other` trains the same phase 0 (so its phase-0 model can be reused):
    /// every setting phase 0 reads is equal, and the baselines are the same with the
    /// same options or declare the same phase-0 recipe (`PhaseZeroRecipe`).
    func sharesPhaseZero(with other: RunConfiguration, catalog: PluginCatalog) -> Bool {
        var a = self, b = other
        if PhaseZeroRecipe.key(of: a, catalog: catalog) == PhaseZeroRecipe.key(of: b, catalog: catalog) {
            a.baseline = ""; b.baseline = ""; a.baselineOptions = [:]; b.baselineOptions = [:]
        }
        a.branchMode = .single; b.branchMode = .single
        a.branch1 = ""; b.branch1 = ""; a.branch2 = ""; b.branch2 = ""
        a.branch1Options = [:]; b.branch1Options = [:]; a.branch2Options = [:]; b.branch2Options = [:]
        a.fusionLR = 0; b.fusionLR = 0
        a.alphaGradient = .zeroPerStep; b.alphaGradient = .zeroPerStep
        a.epochs = 0; b.epochs = 0
        a.baseLR2 = 0; b.baseLR2 = 0
        return a == b
    }

    /// The MultiStep milestones of a phase of `epochs` epochs.
    func milestones(epochs: Int) -> [Int] {
        (milestoneFractions ?? Preset.cifarMilestones).map { Int($0 * Double(epochs)) }
    }

    /// The settings a baseline's `TrainingPolicy` resolves when no flag sets them.
    static let policyResolvedKeys = ["backbone", "preprocessing", "stepping"]

    /// The sentence a refusal adds when `differences` name settings the baseline's
    /// training policy resolves: a directory made before the baseline declared them
    /// (podnet before SDK 0.4.0: resnet32, the MANets pipeline and stepping) cannot be
    /// resumed by flags alone.
    static func policyNote(_ differences: [String], baseline: String) -> String {
        let keys = policyResolvedKeys.filter { key in differences.contains { $0.hasPrefix(key + ":") } }
        guard !keys.isEmpty else { return "" }
        return ". \(keys.joined(separator: ", ")) now follow\(keys.count == 1 ? "s" : "") baseline '\(baseline)''s training policy "
            + "(--backbone still chooses the network; preprocessing and stepping follow the baseline and --mode); "
            + "a directory made by a cil whose '\(baseline)' did not declare them cannot be resumed: start the run in another --out"
    }

    /// Lines naming each setting that differs from `other`, for the refusal message.
    func differences(from other: RunConfiguration) -> [String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let a = try? JSONSerialization.jsonObject(with: encoder.encode(self)) as? [String: Any],
              let b = try? JSONSerialization.jsonObject(with: encoder.encode(other)) as? [String: Any] else { return [] }
        return Set(a.keys).union(b.keys).sorted().compactMap { key in
            let x = a[key].map { "\($0)" } ?? "-", y = b[key].map { "\($0)" } ?? "-"
            return x == y ? nil : "\(key): \(y) in the directory, \(x) now"
        }
    }
}
