import CILSDK

/// PODNet (`podnet`, Douillard et al. 2020, SPEC.md 5.3): POD-spatial and POD-flat
/// distillation, the local-similarity classifier with k-means imprinting, NCA loss
/// with a learned scale, class-balanced finetuning, gradient clamping.
/// Registered with its real options; training lands with the baselines issue.
public final class PODNet: Baseline {
    public static let info = PluginInfo(
        name: "podnet", version: "0.1.0",
        summary: "PODNet-CNN: POD-spatial/flat, LSC head, NCA, balanced finetuning (SPEC 5.3)")

    public static let options: [OptionSpec] = [
        .string("pod-spatial-factor", default: "auto", help: "POD-spatial weight before sqrt(seen/task) (auto: 3 on CIFAR, 8 on ImageNet)"),
        .string("pod-flat-factor", default: "auto", help: "POD-flat weight before sqrt(seen/task) (auto: 1 on CIFAR, 10 on ImageNet)"),
        .float("nca-margin", default: 0.6, help: "NCA margin (cancels out in the faithful mode, as in the original code)"),
        .int("proxies", default: 10, help: "proxies per class of the local-similarity classifier"),
        .int("finetune-epochs", default: 20, help: "epochs of class-balanced finetuning of the classifier after each phase >= 1"),
        .string("finetune-lr", default: "auto", help: "learning rate of the finetuning (auto: 0.05 on CIFAR, 0.01 on ImageNet)"),
        .bool("fixed-alpha", default: false, help: "on MANets, fix alpha at 0.5 like the early PODNet+AANets code"),
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
