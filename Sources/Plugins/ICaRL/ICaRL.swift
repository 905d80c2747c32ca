import CILSDK

/// iCaRL (`icarl`) in two variants, named in results by the `variant` option:
///
/// - `manets` (default): the iCaRL of the MANets code (docs/ALGORITHMS.md §6.1): the
///   cosine head with imprinting (old rows frozen, σ trained); phase 0 trains with
///   softmax cross-entropy, later phases with L_CE + L_KD, where
///   L_KD = T²·β·C_old · KLDivLoss_mean(log_softmax(z[:, :C_old]/T), softmax(z_old/T)).
///   PyTorch 1.2's KLDivLoss averages over all B·C_old elements, so the ·C_old makes
///   this the batch mean of the per-sample KL; the original and the mathematically
///   intended value coincide, and both modes compute it.
/// - `classic`: Rebuffi et al., CVPR 2017: a linear head with bias over all seen
///   classes, sigmoid binary cross-entropy on one-hot targets whose old-class columns
///   are replaced by the previous model's sigmoid outputs (distillation), mean over
///   all elements. Its paper reports nearest-mean-of-exemplars accuracy (the host's
///   NME metric).
public final class ICaRL: Baseline {
    public static let info = PluginInfo(
        name: "icarl", version: "0.2.0",
        summary: "iCaRL: 'manets' variant (cosine head, CE + KD, docs/ALGORITHMS.md §6.1) or 'classic' (Rebuffi et al. 2017, sigmoid BCE)")

    public static let options: [OptionSpec] = [
        .choice("variant", ["manets", "classic"], default: "manets", help: "which iCaRL: the MANets code's or the 2017 original"),
        .float("T", default: 2, help: "distillation temperature (manets variant)"),
        .float("beta", default: 0.25, help: "distillation weight (manets variant)"),
    ]

    /// The original code's iCaRL flags.
    public static let originalFlags = ["icarl_T": "T", "icarl_beta": "beta"]

    /// Phase 0 of the `manets` variant is LUCIR's (cosine head, softmax cross-entropy,
    /// no phase-end work); T and β act from phase 1 on. The `classic` variant's is its own.
    public static func phaseZeroRecipe(options: PluginOptions) -> String? {
        options.string("variant") == Variant.manets.rawValue ? CosineHead.crossEntropyPhaseZeroRecipe : nil
    }

    enum Variant: String { case manets, classic }
    let variant: Variant
    let temperature: Float
    let beta: Float

    public init(options: PluginOptions, setting: RunSetting) throws {
        variant = Variant(rawValue: options.string("variant"))!
        temperature = options.float("T")
        beta = options.float("beta")
        guard temperature > 0 else {
            throw PluginError.invalidOptionValue(plugin: Self.info.name, option: "T", expected: "a positive number", got: String(temperature))
        }
    }

    public func makeHead(featureDimension: Int, classCount: Int, rng: inout RandomGenerator) throws -> any ClassifierHead {
        switch variant {
        case .manets: return CosineHead(featureDimension: featureDimension, classCount: classCount, rng: &rng)
        case .classic: return LinearHead(featureDimension: featureDimension, classCount: classCount, rng: &rng)
        }
    }

    public func phaseWillStart(_ context: PhaseStartContext) throws {
        guard context.phase > 0, variant == .manets else { return }
        try CosineHead.imprintNewClasses(of: context, plugin: Self.info.name)
    }

    public func loss(_ batch: BatchContext) throws -> LossOutput {
        switch variant {
        case .manets: return manetsLoss(batch)
        case .classic: return classicLoss(batch)
        }
    }

    func manetsLoss(_ batch: BatchContext) -> LossOutput {
        let ce = Tensor.crossEntropy(logits: batch.current.logits, targets: batch.targets)
        guard let previous = batch.previous, batch.classes.old > 0 else {
            return LossOutput(total: ce, components: ["ce": ce.item])
        }
        let old = batch.classes.old
        let kd = Tensor.distillationKL(student: batch.current.logits.sliced(axis: 1, 0..<old),
                                       teacher: previous.logits, temperature: temperature, reduction: .mean)
            * (temperature * temperature * beta * Float(old))
        return LossOutput(total: kd + ce, components: ["ce": ce.item, "kd": kd.item])
    }

    func classicLoss(_ batch: BatchContext) -> LossOutput {
        let logits = batch.current.logits
        let b = logits.shape[0], c = logits.shape[1], old = batch.classes.old
        var targets = [Float](repeating: 0, count: b * c)
        for (i, y) in batch.targets.enumerated() { targets[i * c + y] = 1 }
        if let previous = batch.previous, old > 0 {
            let soft = withNoGrad { previous.logits.sigmoid().scalars }
            for i in 0..<b { for j in 0..<old { targets[i * c + j] = soft[i * old + j] } }
        }
        let bce = Tensor.binaryCrossEntropyWithLogits(logits, targets: Tensor(shape: [b, c], targets))
        return LossOutput(total: bce, components: ["bce": bce.item])
    }
}
