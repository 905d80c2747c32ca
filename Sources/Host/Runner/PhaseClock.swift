import CILSDK
import Foundation

/// Wall seconds of one phase, part by part (docs/PERFORMANCE.md, "Where the time goes", "In a run";
/// results.json `seconds_breakdown`).
///
/// The parts are disjoint: `measure(part) { ... }` counts the time inside it as `part`
/// except what nested `measure` calls count as theirs (each part's own, "self" time).
/// So the reference model's forward pass inside a training step is
/// `reference_forward` and not `training_steps`, and loading a batch inside herding
/// is `data_loading` and not `herding`. `other` is never measured: it is the phase's
/// total seconds minus every measured part, so the parts sum to the total.
///
/// The clock observes only; nothing it does changes what a run computes.
public final class PhaseClock: WorkTimer {
    /// The parts of a phase, by their results.json names.
    public enum Part: String, CaseIterable, Codable, Sendable {
        /// The network steps of the epochs (`TrainingStep.loss` and `.apply`: forward,
        /// loss, backward, update), without the reference forward and the data loading.
        case trainingSteps = "training_steps"
        /// The frozen reference model's forward pass over the training batches (phases
        /// after 0; timed by the SDK's `TrainingStep` through `WorkTimer`).
        case referenceForward = "reference_forward"
        /// The α steps on the balanced set after each epoch (dual runs that learn α).
        case alphaPass = "alpha_pass"
        /// The baseline's phase start (`phaseWillStart`: LUCIR's and PODNet's imprinting
        /// of the new classes' weights, with the feature pass it needs).
        case imprinting
        /// The baseline's phase end (`phaseDidEnd`: PODNet's balanced head finetuning).
        case headFinetuning = "head_finetuning"
        /// Herding the new classes' exemplars (the feature pass and the selection; again
        /// after a finetuning that moved the batch-norm statistics).
        case herding
        /// The NME class means: features of every seen class's exemplars and their flips.
        case classMeans = "class_means"
        /// The test images' forward pass and the CNN and NME accuracies.
        case evaluation
        /// Reading and transforming (augmenting, normalising) batches, wherever it happens.
        case dataLoading = "data_loading"
        /// Writing the in-progress checkpoint after each epoch.
        case checkpoints
        /// Everything else (the reference model's copy, the optimisers and balanced set,
        /// progress and events): the total minus the measured parts.
        case other
    }

    /// Seconds per measured part so far (never `.other`).
    private var measured: [Part: Double] = [:]
    /// The parts being measured, innermost last.
    private var open: [Part] = []
    /// When the innermost open part last started counting.
    private var mark: Double
    /// The time source, in seconds (monotonic).
    private let now: () -> Double

    /// A clock for a phase; `carrying` is the breakdown an interrupted attempt of the
    /// phase reached (its measured parts are counted on; its `other` is not, being
    /// recomputed from the total). `now` is the time source (tests pass their own).
    public init(carrying breakdown: [String: Double]? = nil, now: @escaping () -> Double = PhaseClock.monotonicSeconds) {
        self.now = now
        mark = now()
        for (name, value) in breakdown ?? [:] {
            if let part = Part(rawValue: name), part != .other, value.isFinite, value > 0 { measured[part] = value }
        }
    }

    /// Seconds since an arbitrary fixed point, from the monotonic clock.
    public static func monotonicSeconds() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds) * 1e-9
    }

    /// Runs `body`, counting its time, less that of nested measurements, as `part`.
    public func measure<T>(_ part: Part, _ body: () throws -> T) rethrows -> T {
        precondition(part != .other, "other is the remainder, not measured")
        enter(part)
        defer { leave() }
        return try body()
    }

    /// The SDK's timed work (`TrainingStep`'s reference forward) as its part.
    public func measure<T>(_ work: TimedWork, _ body: () throws -> T) rethrows -> T {
        switch work {
        case .referenceForward: return try measure(Part.referenceForward, body)
        }
    }

    private func enter(_ part: Part) {
        let t = now()
        if let outer = open.last { measured[outer, default: 0] += t - mark }
        mark = t
        open.append(part)
    }

    private func leave() {
        let t = now()
        measured[open.removeLast(), default: 0] += t - mark
        mark = t
    }

    /// Seconds of `part` so far (the running time of open measurements included;
    /// `.other` is 0 here, see `breakdown(total:)`).
    public func seconds(of part: Part) -> Double {
        var value = measured[part] ?? 0
        if let innermost = open.last, innermost == part { value += now() - mark }
        return value
    }

    /// Every part's seconds for a phase that took `total` seconds: the measured parts,
    /// and `other` = `total` minus their sum (never negative: the total and the parts
    /// come from two clocks, which may differ by microseconds). Parts never measured
    /// are 0.
    public func breakdown(total: Double) -> [String: Double] {
        var result: [String: Double] = [:]
        for part in Part.allCases where part != .other { result[part.rawValue] = seconds(of: part) }
        result[Part.other.rawValue] = max(0, total - result.values.reduce(0, +))
        return result
    }
}
