import CILSDK
import Foundation

/// Epoch-level resumption: after every epoch a run writes
/// `checkpoints/phase-P-in-progress.ckpt` (the network, the momentum of the network's
/// and α's optimizers, the phase's batch generator, α so far, the elapsed time and its
/// breakdown by part); a
/// run stopped inside phase P rebuilds the phase's start and continues after the
/// saved epoch, computing exactly what an uninterrupted run does.
extension IncrementalRun {
    /// The in-progress checkpoint of phase `p`, if one exists and verifies. One that
    /// does not verify is ignored with a notice (the phase then starts from its
    /// beginning: only time is lost); one of another configuration is refused.
    func inProgressCheckpoint(phase p: Int) throws -> Checkpoint? {
        let url = directory.inProgressURL(phase: p)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let checkpoint: Checkpoint
        do {
            checkpoint = try Checkpoint.load(from: url)
            guard checkpoint.header.phase == p, checkpoint.header.inProgress != nil else {
                throw RunError.checkpoint("\(url.path) holds \(checkpoint.header.inProgress == nil ? "a finished" : "an unfinished") phase \(checkpoint.header.phase), not unfinished phase \(p)")
            }
        } catch {
            progress.note("ignoring \(error); phase \(p) starts from its beginning")
            directory.log(["event": "in_progress_ignored", "phase": p, "reason": "\(error)"])
            return nil
        }
        guard checkpoint.header.configuration == config else {
            throw RunError.checkpoint("checkpoint \(url.path) was written by another configuration")
        }
        return checkpoint
    }

    /// What the epochs (`trainEpochs`) need to write (and resume from) in-progress checkpoints.
    struct InProgressState {
        /// The results of the finished phases (stored in each in-progress file).
        var results: [PhaseResult]
        /// When the phase started (moved back by the time an interrupted attempt had spent).
        var startedAt: Date
        /// The checkpoint to resume from, if any.
        var resume: Checkpoint?
    }

    /// Name prefixes of the optimizer state stored in in-progress checkpoints.
    static let momentumPrefix = "momentum:", alphaMomentumPrefix = "alpha-momentum:"

    /// Saves the state of phase `p` after `epochsDone` epochs. A failed write (a full
    /// disk) does not stop the run: it is noted and training goes on, and a resume
    /// starts from the last in-progress file that was written, or the phase's start.
    func saveInProgress(phase p: Int, epochsDone: Int, network: AggregatedNetwork, memory: ExemplarMemory,
                        sgd: SGD, alphaLearner: AlphaLearner?, generator: RandomGenerator, alphaTrace: [[Float]],
                        state: InProgressState) {
        let parameters = network.namedParameters()
        var extra: [(String, Tensor)] = parameters.compactMap { name, t in
            sgd.momentumBuffer(of: t).map { (Self.momentumPrefix + name, $0) }
        }
        if let alphaLearner {
            for (i, a) in network.alphas.enumerated() {
                if let buffer = alphaLearner.optimizer.momentumBuffer(of: a) { extra.append((Self.alphaMomentumPrefix + "alpha.\(i)", buffer)) }
            }
        }
        let seconds = Date().timeIntervalSince(state.startedAt)
        let inProgress = Checkpoint.InProgress(
            epochsDone: epochsDone, generator: generator.state, alphaTrace: alphaTrace, seconds: seconds,
            parametersWithGradient: parameters.filter { $0.1.grad != nil }.map(\.0),
            secondsBreakdown: clock.breakdown(total: seconds))
        let checkpoint = Checkpoint(phase: p, configuration: config, network: network, memory: memory, results: state.results,
                                    inProgress: inProgress, extra: extra)
        do {
            try writeAtomically(try checkpoint.encoded(), to: directory.inProgressURL(phase: p))
        } catch {
            progress.note("could not save phase \(p) after epoch \(epochsDone) (\(error)); training goes on")
            directory.log(["event": "in_progress_not_saved", "phase": p, "epoch": epochsDone, "reason": "\(error)"])
        }
    }

    /// Restores an in-progress checkpoint into the phase's network and optimizers
    /// (built as at the phase's start); returns where the phase stood.
    func restoreInProgress(_ checkpoint: Checkpoint, network: AggregatedNetwork, sgd: SGD,
                           alphaLearner: AlphaLearner?) throws -> Checkpoint.InProgress {
        let file = directory.inProgressURL(phase: checkpoint.header.phase).path
        guard let state = checkpoint.header.inProgress else { throw RunError.checkpoint("checkpoint \(file) is not in progress") }
        try checkpoint.restore(into: network, file: file)
        let withGradient = Set(state.parametersWithGradient)
        // α's gradient (accumulated across steps in faithful mode) came back with the network.
        let alphas = Set(network.alphas.map(ObjectIdentifier.init))
        for (name, t) in network.namedParameters() where !alphas.contains(ObjectIdentifier(t)) {
            let buffer = checkpoint.tensor(named: Self.momentumPrefix + name)
            if let buffer, buffer.shape != t.shape {
                throw RunError.checkpoint("checkpoint \(file): momentum of \(name) has shape \(buffer.shape), the parameter \(t.shape)")
            }
            sgd.setMomentumBuffer(buffer, of: t)
            t.grad = withGradient.contains(name) ? Tensor.zeros(t.shape) : nil
        }
        if let alphaLearner {
            for (i, a) in network.alphas.enumerated() {
                let buffer = checkpoint.tensor(named: Self.alphaMomentumPrefix + "alpha.\(i)")
                if let buffer, buffer.shape != a.shape {
                    throw RunError.checkpoint("checkpoint \(file): momentum of alpha.\(i) has shape \(buffer.shape), α \(a.shape)")
                }
                alphaLearner.optimizer.setMomentumBuffer(buffer, of: a)
            }
        }
        return state
    }
}
