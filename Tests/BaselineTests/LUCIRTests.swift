// LUCIR (docs/ALGORITHMS.md §6.2), loaded from the built libCILPluginLUCIR.so: its loss
// against a direct float64 computation (values and gradients w.r.t. the current logits,
// features and unscaled cosines), in phase 0 and phase 1, and against the reference
// vectors 07_lucir.json through a CosineHead.

import CILSDK
import Foundation
import Testing

/// LUCIR's phase >= 1 loss written out in float64.
struct LUCIRReference {
    var classes: Int
    var old: Int
    var dimension: Int
    var targets: [Int]
    var lambda: Double
    var dist: Double
    var marginWeight: Double
    var hardNegatives: Int

    /// mean over the (hard sample, top-K new cosine) pairs of max(0, dist − (s_gt − s_neg)),
    /// or nil without an old-class sample.
    func marginRanking(_ s: [Double]) -> Double? {
        var hinges: [Double] = []
        for (b, y) in targets.enumerated() where y < old {
            let r = Array(Ref.row(s, b, classes))
            let negatives = r[old...].sorted(by: >)
            for j in 0..<min(hardNegatives, classes - old) { hinges.append(max(0, dist - (r[y] - negatives[j]))) }
        }
        return hinges.isEmpty ? nil : hinges.reduce(0, +) / Double(hinges.count)
    }

    func lessForget(_ f: [Double], _ previous: [Double]) -> Double {
        lambda * Ref.cosineEmbedding(f, previous, dimension: dimension)
    }

    func crossEntropy(_ logits: [Double]) -> Double { Ref.crossEntropy(logits, targets, classes: classes) }

    func total(logits: [Double], features: [Double], previous: [Double], cosines: [Double]) -> Double {
        crossEntropy(logits) + lessForget(features, previous) + marginWeight * (marginRanking(cosines) ?? 0)
    }
}

@Suite("LUCIR (built plugin)")
struct LUCIRTests {
    static let batch = 6, old = 4, new = 3, dimension = 5
    static var classes: Int { old + new }

    /// Unscaled cosines [6, 7] (old columns 0..<4, new 4..<7): rows 0, 2 and 4 are old-class
    /// samples with active and inactive hinges, all at least 0.1 away from a kink.
    static let cosines: [Float] = [
        0.9, 0.1, -0.2, 0.3, 0.2, 0.5, -0.1,
        0.3, -0.1, 0.2, 0.0, 0.7, 0.1, -0.2,
        0.0, 0.2, 0.3, -0.4, 0.6, -0.3, 0.45,
        -0.3, 0.4, 0.1, 0.2, 0.1, 0.8, 0.3,
        0.1, -0.2, 0.3, 0.95, -0.5, 0.2, 0.3,
        0.2, 0.2, -0.5, 0.1, -0.1, 0.3, 0.6,
    ]
    static let mixedTargets = [0, 5, 2, 4, 3, 6]

    struct Leaves {
        let logits: Tensor
        let features: Tensor
        let previousFeatures: Tensor
        let previousLogits: Tensor
        let cosines: Tensor
    }

    /// Independent leaves for every input of the loss (so each gets its own gradient);
    /// the previous model's tensors require a gradient too, to show that none arrives.
    static func leaves(seed: UInt64) -> Leaves {
        Leaves(logits: Tensor(shape: [batch, classes], randomValues(batch * classes, seed: seed, in: -3...3), requiresGrad: true),
               features: Tensor(shape: [batch, dimension], randomValues(batch * dimension, seed: seed + 1), requiresGrad: true),
               previousFeatures: Tensor(shape: [batch, dimension], randomValues(batch * dimension, seed: seed + 2), requiresGrad: true),
               previousLogits: Tensor(shape: [batch, old], randomValues(batch * old, seed: seed + 3), requiresGrad: true),
               cosines: Tensor(shape: [batch, classes], cosines, requiresGrad: true))
    }

    static func context(_ l: Leaves, targets: [Int], phase: Int, head: any ClassifierHead) -> BatchContext {
        let current = ModelOutputs(logits: l.logits, features: l.features, levelMaps: [], headExtras: ["cosines": l.cosines])
        let previous = phase == 0 ? nil
            : ModelOutputs(logits: l.previousLogits, features: l.previousFeatures, levelMaps: [])
        return BatchContext(phase: phase, classes: phase == 0 ? ClassCounts(old: 0, new: classes) : ClassCounts(old: old, new: new),
                            targets: targets, current: current, previous: previous, head: head)
    }

    static func head(_ baseline: any Baseline, phase: Int) throws -> any ClassifierHead {
        var rng = RandomGenerator(seed: 3)
        let head = try baseline.makeHead(featureDimension: dimension, classCount: phase == 0 ? classes : old, rng: &rng)
        if phase > 0 { head.expand(by: new, rng: &rng) }
        return head
    }

    @Test("loads from libCILPluginLUCIR.so: name, options, a CosineHead")
    func loads() throws {
        let type = try BuiltPlugins.lucir()
        #expect(type.info.name == "lucir")
        #expect(type.options.map(\.name) == ["lambda-base", "dist", "K", "lw-mr"])
        #expect(type.options.map(\.defaultValue) == ["auto", "0.5", "2", "1.0"])
        let lucir = try instantiate(type)
        var rng = RandomGenerator(seed: 1)
        let head = try lucir.makeHead(featureDimension: 8, classCount: 5, rng: &rng)
        let cosine = try #require(head as? CosineHead)
        #expect(cosine.classCount == 5 && cosine.featureDimension == 8 && cosine.sigma.scalars == [1])
    }

    @Test("phase 0: softmax cross-entropy alone")
    func phaseZero() throws {
        let lucir = try instantiate(try BuiltPlugins.lucir())
        let l = Self.leaves(seed: 10)
        let targets = [0, 5, 2, 4, 3, 6]
        let out = try lucir.loss(Self.context(l, targets: targets, phase: 0, head: try Self.head(lucir, phase: 0)))
        let logits = l.logits.scalars.map(Double.init)
        let ce = Ref.crossEntropy(logits, targets, classes: Self.classes)
        expectClose(out.total.item, ce, "CE")
        #expect(Set(out.components.keys) == ["ce"])
        expectClose(out.components["ce"], ce, "component ce")
        out.total.backward()
        expectClose(l.logits.grad, Ref.gradient(logits) { Ref.crossEntropy($0, targets, classes: Self.classes) }, "dCE/dlogits")
        #expect(l.features.grad == nil && l.cosines.grad == nil, "phase 0 uses only the logits")
    }

    /// λ·LF + CE + lw·MR against the float64 reference, values, components and gradients.
    private func checkPhaseOne(dataset: String, options: [String: String], targets: [Int], lambdaBase: Double,
                               dist: Double = 0.5, marginWeight: Double = 1, hardNegatives: Int = 2) throws {
        let lucir = try instantiate(try BuiltPlugins.lucir(), options: options, setting: runSetting(dataset: dataset))
        let l = Self.leaves(seed: 20)
        let out = try lucir.loss(Self.context(l, targets: targets, phase: 1, head: try Self.head(lucir, phase: 1)))
        let ref = LUCIRReference(classes: Self.classes, old: Self.old, dimension: Self.dimension, targets: targets,
                                 lambda: lambdaBase * (Double(Self.old) / Double(Self.new)).squareRoot(),
                                 dist: dist, marginWeight: marginWeight, hardNegatives: hardNegatives)
        let logits = l.logits.scalars.map(Double.init), features = l.features.scalars.map(Double.init)
        let previous = l.previousFeatures.scalars.map(Double.init), cosines = l.cosines.scalars.map(Double.init)
        let mr = ref.marginRanking(cosines)
        let total = ref.total(logits: logits, features: features, previous: previous, cosines: cosines)

        expectClose(out.total.item, total, "total")
        #expect(Set(out.components.keys) == ["ce", "less_forget", "lambda", "margin_ranking"])
        expectClose(out.components["lambda"], ref.lambda, rtol: 1e-6, atol: 0, "λ_cur = λ_base·√(old/new)")
        expectClose(out.components["ce"], ref.crossEntropy(logits), "component ce")
        expectClose(out.components["less_forget"], ref.lessForget(features, previous), "component less_forget (λ applied)")
        expectClose(out.components["margin_ranking"], marginWeight * (mr ?? 0), "component margin_ranking (lw_mr applied)")

        out.total.backward()
        expectClose(l.logits.grad, Ref.gradient(logits) { ref.crossEntropy($0) }, "d/dlogits")
        expectClose(l.features.grad, Ref.gradient(features) { ref.lessForget($0, previous) }, "d/dfeatures")
        if mr != nil {
            expectClose(l.cosines.grad, Ref.gradient(cosines) { marginWeight * (ref.marginRanking($0) ?? 0) },
                        "d/dcosines (margin ranking)")
        } else {
            #expect(l.cosines.grad == nil, "no old-class sample: the margin ranking contributes nothing")
        }
        #expect(l.previousFeatures.grad == nil && l.previousLogits.grad == nil, "the previous model is a constant")
    }

    @Test("phase 1: λ_base by dataset (5 on cifar100, 10 on imagefolder), less-forget, CE, margin ranking",
          arguments: [("cifar100", 5.0), ("imagefolder", 10.0), ("synthetic", 5.0)])
    func phaseOneByDataset(dataset: String, lambdaBase: Double) throws {
        try checkPhaseOne(dataset: dataset, options: [:], targets: Self.mixedTargets, lambdaBase: lambdaBase)
    }

    @Test("phase 1 with options: lambda-base, dist, lw-mr, K (K above the new classes takes them all)",
          arguments: [1, 2, 5])
    func phaseOneOptions(k: Int) throws {
        try checkPhaseOne(dataset: "imagefolder",
                          options: ["lambda-base": "7.5", "dist": "0.3", "lw-mr": "2", "K": String(k)],
                          targets: Self.mixedTargets, lambdaBase: 7.5, dist: 0.3, marginWeight: 2, hardNegatives: k)
    }

    @Test("phase 1 without an old-class sample: margin ranking 0, no gradient to the cosines")
    func phaseOneNoOldClass() throws {
        try checkPhaseOne(dataset: "cifar100", options: [:], targets: [4, 5, 6, 4, 6, 5], lambdaBase: 5)
    }

    @Test("phase 1 without the head's unscaled cosines: an error naming the plugin")
    func missingCosines() throws {
        let lucir = try instantiate(try BuiltPlugins.lucir())
        let l = Self.leaves(seed: 30)
        var batch = Self.context(l, targets: Self.mixedTargets, phase: 1, head: try Self.head(lucir, phase: 1))
        batch.current.headExtras = [:]
        #expect {
            _ = try lucir.loss(batch)
        } throws: { error in
            guard case PluginError.failed(plugin: "lucir", reason: let reason)? = error as? PluginError else { return false }
            return reason.contains("cosines")
        }
    }

    /// 07_lucir.json's end-to-end totals through the plugin and a CosineHead holding the
    /// vector's fc1/fc2/σ. The vector's λ is 5·√(50/10) (CIFAR phase 1) while its head
    /// has 5 old and 3 new classes, so λ_base is set to the_lambda/√(5/3) (option
    /// lambda-base) for λ_cur to equal the vector's λ.
    @Test("07_lucir total_mixed_batch / total_no_old_class through the plugin",
          arguments: ["total_mixed_batch", "total_no_old_class"])
    func vector07(caseName: String) throws {
        let c = try RefVectors.load("07_lucir.json", caseName)
        let tol = (rtol: c.rtol, atol: c.atol)
        let features = try c.input("features").tensor(requiresGrad: true)
        let reference = try c.input("ref_features").tensor(requiresGrad: true)
        let w1 = try c.input("fc1_weight"), w2 = try c.input("fc2_weight")
        let targets = try c.input("targets").ints
        let old = Int(try c.param("num_old_classes"))
        #expect(old == 5 && w1.shape == [5, 8] && w2.shape == [3, 8])

        var rng = RandomGenerator(seed: 5)
        let head = CosineHead(featureDimension: 8, classCount: old, rng: &rng)
        head.expand(by: w2.shape[0], rng: &rng)
        let oldWeight = try #require(head.oldWeight)
        overwrite(oldWeight, with: w1.values)
        overwrite(head.newWeight, with: w2.values)
        overwrite(head.sigma, with: try c.input("sigma").values)
        // fc1 is frozen in training; let it receive a gradient here to compare with the vector's.
        oldWeight.requiresGrad = true
        let forward = head.forward(features)
        expectClose(forward.logits, try c.output("logits").values, rtol: tol.rtol, atol: tol.atol, c.label("logits"))

        let theLambda = try c.param("the_lambda")
        let lambdaBase = Float(Double(theLambda) / (5.0 / 3.0).squareRoot())
        let lucir = try instantiate(try BuiltPlugins.lucir(), options: [
            "lambda-base": "\(lambdaBase)", "K": "\(Int(try c.param("K")))",
            "dist": "\(try c.param("dist"))", "lw-mr": "\(try c.param("lw_mr"))",
        ])
        let batch = BatchContext(
            phase: 1, classes: ClassCounts(old: old, new: 3), targets: targets,
            current: ModelOutputs(logits: forward.logits, features: features, levelMaps: [], headExtras: forward.extras),
            previous: ModelOutputs(logits: Tensor.zeros([targets.count, old]), features: reference, levelMaps: []),
            head: head)
        let out = try lucir.loss(batch)
        expectClose([out.components["lambda"] ?? .nan], [theLambda], rtol: 1e-6, atol: 0, c.label("λ_cur"))
        expectClose(out.total, try c.output("loss").values, rtol: tol.rtol, atol: tol.atol, c.label("loss"))
        for (component, key) in [("less_forget", "loss_lf"), ("ce", "loss_ce"), ("margin_ranking", "loss_mr")] {
            expectClose([out.components[component] ?? .nan], try c.output(key).values, rtol: tol.rtol, atol: tol.atol,
                        c.label(key))
        }
        let upstream = try c.upstream("loss")
        out.total.backward(Tensor(shape: out.total.shape, upstream.values))
        expectClose(features.grad, try c.grad("features").values, rtol: tol.rtol, atol: tol.atol, c.label("grad features"))
        expectClose(oldWeight.grad, try c.grad("fc1_weight").values, rtol: tol.rtol, atol: tol.atol, c.label("grad fc1_weight"))
        expectClose(head.newWeight.grad, try c.grad("fc2_weight").values, rtol: tol.rtol, atol: tol.atol,
                    c.label("grad fc2_weight"))
        expectClose(head.sigma.grad, try c.grad("sigma").values, rtol: tol.rtol, atol: tol.atol, c.label("grad sigma"))
        #expect(reference.grad == nil, "ref_features are detached")
    }
}
