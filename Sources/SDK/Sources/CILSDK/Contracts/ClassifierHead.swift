/// What a head computes for a batch of pooled features [B, D].
public struct HeadOutput {
    /// Scores over every class seen so far, [B, C]; argmax is the CNN prediction and
    /// softmax cross-entropy is taken on these.
    public var logits: Tensor
    /// Head-specific intermediates by name, e.g. "cosines" (the unscaled cosines of a
    /// cosine head, [B, C], which LUCIR's margin ranking uses).
    public var extras: [String: Tensor]

    public init(logits: Tensor, extras: [String: Tensor] = [:]) {
        self.logits = logits
        self.extras = extras
    }
}

/// How a head parameter trains from phase 1 on (docs/ALGORITHMS.md §2.3).
public enum HeadParameterRole: String, Sendable {
    /// Rows of classes from earlier phases: frozen (learning rate 0, decay 0).
    case oldClasses
    /// Rows of this phase's classes: train with the stable branch's group.
    case newClasses
    /// Shared scalars such as the cosine scale σ: train with the stable branch's group.
    case shared
}

/// A classifier over pooled features, grown by a number of classes each phase.
/// Baselines create one (`Baseline.makeHead`) and may implement their own.
public protocol ClassifierHead: Layer {
    /// Input feature dimension D.
    var featureDimension: Int { get }
    /// Number of classes it scores (columns of `logits`).
    var classCount: Int { get }
    /// Scores features [B, D].
    func forward(_ features: Tensor) -> HeadOutput
    /// Adds `count` classes at the end (new rows initialised by the head; a baseline
    /// may overwrite them, e.g. by imprinting). Rows of existing classes become
    /// `.oldClasses`.
    func expand(by count: Int, rng: inout RandomGenerator)
    /// Every parameter with its role in the optimizer.
    var parameterRoles: [(tensor: Tensor, role: HeadParameterRole)] { get }
    /// A deep copy (for the frozen previous-phase model).
    func cloned() -> any ClassifierHead
}
