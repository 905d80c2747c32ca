import CILSDK

/// Weight Aligning (`wa`; Zhao et al., "Maintaining Discrimination and Fairness in
/// Class Incremental Learning", CVPR 2020).
///
/// - Head: a linear head with bias over all seen classes (the SDK's `LinearHead`).
/// - Loss: softmax cross-entropy over the seen classes, plus in phases >= 1 the
///   knowledge distillation of the previous model's old-class logits:
///   `kd_weight` · T² · KL(softmax(z_old/T) ‖ softmax(z[:, :C_old]/T)), batch mean.
/// - Weight aligning: when a phase >= 1 ends, the new classes' weight rows are
///   rescaled by γ = mean‖w_old‖ / mean‖w_new‖ so that their mean L2 norm equals the
///   old rows' (the bias is left as it is).
public final class WeightAligning: Baseline {
    public static let info = PluginInfo(
        name: "wa", version: "0.1.0",
        summary: "Weight Aligning (Zhao et al. 2020): linear head, CE + KD, new-class weight norms aligned to the old ones")

    public static let options: [OptionSpec] = [
        .float("T", default: 2, help: "distillation temperature"),
        .float("kd_weight", default: 1, help: "weight of the distillation term"),
        .bool("align", default: true, help: "rescale the new classes' weights after each phase >= 1"),
    ]

    let temperature: Float
    let kdWeight: Float
    let aligns: Bool

    public init(options: PluginOptions, setting: RunSetting) throws {
        temperature = options.float("T")
        kdWeight = options.float("kd_weight")
        aligns = options.bool("align")
        guard temperature > 0 else {
            throw PluginError.invalidOptionValue(plugin: Self.info.name, option: "T", expected: "a positive number", got: String(temperature))
        }
        guard kdWeight >= 0 else {
            throw PluginError.invalidOptionValue(plugin: Self.info.name, option: "kd_weight", expected: "a number >= 0", got: String(kdWeight))
        }
    }

    public func makeHead(featureDimension: Int, classCount: Int, rng: inout RandomGenerator) throws -> any ClassifierHead {
        LinearHead(featureDimension: featureDimension, classCount: classCount, rng: &rng)
    }

    /// Nothing to do: the host already expanded the head with fresh rows.
    public func phaseWillStart(_ context: PhaseStartContext) throws {}

    public func loss(_ batch: BatchContext) throws -> LossOutput {
        let ce = Tensor.crossEntropy(logits: batch.current.logits, targets: batch.targets)
        guard let previous = batch.previous, batch.classes.old > 0, kdWeight > 0 else {
            return LossOutput(total: ce, components: ["ce": ce.item])
        }
        let old = batch.classes.old
        let kd = Tensor.distillationKL(student: batch.current.logits.sliced(axis: 1, 0..<old),
                                       teacher: previous.logits, temperature: temperature, reduction: .batchMean)
            * (temperature * temperature * kdWeight)
        return LossOutput(total: ce + kd, components: ["ce": ce.item, "kd": kd.item])
    }

    public func phaseDidEnd(_ context: PhaseEndContext) throws {
        guard context.phase >= 1, aligns, context.classes.old > 0, context.classes.new > 0 else { return }
        guard let head = context.head as? LinearHead else {
            throw PluginError.failed(plugin: Self.info.name,
                                     reason: "expected a LinearHead, got \(type(of: context.head))")
        }
        Self.alignWeights(of: head, oldClasses: context.classes.old)
    }

    /// Rescales rows `oldClasses...` of the head's weight so that their mean L2 norm
    /// equals the mean norm of rows `0..<oldClasses`; returns γ.
    @discardableResult
    public static func alignWeights(of head: LinearHead, oldClasses: Int) -> Float {
        let rows = head.classCount, d = head.featureDimension
        guard oldClasses > 0, oldClasses < rows else { return 1 }
        return head.weight.withUnsafeMutableBufferPointer { w -> Float in
            func norm(_ row: Int) -> Float {
                var s: Float = 0
                for j in 0..<d { let v = w[row * d + j]; s += v * v }
                return s.squareRoot()
            }
            var oldSum: Float = 0, newSum: Float = 0
            for r in 0..<oldClasses { oldSum += norm(r) }
            for r in oldClasses..<rows { newSum += norm(r) }
            let meanOld = oldSum / Float(oldClasses), meanNew = newSum / Float(rows - oldClasses)
            guard meanNew > 0 else { return 1 }
            let gamma = meanOld / meanNew
            for i in (oldClasses * d)..<(rows * d) { w[i] *= gamma }
            return gamma
        }
    }
}
