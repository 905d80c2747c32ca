import CILSDK
import Testing

/// `TrainingStep`'s `WorkTimer` (the host's per-phase time breakdown) only observes: on
/// the phase-1 lock-step set-up (LUCIR on MANets, against its frozen reference model),
/// steps with a timer compute bit for bit what steps without one do, and the timer is
/// asked to time exactly the reference forward pass of every step.
@Suite("TrainingStep: the reference forward's timer")
struct TrainingStepTimerTests {
    /// Records what it is asked to time and runs it.
    final class Recorder: WorkTimer {
        var timed: [TimedWork] = []
        func measure<T>(_ work: TimedWork, _ body: () throws -> T) rethrows -> T {
            timed.append(work)
            return try body()
        }
    }

    @Test func aTimedStepComputesWhatAnUntimedStepDoes() throws {
        let recorded = Array((try LockStep.json("lucir_manets.json")["training_steps"] as! [[String: Any]]).prefix(3))
        let recorder = Recorder()
        var runs: [[Float]] = []
        for timer in [nil, recorder] as [Recorder?] {
            let setup = try PhaseOneLockStepTests.Setup(baseline: BuiltPlugins.lucir())
            let groups = OptimizerGroups.make(for: setup.network, learningRate: 0.1, weightDecay: 5e-4, mode: .faithful)
            let step = TrainingStep(network: setup.network, reference: setup.reference, optimizer: SGD(groups: groups), timer: timer)
            setup.network.setTraining(true)
            var values: [Float] = []
            for batch in recorded {
                let loss = try step.loss(images: setup.pool.trainBatch(of: batch), targets: LockStep.ints(batch["labels"]),
                                         phase: 1, classes: setup.classes) { try setup.baseline.loss($0) }
                values.append(loss.total.item)
                step.apply(loss)
            }
            runs.append(values + setup.network.namedParameters().flatMap { $0.1.scalars } + setup.network.alphas.map { $0.grad?.item ?? 0 })
        }
        #expect(runs[0].count > 1000)
        #expect(runs[0].map(\.bitPattern) == runs[1].map(\.bitPattern))
        #expect(recorder.timed == Array(repeating: .referenceForward, count: recorded.count))
    }
}
