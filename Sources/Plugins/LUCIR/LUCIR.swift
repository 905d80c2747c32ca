import CILSDK

/// LUCIR (`lucir`, Hou et al. 2019, as in the MANets code, SPEC.md 5.2): cosine head
/// with imprinting, less-forget loss on pooled features with adaptive λ, margin
/// ranking on unscaled cosines with K hard negatives, fc1 frozen.
/// Registered with its real options; training lands with the baselines issue.
public final class LUCIR: Baseline {
    public static let info = PluginInfo(
        name: "lucir", version: "0.1.0",
        summary: "LUCIR: cosine head, imprinting, less-forget + CE + margin ranking (SPEC 5.2)")

    public static let options: [OptionSpec] = [
        .string("lambda-base", default: "auto", help: "λ_base of the less-forget loss (auto: 5 on CIFAR, 10 on ImageNet)"),
        .float("dist", default: 0.5, help: "margin of the margin-ranking loss"),
        .int("K", default: 2, help: "hard negatives per old-class sample"),
        .float("lw-mr", default: 1, help: "weight of the margin-ranking loss"),
    ]

    public init(options: PluginOptions, setting: RunSetting) throws {
        throw PluginError.notImplemented(plugin: Self.info.name, what: "training (lands with the baselines issue)")
    }

    public func makeHead(featureDimension: Int, classCount: Int, rng: inout RandomGenerator) throws -> any ClassifierHead {
        throw PluginError.notImplemented(plugin: Self.info.name, what: "its classifier head")
    }

    public func phaseWillStart(_ context: PhaseStartContext) throws {
        throw PluginError.notImplemented(plugin: Self.info.name, what: "phase start")
    }

    public func loss(_ batch: BatchContext) throws -> LossOutput {
        throw PluginError.notImplemented(plugin: Self.info.name, what: "its loss")
    }
}
