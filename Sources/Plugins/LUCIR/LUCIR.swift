import CILSDK
import Foundation

/// LUCIR (`lucir`; Hou et al., CVPR 2019), as the MANets code runs it
/// (docs/ALGORITHMS.md §6.2): a cosine head whose new rows are imprinted at each phase
/// start, old rows frozen; from phase 1 the loss is
///     λ_cur · L_LF + L_CE + lw_mr · L_MR
/// - L_LF, less-forget: mean_b (1 − cos(f_new,b, f_old,b)) on the pooled features
///   (`CosineEmbeddingLoss`, old features constant), λ_cur = λ_base·√(C_old / C_new);
/// - L_CE: softmax cross-entropy on the σ-scaled cosines over all seen classes;
/// - L_MR, margin ranking, for the samples of old classes only: the unscaled cosine
///   of the true class against each of the K highest new-class cosines,
///   mean of max(0, dist − (s_gt − s_neg)); 0 when the batch has no old-class sample.
/// Phase 0 trains with L_CE alone.
public final class LUCIR: Baseline {
    public static let info = PluginInfo(
        name: "lucir", version: "0.2.0",
        summary: "LUCIR: cosine head, imprinting, less-forget + CE + margin ranking (docs/ALGORITHMS.md §6.2)")

    public static let options: [OptionSpec] = [
        .string("lambda-base", default: "auto", help: "λ_base of the less-forget loss (auto: 5 on CIFAR-style data, 10 on ImageNet-style)"),
        .float("dist", default: 0.5, help: "margin of the margin-ranking loss"),
        .int("K", default: 2, help: "hard negatives (top new-class cosines) per old-class sample"),
        .float("lw-mr", default: 1, help: "weight of the margin-ranking loss"),
    ]

    /// The original code's LUCIR flags.
    public static let originalFlags = ["the_lambda": "lambda-base", "dist": "dist", "K": "K", "lw_mr": "lw-mr"]

    /// Phase 0 is the cosine head trained with cross-entropy alone; every option acts
    /// from phase 1 on.
    public static func phaseZeroRecipe(options: PluginOptions) -> String? { CosineHead.crossEntropyPhaseZeroRecipe }

    let lambdaBase: Float
    let dist: Float
    let hardNegatives: Int
    let marginWeight: Float

    /// The original LUCIR trainer never zeroes α's gradient (since the code's
    /// 2021-03 revision): `--alpha-grad original` reproduces that.
    public var trainingPolicy: TrainingPolicy { TrainingPolicy(originalAlphaGradient: .accumulate) }

    public init(options: PluginOptions, setting: RunSetting) throws {
        let given = options.string("lambda-base")
        if given == "auto" {
            lambdaBase = setting.dataset == "imagefolder" ? 10 : 5
        } else if let value = Float(given), value.isFinite, value >= 0 {
            lambdaBase = value
        } else {
            throw PluginError.invalidOptionValue(plugin: Self.info.name, option: "lambda-base",
                                                 expected: "auto or a non-negative number", got: given)
        }
        dist = options.float("dist")
        hardNegatives = options.int("K")
        marginWeight = options.float("lw-mr")
        guard hardNegatives >= 1 else {
            throw PluginError.invalidOptionValue(plugin: Self.info.name, option: "K", expected: "an integer >= 1", got: String(hardNegatives))
        }
    }

    public func makeHead(featureDimension: Int, classCount: Int, rng: inout RandomGenerator) throws -> any ClassifierHead {
        CosineHead(featureDimension: featureDimension, classCount: classCount, rng: &rng)
    }

    public func phaseWillStart(_ context: PhaseStartContext) throws {
        guard context.phase > 0 else { return }
        try CosineHead.imprintNewClasses(of: context, plugin: Self.info.name)
    }

    /// λ_cur = λ_base · √(C_old / C_new) (docs/ALGORITHMS.md §6.2).
    func currentLambda(_ classes: ClassCounts) -> Float {
        lambdaBase * (Float(classes.old) / Float(classes.new)).squareRoot()
    }

    public func loss(_ batch: BatchContext) throws -> LossOutput {
        let ce = Tensor.crossEntropy(logits: batch.current.logits, targets: batch.targets)
        guard let previous = batch.previous, batch.classes.old > 0 else {
            return LossOutput(total: ce, components: ["ce": ce.item])
        }
        let lambda = currentLambda(batch.classes)
        let lessForget = Tensor.cosineEmbeddingLoss(batch.current.features, previous.features.detached(),
                                                    targets: Array(repeating: 1, count: batch.targets.count)) * lambda
        var total = lessForget + ce
        var components = ["ce": ce.item, "less_forget": lessForget.item, "lambda": lambda]
        if let ranking = try marginRanking(batch) {
            let weighted = ranking * marginWeight
            total = total + weighted
            components["margin_ranking"] = weighted.item
        } else {
            components["margin_ranking"] = 0
        }
        return LossOutput(total: total, components: components)
    }

    /// L_MR of docs/ALGORITHMS.md §6.2 on the unscaled cosines, or nil without
    /// old-class samples.
    func marginRanking(_ batch: BatchContext) throws -> Tensor? {
        guard let cosines = batch.current.headExtras["cosines"] else {
            throw PluginError.failed(plugin: Self.info.name, reason: "the head gives no unscaled cosines (extras[\"cosines\"]); LUCIR needs a cosine head")
        }
        let old = batch.classes.old, seen = batch.classes.seen
        let hard = batch.targets.indices.filter { batch.targets[$0] < old }
        guard !hard.isEmpty else { return nil }
        let k = min(hardNegatives, seen - old)
        let hardCosines = cosines.selectingRows(hard)
        let groundTruth = hardCosines.gathered(hard.map { [batch.targets[$0]] })
        let newClassCosines = hardCosines.sliced(axis: 1, old..<seen)
        let negatives = newClassCosines.gathered(newClassCosines.topKIndices(k))
        let repeatedTruth = Tensor.concatenate(Array(repeating: groundTruth, count: k), axis: 1)
        return Tensor.marginRankingLoss(repeatedTruth, negatives, target: 1, margin: dist)
    }
}
