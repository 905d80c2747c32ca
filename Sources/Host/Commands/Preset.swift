import CILSDK

/// `--preset`: the values of the options a command line leaves unset.
enum Preset: String, Codable, CaseIterable {
    /// docs/ALGORITHMS.md §1.7: 160 epochs, lr 0.1 with steps at 80/120, batch 128,
    /// fusion lr 1e-5, 2000 exemplars.
    case paper
    /// A reduced budget that finishes in minutes (see README).
    case quick

    /// A preset's values.
    struct Defaults {
        var epochs: Int, epochsFirst: Int, batchSize: Int, testBatchSize: Int, evalBatchSize: Int
        var lr: Float, weightDecay: Float, momentum: Float, lrFactor: Float, fusionLR: Float
        var trainImagesPerClass: Int?, budget: BudgetKind, nbProtos: Int
        /// The network schedule when --schedule is auto (nil: the baseline's own).
        var schedule: ScheduleKind?
    }

    var defaults: Defaults {
        switch self {
        case .paper:
            Defaults(epochs: 160, epochsFirst: 160, batchSize: 128, testBatchSize: 100, evalBatchSize: 128,
                     lr: 0.1, weightDecay: 5e-4, momentum: 0.9, lrFactor: 0.1, fusionLR: 1e-5,
                     trainImagesPerClass: nil, budget: .fixed, nbProtos: 20, schedule: nil)
        case .quick:
            Defaults(epochs: 4, epochsFirst: 6, batchSize: 64, testBatchSize: 100, evalBatchSize: 128,
                     lr: 0.1, weightDecay: 5e-4, momentum: 0.9, lrFactor: 0.1, fusionLR: 1e-3,
                     trainImagesPerClass: 50, budget: .dynamic, nbProtos: 5, schedule: .cosine)
        }
    }
}
