/// What one forward pass of a model gives a baseline's loss.
public struct ModelOutputs {
    /// The head's scores over the classes seen by that model, [B, C].
    public var logits: Tensor
    /// Pooled features that feed the head, [B, D] (the aggregated feature on MANets).
    public var features: Tensor
    /// The output map [B, C, H, W] of every level, in order (aggregated on MANets);
    /// `features` is the global average of the last one.
    public var levelMaps: [Tensor]
    /// The head's extras (e.g. "cosines").
    public var headExtras: [String: Tensor]

    public init(logits: Tensor, features: Tensor, levelMaps: [Tensor], headExtras: [String: Tensor] = [:]) {
        self.logits = logits
        self.features = features
        self.levelMaps = levelMaps
        self.headExtras = headExtras
    }
}

/// One training batch as a baseline's loss sees it.
public struct BatchContext {
    /// 0-based phase index.
    public var phase: Int
    /// Old, new and seen classes of this phase.
    public var classes: ClassCounts
    /// Mapped labels, one per row.
    public var targets: [Int]
    /// The model being trained (gradients flow).
    public var current: ModelOutputs
    /// The frozen previous-phase model in evaluation mode (constants, no gradient);
    /// nil in phase 0.
    public var previous: ModelOutputs?
    /// The head being trained (for parameters a loss uses directly, e.g. PODNet's
    /// NCA scale).
    public var head: any ClassifierHead

    public init(phase: Int, classes: ClassCounts, targets: [Int], current: ModelOutputs, previous: ModelOutputs?,
                head: any ClassifierHead) {
        self.phase = phase
        self.classes = classes
        self.targets = targets
        self.current = current
        self.previous = previous
        self.head = head
    }
}

/// A baseline's loss for a batch: the scalar to minimise and named parts for logs.
public struct LossOutput {
    public var total: Tensor
    public var components: [String: Float]

    public init(total: Tensor, components: [String: Float] = [:]) {
        self.total = total
        self.components = components
    }
}

/// The run-wide facts a baseline may depend on.
public struct RunSetting: Sendable, Codable, Equatable {
    /// Dataset name ("cifar100", "imagefolder", "synthetic").
    public var dataset: String
    /// Classes learned in phase 0 and in each later phase.
    public var classesPerPhase: [Int]
    /// Faithful to the original code's quirks, or corrected.
    public var mode: FidelityMode
    /// The run's seed.
    public var seed: UInt64

    public init(dataset: String, classesPerPhase: [Int], mode: FidelityMode, seed: UInt64) {
        self.dataset = dataset
        self.classesPerPhase = classesPerPhase
        self.mode = mode
        self.seed = seed
    }
}

/// Services the host offers a baseline when a phase starts.
public struct PhaseStartContext {
    public var phase: Int
    public var classes: ClassCounts
    /// The head, already expanded by `classes.new` classes in phases >= 1.
    public var head: any ClassifierHead
    /// Pooled features [n, D] of every training image of class `label` (mapped),
    /// under the test transform, from the current network before training (the
    /// aggregated feature on MANets), computed without gradients. For imprinting.
    public var trainingFeatures: (_ label: Int) throws -> Tensor
    /// A seed for this phase's random choices (k-means starts, ...).
    public var seed: UInt64

    public init(phase: Int, classes: ClassCounts, head: any ClassifierHead,
                trainingFeatures: @escaping (Int) throws -> Tensor, seed: UInt64) {
        self.phase = phase
        self.classes = classes
        self.head = head
        self.trainingFeatures = trainingFeatures
        self.seed = seed
    }
}

/// The backbone's batch normalisation while a head is finetuned.
public enum FinetuningBatchNorm: String, Sendable, Codable {
    /// PyTorch's `train()`: batch statistics, and the running statistics updated by
    /// every batch (so the backbone's evaluation-mode features change, although its
    /// weights do not). The host then herds the phase's new classes again afterwards.
    case training
    /// PyTorch's `eval()`: the running statistics, unchanged; the features the head is
    /// finetuned on are the ones it is evaluated on.
    case evaluation
}

/// A request to train only the head on the exemplar memory (e.g. PODNet's
/// class-balanced finetuning), run by the host's loop: SGD with the run's momentum and
/// a constant learning rate, the backbone's weights frozen.
public struct HeadFinetuning {
    public var epochs: Int
    public var learningRate: Float
    public var weightDecay: Float
    public var batchSize: Int
    /// The head tensors that train, by role; `.oldClasses` unfreezes the earlier
    /// phases' rows for the finetuning (they are frozen again afterwards). A tensor of
    /// another role that its head froze stays frozen.
    public var roles: Set<HeadParameterRole>
    /// Clamp every trained gradient into this range before the step (nil: none).
    public var gradientClamp: ClosedRange<Float>?
    /// The backbone's batch norm during the finetuning.
    public var batchNorm: FinetuningBatchNorm
    /// The loss per batch (the host fills `BatchContext`; `previous` is nil).
    public var loss: (BatchContext) throws -> LossOutput

    public init(epochs: Int, learningRate: Float, weightDecay: Float = 0, batchSize: Int = 128,
                roles: Set<HeadParameterRole> = [.newClasses, .shared], gradientClamp: ClosedRange<Float>? = nil,
                batchNorm: FinetuningBatchNorm = .training, loss: @escaping (BatchContext) throws -> LossOutput) {
        self.epochs = epochs
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.batchSize = batchSize
        self.roles = roles
        self.gradientClamp = gradientClamp
        self.batchNorm = batchNorm
        self.loss = loss
    }
}

/// Services the host offers a baseline when a phase ends: after training and after
/// the exemplar memory was updated with this phase's classes, before evaluation.
public struct PhaseEndContext {
    public var phase: Int
    public var classes: ClassCounts
    public var head: any ClassifierHead
    /// Trains the head alone on the exemplar memory (all seen classes, this phase's
    /// included), every class equally represented. With `.training` batch norm the
    /// host herds the phase's new classes again after it, before evaluation.
    public var finetuneHead: (HeadFinetuning) throws -> Void

    public init(phase: Int, classes: ClassCounts, head: any ClassifierHead,
                finetuneHead: @escaping (HeadFinetuning) throws -> Void) {
        self.phase = phase
        self.classes = classes
        self.head = head
        self.finetuneHead = finetuneHead
    }
}

/// A learning-rate schedule family a baseline may ask for.
public enum ScheduleKind: String, Sendable, Codable, CaseIterable {
    /// MultiStep with γ 0.1 at int(0.5·E) and int(0.75·E) (LUCIR, iCaRL, MANets).
    case multistep
    /// Cosine annealing to 0 over the phase's epochs (PODNet).
    case cosine
}

/// Training rules a baseline asks of the host's loop.
public struct TrainingPolicy: Sendable, Equatable {
    /// Clamp every parameter gradient into this range before the step (PODNet: ±5).
    public var gradientClamp: ClosedRange<Float>?
    /// The network schedule the method was published with, used unless the run sets
    /// one (nil: the run's default, MultiStep).
    public var preferredSchedule: ScheduleKind?
    /// Whether α is learned on the balanced set in dual mode (false: α stays at its
    /// initial 0.5, as in the early PODNet+AANets code).
    public var learnsAlpha: Bool
    /// How the method's trainer in the original code's latest release treats α's
    /// gradient between α steps (`--alpha-grad original`). The published tables were
    /// made with the gradient zeroed before every α step, which is every run's
    /// default whatever this says.
    public var originalAlphaGradient: AlphaGradientPolicy
    /// When the method's own trainer steps its LR schedulers, used in `faithful` mode
    /// (`corrected` mode and the quick preset step the conventional way). Default: the
    /// MANets trainers' step at the start of every epoch; PODNet's is `.lagging`.
    public var originalStepping: SchedulerStepping
    /// The network the method was published with on this run's data, used unless the
    /// run sets one with `--backbone` (nil: the run's default, resnet32 on CIFAR-style
    /// data, resnet18 on image folders). It must fit the data's family.
    public var preferredBackbone: BackboneKind?
    /// The method's own code's data pipeline, of the dataset's family, for every image
    /// the host transforms: training, balanced set, imprinting and herding features,
    /// class means and evaluation (nil: the dataset's, the MANets code's).
    public var preprocessing: Preprocessing?

    public init(gradientClamp: ClosedRange<Float>? = nil, preferredSchedule: ScheduleKind? = nil, learnsAlpha: Bool = true,
                originalAlphaGradient: AlphaGradientPolicy = .zeroPerStep, originalStepping: SchedulerStepping = .faithful,
                preferredBackbone: BackboneKind? = nil, preprocessing: Preprocessing? = nil) {
        self.gradientClamp = gradientClamp
        self.preferredSchedule = preferredSchedule
        self.learnsAlpha = learnsAlpha
        self.originalAlphaGradient = originalAlphaGradient
        self.originalStepping = originalStepping
        self.preferredBackbone = preferredBackbone
        self.preprocessing = preprocessing
    }
}

/// A class-incremental method (iCaRL, LUCIR, PODNet, ...). The host owns the loop:
/// phases, epochs, batches, optimizer steps, α updates, exemplars, evaluation and
/// metrics. A baseline supplies only what differs between methods: its head, its
/// phase-start work (imprinting), its loss, and optional phase-end work.
///
/// Lifecycle per run: `init` once; `makeHead` once (phase 0); then per phase p:
/// (p >= 1: head.expand) → `phaseWillStart` → training batches calling `loss` →
/// exemplar selection by the host → `phaseDidEnd` (after a head finetuning with
/// `.training` batch norm, the host selects the phase's exemplars again) → evaluation
/// by the host (class means from the model as the phase ends).
public protocol Baseline: AnyObject {
    /// Name (`--baseline NAME`), version and summary.
    static var info: PluginInfo { get }
    /// Options (`--baseline-option NAME=VALUE`), with defaults and help.
    static var options: [OptionSpec] { get }
    /// The original code's command-line flags that set this baseline's options: flag
    /// name as the original spells it (`the_lambda`, `icarl_T`; the host accepts the
    /// flags it lists in `cil run --help`) → the option it sets. Default: none.
    static var originalFlags: [String: String] { get }
    /// The name of the computation this baseline's phase 0 performs with `options`, or
    /// nil (the default) when it is the baseline's own. Two baselines that return the
    /// same name promise that, in one run setting, their phase 0 is the same
    /// computation: the same head and its initialisation (the same random draws), the
    /// same loss, the same `trainingPolicy` and the same `phaseDidEnd` for phase 0. A
    /// comparison then trains that phase 0 once and shares it between them (the host
    /// also checks every other setting of the two runs). LUCIR and the `manets`
    /// variant of iCaRL name theirs `cosine-head/softmax-cross-entropy`.
    static func phaseZeroRecipe(options: PluginOptions) -> String?

    /// A baseline configured with checked options for a run.
    init(options: PluginOptions, setting: RunSetting) throws

    /// The head for phase 0, scoring `classCount` classes from `featureDimension`-d features.
    func makeHead(featureDimension: Int, classCount: Int, rng: inout RandomGenerator) throws -> any ClassifierHead

    /// Phase-start work after the host expanded the head (e.g. imprint new rows).
    func phaseWillStart(_ context: PhaseStartContext) throws

    /// The loss of one training batch.
    func loss(_ batch: BatchContext) throws -> LossOutput

    /// Phase-end work (default: none).
    func phaseDidEnd(_ context: PhaseEndContext) throws

    /// Rules for the host's loop (default: none).
    var trainingPolicy: TrainingPolicy { get }
}

extension Baseline {
    public static var originalFlags: [String: String] { [:] }
    public static func phaseZeroRecipe(options: PluginOptions) -> String? { nil }
    public func phaseDidEnd(_ context: PhaseEndContext) throws {}
    public var trainingPolicy: TrainingPolicy { TrainingPolicy() }
}
