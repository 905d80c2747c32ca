import CILSDK

extension IncrementalRun {
    /// Step 2 of a phase: the baseline's phase-start work (e.g. imprinting the new
    /// classes' rows, docs/ALGORITHMS.md §2.4) on the network before training; its time
    /// is the phase's `imprinting`.
    func startPhase(_ data: PhaseData, network: AggregatedNetwork) throws {
        let p = data.phase
        try clock.measure(.imprinting) {
            try PluginCrashReport.during(.init(pluginNames.baseline, in: "its phase start (phase \(p))")) {
                try baseline.phaseWillStart(PhaseStartContext(
                    phase: p, classes: data.counts, head: network.head,
                    trainingFeatures: { label in try self.trainingFeatures(of: network, label: label) },
                    seed: config.trainSeed &+ UInt64(p)))
            }
        }
    }
}
