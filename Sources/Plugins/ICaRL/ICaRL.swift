import CILSDK

/// iCaRL (`icarl`). Two variants, named in results: `manets`, the iCaRL of the
/// original MANets code (cosine head, cross-entropy over all seen classes plus
/// temperature distillation, SPEC.md 5.1), and `classic`, Rebuffi et al. 2017
/// (sigmoid binary cross-entropy with distillation targets, linear head, NME).
/// Registered with its real options; training lands with the baselines issue.
public final class ICaRL: Baseline {
    public static let info = PluginInfo(
        name: "icarl", version: "0.1.0",
        summary: "iCaRL: 'manets' variant (cosine head, CE + KD, SPEC 5.1) or 'classic' (Rebuffi et al. 2017)")

    public static let options: [OptionSpec] = [
        .choice("variant", ["manets", "classic"], default: "manets", help: "which iCaRL: the MANets code's or the 2017 original"),
        .float("T", default: 2, help: "distillation temperature"),
        .float("beta", default: 0.25, help: "distillation weight"),
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
