import CILSDK

// The settings of a `RunConfiguration` that take one of a few values, besides the
// SDK's (`FidelityMode`, `BranchMode`, `ScheduleKind`, `AlphaGradientPolicy`,
// `SchedulerStepping`). `ArmOptions.resolve` parses each from its flag once; from there
// it travels as itself into config.json and every checkpoint header, encoded as its raw
// value, which is the flag's spelling.

/// `--budget`: how the exemplar memory is sized (docs/ALGORITHMS.md §1.4).
enum BudgetKind: String, Codable, CaseIterable {
    /// A total (`budgetTotal`) shared by the seen classes.
    case fixed
    /// A number per class (`budgetPerClass`); the total grows with the classes.
    case dynamic
}

/// `--backbone`: the network of a run (docs/ALGORITHMS.md §2.1-§2.2, §2.5).
enum BackboneKind: String, Codable, CaseIterable {
    case resnet32, resnet20, resnet18, resnet34
    /// PODNet's CIFAR ResNet-32 ("rebuffi", §2.5).
    case rebuffi32

    /// An ImageNet ResNet (224×224 input) rather than a CIFAR one (32×32).
    var isImageNet: Bool { self == .resnet18 || self == .resnet34 }

    /// The accepted values, for messages: "resnet32, resnet20, ... or rebuffi32".
    static var expected: String {
        let names = allCases.map(\.rawValue)
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }

    /// The network, freshly initialised from `rng`.
    func make(rng: inout RandomGenerator) -> any Backbone {
        switch self {
        case .resnet32: return ResNet.cifar(blocksPerStage: 5, rng: &rng)
        case .resnet20: return ResNet.cifar(blocksPerStage: 3, rng: &rng)
        case .resnet18: return ResNet.imageNet(depth: 18, rng: &rng)
        case .resnet34: return ResNet.imageNet(depth: 34, rng: &rng)
        case .rebuffi32: return RebuffiResNet.cifar(blocksPerStage: 5, width: 16, rng: &rng)
        }
    }
}

extension RunConfiguration {
    /// The exemplar budget the configuration's kind and sizes describe.
    var exemplarBudget: ExemplarBudget {
        budget == .dynamic ? .dynamic(perClass: budgetPerClass) : .fixed(total: budgetTotal)
    }
}
