/// Times named parts of the work an SDK type does on its caller's behalf, apart from
/// the work around them. The host's per-phase wall-time breakdown (docs/PERFORMANCE.md,
/// "In a run") gives one to `TrainingStep`, which times the frozen
/// reference model's forward pass through it; the host counts that time as the part's
/// and not as the training step's.
///
/// A timer only observes: it must not change what `body` computes, so a run with a
/// timer is bit-identical to one without.
public protocol WorkTimer: AnyObject {
    /// Runs `body` and returns its result, counting its wall time as `work`.
    func measure<T>(_ work: TimedWork, _ body: () throws -> T) rethrows -> T
}

/// The parts of its work an SDK type times through a `WorkTimer`.
public enum TimedWork: String, Sendable, CaseIterable {
    /// The frozen reference model's forward pass over a training batch (no gradient),
    /// in `TrainingStep.loss`.
    case referenceForward = "reference_forward"
}
