import CILSDK

/// PODNet-CNN (`podnet`; Douillard et al., ECCV 2020), as its official code runs
/// (docs/ALGORITHMS.md §6.3; what still differs: §6.5):
/// - network and data: PODNet's CIFAR ResNet-32 (`rebuffi32`) on CIFAR-style data,
///   ResNet-18 on image folders (`--backbone` overrides); PODNet's data pipeline
///   (`podnet-cifar`: ColorJitter(brightness 63/255) and its constants;
///   `podnet-imagenet`), class means over exemplars and their horizontal mirrors;
/// - head: the local-similarity classifier (K proxies per class), new classes
///   imprinted by k-means on their normalised features, old proxies frozen;
/// - classification: NCA on the class scores with the learned scale;
/// - distillation from phase 1: POD-spatial on every level map (old vs new; on MANets
///   the aggregated maps) weighted 3·√(seen/task), POD-flat on the pooled features
///   weighted 1·√(seen/task) (seen includes the new classes);
/// - every gradient clamped to [−5, 5]; cosine learning-rate schedule, in `faithful`
///   mode stepped as PODNet's trainer does (`scheduler.step(epoch)` at the end of
///   epoch e, so epoch e trains with the value for e − 1);
/// - after each phase >= 1: class-balanced finetuning of every proxy (old ones too,
///   not the NCA scale) on the exemplar memory: NCA, 20 epochs, lr 0.05 on CIFAR
///   (0.01 on image folders), weight decay 5e-4, gradients clamped to ±5; batch norm
///   in training mode in `faithful` mode, as the code leaves it (the host then herds
///   the new classes again), in evaluation mode in `corrected` mode;
/// - on MANets: α fixed at 0.5 as in POD-AANets (`learn-alpha=true` learns it, §5).
///
/// NCA, faithful (the code): t = scale·(s − margin) for every class (the margin
/// cancels), minus the row maximum, and the target's denominator term replaced by
/// exp(0) instead of removed. Corrected: the margin on the target only, the target
/// excluded from the denominator.
public final class PODNet: Baseline {
    public static let info = PluginInfo(
        name: "podnet", version: "0.3.0",
        summary: "PODNet-CNN as its code runs: rebuffi32, POD-spatial/flat, LSC head, NCA, balanced finetuning (docs/ALGORITHMS.md §6.3)")

    public static let options: [OptionSpec] = [
        .string("pod-spatial-factor", default: "auto", help: "POD-spatial weight before √(seen/task) (auto: 3 on CIFAR-style data, 8 on ImageNet-style)"),
        .string("pod-flat-factor", default: "auto", help: "POD-flat weight before √(seen/task) (auto: 1 on CIFAR-style data, 10 on ImageNet-style)"),
        .float("nca-margin", default: 0.6, help: "NCA margin (cancels out in the faithful mode, as in the original code)"),
        .int("proxies", default: 10, help: "proxies per class of the local-similarity classifier"),
        .int("finetune-epochs", default: 20, help: "epochs of class-balanced finetuning of the classifier after each phase >= 1 (0: none)"),
        .string("finetune-lr", default: "auto", help: "learning rate of the finetuning (auto: 0.05 on CIFAR-style data, 0.01 on ImageNet-style)"),
        .float("finetune-weight-decay", default: 5e-4, help: "weight decay of the finetuning (PODNet's code: the run's 5e-4)"),
        .bool("learn-alpha", default: false, help: "on MANets, learn α on the balanced set (docs/ALGORITHMS.md §5); default false: α stays 0.5, as in POD-AANets"),
    ]

    let spatialFactor: Float
    let flatFactor: Float
    let margin: Float
    let proxiesPerClass: Int
    let finetuneEpochs: Int
    let finetuneLearningRate: Float
    let finetuneWeightDecay: Float
    let learnsAlpha: Bool
    let imageFolders: Bool
    let mode: FidelityMode

    public init(options: PluginOptions, setting: RunSetting) throws {
        let imageNet = setting.dataset == "imagefolder"
        imageFolders = imageNet
        func auto(_ name: String, cifar: Float, imageNet imageNetValue: Float) throws -> Float {
            let text = options.string(name)
            if text == "auto" { return imageNet ? imageNetValue : cifar }
            guard let v = Float(text), v.isFinite, v >= 0 else {
                throw PluginError.invalidOptionValue(plugin: Self.info.name, option: name, expected: "auto or a non-negative number", got: text)
            }
            return v
        }
        spatialFactor = try auto("pod-spatial-factor", cifar: 3, imageNet: 8)
        flatFactor = try auto("pod-flat-factor", cifar: 1, imageNet: 10)
        finetuneLearningRate = try auto("finetune-lr", cifar: 0.05, imageNet: 0.01)
        margin = options.float("nca-margin")
        proxiesPerClass = options.int("proxies")
        finetuneEpochs = options.int("finetune-epochs")
        finetuneWeightDecay = options.float("finetune-weight-decay")
        learnsAlpha = options.bool("learn-alpha")
        mode = setting.mode
        guard proxiesPerClass >= 1 else {
            throw PluginError.invalidOptionValue(plugin: Self.info.name, option: "proxies", expected: "an integer >= 1", got: String(proxiesPerClass))
        }
        guard finetuneEpochs >= 0 else {
            throw PluginError.invalidOptionValue(plugin: Self.info.name, option: "finetune-epochs", expected: "an integer >= 0", got: String(finetuneEpochs))
        }
        guard finetuneWeightDecay >= 0, finetuneWeightDecay.isFinite else {
            throw PluginError.invalidOptionValue(plugin: Self.info.name, option: "finetune-weight-decay", expected: "a non-negative number",
                                                 got: String(finetuneWeightDecay))
        }
    }

    /// Every gradient clamped to ±5 (PODNet's hooks), during training and finetuning.
    static let gradientClamp: ClosedRange<Float> = -5...5

    public var trainingPolicy: TrainingPolicy {
        TrainingPolicy(gradientClamp: Self.gradientClamp, preferredSchedule: .cosine, learnsAlpha: learnsAlpha,
                       originalStepping: .lagging, preferredBackbone: imageFolders ? .resnet18 : .rebuffi32,
                       preprocessing: imageFolders ? .podnetImageNet : .podnetCIFAR)
    }

    public func makeHead(featureDimension: Int, classCount: Int, rng: inout RandomGenerator) throws -> any ClassifierHead {
        LocalSimilarityHead(featureDimension: featureDimension, classCount: classCount, proxiesPerClass: proxiesPerClass, rng: &rng)
    }

    func head(_ h: any ClassifierHead) throws -> LocalSimilarityHead {
        guard let lsc = h as? LocalSimilarityHead else {
            throw PluginError.failed(plugin: Self.info.name, reason: "needs its local-similarity head, got \(type(of: h))")
        }
        return lsc
    }

    public func phaseWillStart(_ context: PhaseStartContext) throws {
        guard context.phase > 0 else { return }
        let lsc = try head(context.head)
        let labels = context.classes.old..<context.classes.seen
        lsc.imprint(newClassFeatures: try labels.map { try context.trainingFeatures($0) }, seed: context.seed)
    }

    /// The NCA loss of the class scores [B, C] with scale s (shape [1]).
    func nca(_ similarities: Tensor, targets: [Int], scale: Tensor) -> Tensor {
        let b = similarities.shape[0], c = similarities.shape[1]
        var onehot = [Float](repeating: 0, count: b * c)
        for (i, y) in targets.enumerated() { onehot[i * c + y] = 1 }
        let positive = Tensor(shape: [b, c], onehot)
        let shifted: Tensor
        switch mode {
        case .faithful: shifted = (similarities - margin) * scale
        case .corrected: shifted = (similarities - positive * margin) * scale
        }
        let stable = shifted - shifted.max(axis: 1, keepDims: true)
        let numerator = stable.gathered(targets.map { [$0] })
        let denominator: Tensor
        switch mode {
        case .faithful:
            // The target entry becomes 0, i.e. contributes exp(0) = 1.
            denominator = (stable * (1 - positive)).exp().sum(axes: [1], keepDims: true).log()
        case .corrected:
            denominator = (stable.exp() * (1 - positive)).sum(axes: [1], keepDims: true).log()
        }
        return (denominator - numerator).mean()
    }

    /// POD-spatial of one pair of maps [B, C, H, W]: per sample, the L2-normalised
    /// concatenation of Σ_W x² (C·H values) and Σ_H x² (C·W values); the mean over
    /// the batch of the L2 distance between old and new.
    func podSpatial(old: Tensor, new: Tensor) -> Tensor {
        func pooled(_ m: Tensor) -> Tensor {
            let sq = m.square()
            let b = m.shape[0]
            let alongHeight = sq.sum(axes: [3]).reshaped([b, -1])
            let alongWidth = sq.sum(axes: [2]).reshaped([b, -1])
            return Tensor.concatenate([alongHeight, alongWidth], axis: 1).l2Normalized(axis: 1)
        }
        return (pooled(old.detached()) - pooled(new)).l2Norm(axis: 1).mean()
    }

    public func loss(_ batch: BatchContext) throws -> LossOutput {
        let lsc = try head(batch.head)
        let classification = nca(batch.current.logits, targets: batch.targets, scale: lsc.scale)
        guard let previous = batch.previous, batch.classes.old > 0 else {
            return LossOutput(total: classification, components: ["nca": classification.item])
        }
        let factor = (Float(batch.classes.seen) / Float(batch.classes.new)).squareRoot()
        let maps = zip(previous.levelMaps, batch.current.levelMaps).map { podSpatial(old: $0, new: $1) }
        let spatial = maps.dropFirst().reduce(maps[0], +) * (spatialFactor * factor / Float(maps.count))
        let flat = Tensor.cosineEmbeddingLoss(batch.current.features, previous.features.detached(),
                                              targets: Array(repeating: 1, count: batch.targets.count)) * (flatFactor * factor)
        return LossOutput(total: classification + spatial + flat,
                          components: ["nca": classification.item, "pod_spatial": spatial.item, "pod_flat": flat.item])
    }

    public func phaseDidEnd(_ context: PhaseEndContext) throws {
        guard context.phase > 0, finetuneEpochs > 0 else { return }
        let lsc = try head(context.head)
        // All proxies, not the scale (`tuning: classifier`); the network stays in
        // training mode in the code (faithful), evaluation mode is the corrected choice.
        let request = HeadFinetuning(
            epochs: finetuneEpochs, learningRate: finetuneLearningRate, weightDecay: finetuneWeightDecay,
            roles: [.oldClasses, .newClasses], gradientClamp: Self.gradientClamp,
            batchNorm: mode == .faithful ? .training : .evaluation) { batch in
            let l = self.nca(batch.current.logits, targets: batch.targets, scale: lsc.scale)
            return LossOutput(total: l, components: ["nca": l.item])
        }
        try context.finetuneHead(request)
    }
}
