import CILSDK

/// `--preset`: the values of the options a command line leaves unset.
enum Preset: String, Codable, CaseIterable {
    /// The settings behind the published tables (docs/ALGORITHMS.md §1.7). On CIFAR-style
    /// data: 160 epochs, lr 0.1 with steps at 80/120 (α's too), batch 128, balanced batch
    /// 100, fusion lr 1e-5, 2000 exemplars. On image folders, the ImageNet-Subset
    /// settings: ResNet-18, 90 epochs, lr 0.05 with a cosine schedule, α steps at 29/60,
    /// weight decay 1e-4, balanced batch 50, 20 exemplars per class, the `fixed`
    /// plastic branch and λ_base 10.
    case paper
    /// A reduced budget that finishes in minutes (see README), on any data.
    case quick

    /// A preset's values on one kind of data.
    struct Defaults {
        var epochs: Int, epochsFirst: Int, batchSize: Int, testBatchSize: Int, evalBatchSize: Int
        var lr: Float, weightDecay: Float, momentum: Float, lrFactor: Float, fusionLR: Float
        var trainImagesPerClass: Int?, budget: BudgetKind, nbProtos: Int
        /// The network schedule when --schedule is auto (nil: the baseline's own).
        var schedule: ScheduleKind?
        /// The MultiStep milestones (network and α) as fractions of a phase's epochs.
        var milestoneFractions: [Double]
        /// The plastic block's branch type when `--branch-2` is not given.
        var plasticBranch: String
        /// The original code's method flags the preset passes unless the command does
        /// (each baseline maps them to its options, `Baseline.originalFlags`).
        var originalFlags: [(flag: String, value: String)]
    }

    /// The milestones of the original's CIFAR runs (epochs·0.5, epochs·0.75) and of its
    /// ImageNet runs (epochs·0.333, epochs·0.667).
    static let cifarMilestones = [0.5, 0.75], imageNetMilestones = [0.333, 0.667]

    /// The values on image folders (`imageFolders`) or on CIFAR-style data.
    func defaults(imageFolders: Bool) -> Defaults {
        switch (self, imageFolders) {
        case (.paper, false):
            Defaults(epochs: 160, epochsFirst: 160, batchSize: 128, testBatchSize: 100, evalBatchSize: 128,
                     lr: 0.1, weightDecay: 5e-4, momentum: 0.9, lrFactor: 0.1, fusionLR: 1e-5,
                     trainImagesPerClass: nil, budget: .fixed, nbProtos: 20, schedule: nil,
                     milestoneFractions: Self.cifarMilestones, plasticBranch: DefaultPlugins.plasticBranch, originalFlags: [])
        case (.paper, true):
            Defaults(epochs: 90, epochsFirst: 90, batchSize: 128, testBatchSize: 50, evalBatchSize: 128,
                     lr: 0.05, weightDecay: 1e-4, momentum: 0.9, lrFactor: 0.1, fusionLR: 1e-5,
                     trainImagesPerClass: nil, budget: .dynamic, nbProtos: 20, schedule: .cosine,
                     milestoneFractions: Self.imageNetMilestones, plasticBranch: DefaultPlugins.imageFolderPlasticBranch,
                     originalFlags: [("the_lambda", Float(10).description)])
        case (.quick, _):
            Defaults(epochs: 4, epochsFirst: 6, batchSize: 64, testBatchSize: 100, evalBatchSize: 128,
                     lr: 0.1, weightDecay: 5e-4, momentum: 0.9, lrFactor: 0.1, fusionLR: 1e-3,
                     trainImagesPerClass: 50, budget: .dynamic, nbProtos: 5, schedule: .cosine,
                     milestoneFractions: Self.cifarMilestones, plasticBranch: DefaultPlugins.plasticBranch, originalFlags: [])
        }
    }
}
