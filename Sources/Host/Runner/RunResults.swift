import CILSDK
import Foundation

/// The metrics of one finished phase (accuracies are fractions in [0, 1]).
struct PhaseResult: Codable, Equatable {
    var phase: Int
    var classes_seen: Int
    /// Top-1 of the head's argmax over all seen classes, on the test images of all seen classes.
    var acc_cnn: Double
    /// Top-1 of the nearest exemplar mean, same images.
    var acc_nme: Double
    /// The same two on the test images of the phase-0 classes only.
    var acc_cnn_base: Double
    var acc_nme_base: Double
    /// α per level at the end of the phase (empty in phase 0 / single mode has 1s).
    var alpha: [Float]
    /// α per level after every epoch of the phase.
    var alpha_per_epoch: [[Float]]
    /// Wall-clock seconds of the phase (training, exemplars, evaluation).
    var seconds: Double
    /// Exemplars kept per class after the phase.
    var exemplars_per_class: Int
    /// `seconds` by part of the phase (`PhaseClock.Part`: training steps, the reference
    /// forward, the α pass, imprinting, head finetuning, herding, class means,
    /// evaluation, data loading, checkpoints, other); the parts are disjoint and sum to
    /// `seconds`. Absent from files of older cil versions.
    var seconds_breakdown: [String: Double]? = nil
}

/// `results.json`: the configuration and per-phase metrics of a run.
struct RunResults: Codable {
    var config: RunConfiguration
    var phases: [PhaseResult]
    /// Mean over all phases, phase 0 included, of `acc_cnn` (docs/ALGORITHMS.md §7).
    var avg_inc_acc_cnn: Double
    var avg_inc_acc_nme: Double
    /// `acc_cnn_base` after phase 0 minus at the last phase.
    var forgetting_cnn: Double
    var forgetting_nme: Double
    /// Every time a level's α left [0, 1] (empty when it never did; absent from
    /// files of older cil versions).
    var alpha_outside_unit_interval: [AlphaExcursion]?
    /// Whether every phase of the protocol finished.
    var complete: Bool
    var cil_version: String
    var blas_core: String

    init(config: RunConfiguration, phases: [PhaseResult], totalPhases: Int) {
        self.config = config
        self.phases = phases
        let n = Double(max(phases.count, 1))
        avg_inc_acc_cnn = phases.map(\.acc_cnn).reduce(0, +) / n
        avg_inc_acc_nme = phases.map(\.acc_nme).reduce(0, +) / n
        forgetting_cnn = (phases.first?.acc_cnn_base ?? 0) - (phases.last?.acc_cnn_base ?? 0)
        forgetting_nme = (phases.first?.acc_nme_base ?? 0) - (phases.last?.acc_nme_base ?? 0)
        alpha_outside_unit_interval = AlphaExcursion.all(in: phases)
        complete = phases.count == totalPhases
        cil_version = CIL.version
        blas_core = BLAS.coreName
    }
}
