/// A network the workbench can build (`--backbone`, docs/ALGORITHMS.md §2.1-§2.2,
/// §2.5). A baseline may name the one its method was published with
/// (`TrainingPolicy.preferredBackbone`).
public enum BackboneKind: String, Sendable, Codable, CaseIterable {
    /// The MANets CIFAR ResNet-32 (§2.1) and its 3-blocks-a-stage sibling.
    case resnet32, resnet20
    /// The MANets ImageNet ResNets (§2.2).
    case resnet18, resnet34
    /// PODNet's CIFAR ResNet-32 ("rebuffi", §2.5).
    case rebuffi32

    /// An ImageNet ResNet (224×224 input) rather than a CIFAR one (32×32).
    public var isImageNet: Bool { self == .resnet18 || self == .resnet34 }

    /// The accepted values, for messages: "resnet32, resnet20, ... or rebuffi32".
    public static var expected: String {
        let names = allCases.map(\.rawValue)
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }

    /// The network, freshly initialised from `rng`.
    public func make(rng: inout RandomGenerator) -> any Backbone {
        switch self {
        case .resnet32: return ResNet.cifar(blocksPerStage: 5, rng: &rng)
        case .resnet20: return ResNet.cifar(blocksPerStage: 3, rng: &rng)
        case .resnet18: return ResNet.imageNet(depth: 18, rng: &rng)
        case .resnet34: return ResNet.imageNet(depth: 34, rng: &rng)
        case .rebuffi32: return RebuffiResNet.cifar(blocksPerStage: 5, width: 16, rng: &rng)
        }
    }
}
