import CILSDK
import Foundation
import Testing

/// Phase 1 on MANets in lock-step with the original code (Tests/Vectors/lockstep,
/// cases 2 and 3): from the original's phase-0 state, the phase-1 structure as a run
/// builds it (the frozen reference model, 5 new head rows, `ss` stable and `free`
/// plastic branches), imprinting, 10 training steps with the baseline's loss against
/// the reference model, then 5 α steps on balanced batches; LUCIR with the original
/// LUCIR trainer's never-zeroed α gradient, iCaRL with α's gradient zeroed before
/// every α step. α's learning rate is 1e-3 so that α moves measurably.
///
/// Set-up, imprinting and the first forward are compared at float32 rounding; the
/// trajectory with the vectors' `suggested_atol` (see PhaseZeroLockStepTests).
@Suite("Lock-step with the original code: phase 1 on MANets")
struct PhaseOneLockStepTests {
    /// The phase-1 state of one case.
    struct Setup {
        let pool: LockStep.Pool
        let baseline: any Baseline
        let network: AggregatedNetwork
        let reference: AggregatedNetwork
        let classes = ClassCounts(old: 10, new: 5)

        init(baseline type: any Baseline.Type) throws {
            pool = try LockStep.Pool()
            baseline = try instantiate(type, setting: runSetting(dataset: "cifar100", classesPerPhase: [10, 5]))
            network = try LockStep.phaseZeroNetwork(baseline, file: "phase0_final.safetensors", branchMode: .dual)
            reference = network.frozenCopy()
            var rng = RandomGenerator(seed: 2)
            network.head.expand(by: 5, rng: &rng)
            try network.deriveBranches(stable: try BuiltPlugins.branchType("ss", library: "ScaleShift"),
                                       plastic: try BuiltPlugins.branchType("free", library: "Free"), rng: &rng)
            let (network, pool) = (network, pool)
            try baseline.phaseWillStart(PhaseStartContext(
                phase: 1, classes: classes, head: network.head,
                trainingFeatures: { label in LockStep.features(network, pool, Array((label * 20)..<(label * 20 + 20))) },
                seed: 1))
        }

        func step() -> (TrainingStep, [ParameterGroup]) {
            let groups = OptimizerGroups.make(for: network, learningRate: 0.1, weightDecay: 5e-4, mode: .faithful)
            return (TrainingStep(network: network, reference: reference, optimizer: SGD(groups: groups)), groups)
        }
    }

    @Test(arguments: ["lucir_manets.json", "icarl_manets.json"])
    func setUpImprintingAndFirstForward(_ file: String) throws {
        let setup = try Setup(baseline: file.hasPrefix("lucir") ? BuiltPlugins.lucir() : BuiltPlugins.icarl())
        let vectors = try LockStep.json(file)
        #expect(setup.network.alphas.map(\.item) == LockStep.floats((vectors["setup"] as! [String: Any])["alpha_init"]))
        let imprint = try LockStep.file("phase1_imprint.safetensors")
        let features = LockStep.features(setup.network, setup.pool, try imprint.int64s("pool_indices").map(Int.init))
        let featureError = LockStep.scaledError(features.scalars, try imprint.floats("features"))
        #expect(featureError < 2e-5, "aggregated features for imprinting differ by \(featureError)")
        let fc2 = try LockStep.tensor(setup.network, "b1_model.fc.fc2.weight").scalars
        let fc2Error = LockStep.scaledError(fc2, try imprint.floats("fc.fc2.weight"))
        #expect(fc2Error < 2e-5, "imprinted rows differ by \(fc2Error)")

        let first = try LockStep.file("phase1_step1.safetensors")
        let batch = setup.pool.trainBatch(of: (vectors["training_steps"] as! [[String: Any]])[0])
        setup.network.setTraining(true)
        let current = withNoGrad { setup.network.forward(batch) }
        let previous = withNoGrad { setup.reference.forward(batch) }
        let cosines = try #require(current.headExtras["cosines"], "the cosine head gives no cosines").scalars
        let expectedCosines = zip(try first.floats("cos_old").chunks(10), try first.floats("cos_new").chunks(5)).flatMap { $0 + $1 }
        for (name, mine, theirs) in [("logits", current.logits.scalars, try first.floats("logits")),
                                     ("features", current.features.scalars, try first.floats("features")),
                                     ("ref_logits", previous.logits.scalars, try first.floats("ref_logits")),
                                     ("ref_features", previous.features.scalars, try first.floats("ref_features")),
                                     ("cosines", cosines, expectedCosines)] {
            let error = LockStep.scaledError(mine, theirs)
            #expect(error < 2e-5, "first phase-1 forward: \(name) differs by \(error)")
        }
    }

    /// Every value a case records, from one cil run of it: "step/key" → values per
    /// level, and the end state of the tensors the vectors keep (name → values,
    /// with their values at the start of the phase under "start:name").
    func trajectory(_ vectors: [String: Any], baseline type: any Baseline.Type, policy: AlphaGradientPolicy,
                    terms: [String: String], perturbation: UInt64?) throws -> [String: [Float]] {
        let setup = try Setup(baseline: type)
        if let seed = perturbation { LockStep.perturb(setup.network, seed: seed) }
        let (step, _) = setup.step()
        let learner = AlphaLearner(network: setup.network, learningRate: 1e-3, policy: policy)
        let final = try LockStep.file((vectors["files"] as! [String: Any])["final"] as! String)
        var values: [String: [Float]] = [:]
        for name in final.names where name != "fusion_vars" && !name.hasSuffix("num_batches_tracked") {
            values["start:" + name] = try LockStep.tensor(setup.network, Self.cilName(name)).scalars
        }
        setup.network.setTraining(true)
        for recorded in vectors["training_steps"] as! [[String: Any]] {
            let at = "training step \(recorded["step"]!)/"
            let loss = try step.loss(images: setup.pool.trainBatch(of: recorded), targets: LockStep.ints(recorded["labels"]),
                                     phase: 1, classes: setup.classes) { try setup.baseline.loss($0) }
            values[at + "loss_total"] = [loss.total.item]
            for (theirs, mine) in terms { values[at + theirs] = [try #require(loss.components[mine])] }
            step.apply(loss)
            values[at + "sigma_after"] = [try LockStep.tensor(setup.network, "b1_model.fc.sigma").item]
            values[at + "alpha_after"] = setup.network.alphas.map(\.item)
            values[at + "alpha_grad_after"] = setup.network.alphas.map { $0.grad?.item ?? 0 }
        }
        for recorded in vectors["alpha_steps"] as! [[String: Any]] {
            let at = "α step \(recorded["step"]!)/"
            values[at + "loss_ce"] = [learner.step(images: setup.pool.trainBatch(of: recorded), labels: LockStep.ints(recorded["labels"]))]
            values[at + "alpha_after"] = learner.values
        }
        for name in final.names where name != "fusion_vars" && !name.hasSuffix("num_batches_tracked") {
            values["end:" + name] = try LockStep.tensor(setup.network, Self.cilName(name)).scalars
        }
        return values
    }

    /// cil's state-dict name of a kept tensor (`b1.x` → `b1_model.x`).
    static func cilName(_ name: String) -> String { (name.hasPrefix("b1.") ? "b1_model." : "b2_model.") + name.dropFirst(3) }

    /// The 10 training steps and 5 α steps of one case; `terms` maps the vectors'
    /// loss names to the baseline's loss components.
    ///
    /// Tolerance of a value v after step t: |v − v_float64| and |v − v_original| at
    /// most 2·atol_t + 2·|v − v'|, where atol_t is the vectors' bound (4 × the
    /// original's own float32-vs-float64 gap up to t) and v' the same value from a
    /// cil run whose start was moved by one float32 rounding step per tensor: the
    /// spread float32 rounding alone causes in cil by step t. The α-step arithmetic,
    /// imprinting and the first forward are checked tightly elsewhere.
    func followTheOriginal(_ file: String, baseline type: any Baseline.Type, policy: AlphaGradientPolicy,
                           terms: [String: String]) throws {
        let vectors = try LockStep.json(file)
        let mine = try trajectory(vectors, baseline: type, policy: policy, terms: terms, perturbation: nil)
        let nudged = try trajectory(vectors, baseline: type, policy: policy, terms: terms, perturbation: 7)
        let keys = ["loss_total", "sigma_after", "alpha_after", "alpha_grad_after"] + Array(terms.keys)
        for (kind, list) in [("training step", vectors["training_steps"]), ("α step", vectors["alpha_steps"])] {
            for recorded in list as! [[String: Any]] {
                let at = "\(kind) \(recorded["step"]!)/"
                let atols = recorded["suggested_atol"] as! [String: Any]
                let checked = (kind == "α step" ? ["loss_ce", "alpha_after"] : keys).filter { atols[$0] != nil }
                #expect(checked.count >= 2, "\(file) \(at): the vectors bound only \(checked)")
                for key in checked {
                    let atol = Double(LockStep.float(atols[key]))
                    let theirs = recorded[key] is NSNumber ? [LockStep.float(recorded[key])] : LockStep.floats(recorded[key])
                    let exact = (recorded["float64_run"] as! [String: Any])[key]
                    let exacts = exact is NSNumber ? [(exact as! NSNumber).doubleValue] : (exact as! [NSNumber]).map(\.doubleValue)
                    let values = mine[at + key]!, spread = nudged[at + key]!
                    for k in values.indices {
                        let bound = 2 * atol + 2 * Double(abs(values[k] - spread[k]))
                        #expect(abs(Double(values[k]) - exacts[k]) <= bound,
                                "\(file) \(at)\(key)[\(k)]: \(values[k]), float64 run \(exacts[k]) ± \(bound)")
                        #expect(Double(abs(values[k] - theirs[k])) <= bound,
                                "\(file) \(at)\(key)[\(k)]: \(values[k]), original \(theirs[k]) ± \(bound)")
                    }
                }
                if kind == "training step" {
                    // α is only stepped in α steps.
                    #expect(mine[at + "alpha_after"]! == LockStep.floats(recorded["alpha_after"]))
                }
            }
        }
        // The end state: the phase's change of the kept tensors, taken together, is as
        // close to the original's as float32 rounding alone lets two cil runs be.
        let final = try LockStep.file((vectors["files"] as! [String: Any])["final"] as! String)
        let kept = final.names.filter { $0 != "fusion_vars" && !$0.hasSuffix("num_batches_tracked") }
        for (what, names) in [("parameters", kept.filter { !$0.contains("running_") }),
                              ("running statistics", kept.filter { $0.contains("running_") })] {
            let start = { (name: String) in mine["start:" + name]! }
            let error = try LockStep.changeError(names, mine: { mine["end:" + $0]! }, theirs: { try final.floats($0) }, start: start)
            let spread = try LockStep.changeError(names, mine: { nudged["end:" + $0]! }, theirs: { mine["end:" + $0]! }, start: start)
            #expect(error <= 2 * spread + 0.02,
                    "\(file): the phase's change of the \(what) is \(error) from the original's; rounding alone: \(spread)")
        }
    }

    @Test func lucirOnMANetsFollowsTheOriginalTrainer() throws {
        try followTheOriginal("lucir_manets.json", baseline: BuiltPlugins.lucir(), policy: .accumulate,
                              terms: ["loss_ce": "ce", "loss_lf": "less_forget", "loss_mr": "margin_ranking"])
    }

    @Test func icarlOnMANetsFollowsTheOriginalTrainer() throws {
        try followTheOriginal("icarl_manets.json", baseline: BuiltPlugins.icarl(), policy: .zeroPerStep,
                              terms: ["loss_ce": "ce", "loss_kd": "kd"])
    }
}

extension Array {
    /// Consecutive slices of `size` elements.
    func chunks(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
