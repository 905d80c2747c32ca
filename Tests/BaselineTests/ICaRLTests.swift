// iCaRL, loaded from the built libCILPluginICaRL.so: the `manets` variant (cosine head,
// CE + T²·β·C_old·KL_mean) against 06_ce_icarl_kd.json and a direct float64
// computation; the `classic` variant (linear head, sigmoid BCE with distillation
// targets) against a direct float64 computation.

import CILSDK
import Foundation
import Testing

@Suite("iCaRL (built plugin)")
struct ICaRLTests {
    static func icarl(_ options: [String: String] = [:]) throws -> any Baseline {
        try instantiate(try BuiltPlugins.icarl(), options: options)
    }

    static func head(_ baseline: any Baseline, classes: Int) throws -> any ClassifierHead {
        var rng = RandomGenerator(seed: 4)
        return try baseline.makeHead(featureDimension: 6, classCount: classes, rng: &rng)
    }

    static func batch(logits: Tensor, previousLogits: Tensor?, targets: [Int], old: Int, head: any ClassifierHead) -> BatchContext {
        let b = logits.shape[0], c = logits.shape[1]
        return BatchContext(
            phase: previousLogits == nil ? 0 : 1, classes: ClassCounts(old: old, new: c - old), targets: targets,
            current: ModelOutputs(logits: logits, features: Tensor(shape: [b, 6], randomValues(b * 6, seed: 99)),
                                  levelMaps: []),
            previous: previousLogits.map {
                ModelOutputs(logits: $0, features: Tensor(shape: [b, 6], randomValues(b * 6, seed: 98)), levelMaps: [])
            },
            head: head)
    }

    @Test("loads from libCILPluginICaRL.so; manets makes a CosineHead, classic a LinearHead")
    func heads() throws {
        let type = try BuiltPlugins.icarl()
        #expect(type.info.name == "icarl")
        #expect(type.options.map(\.name) == ["variant", "T", "beta"])
        #expect(type.options.first?.choices == ["manets", "classic"] && type.options.first?.defaultValue == "manets")
        let manets = try Self.head(try Self.icarl(), classes: 5)
        #expect(manets is CosineHead && manets.classCount == 5)
        let explicit = try Self.head(try Self.icarl(["variant": "manets"]), classes: 5)
        #expect(explicit is CosineHead)
        let classic = try Self.head(try Self.icarl(["variant": "classic"]), classes: 5)
        #expect(classic is LinearHead && classic.classCount == 5 && classic.featureDimension == 6)
    }

    /// Direct float64 iCaRL-MANets loss: CE over all classes + T²·β·(1/B)·Σ_b KL(q_b ‖ p_b),
    /// q = softmax(z_old/T), p = softmax(z[:, :C_old]/T).
    static func manetsReference(_ z: [Double], _ zOld: [Double], targets: [Int], classes c: Int, old: Int,
                                t: Double, beta: Double) -> (ce: Double, kd: Double) {
        let b = targets.count
        var kl = 0.0
        for r in 0..<b {
            let student = Ref.row(z, r, c).prefix(old).map { $0 / t }
            let teacher = Ref.row(zOld, r, old).map { $0 / t }
            let ls = Ref.logSumExp(student), lt = Ref.logSumExp(teacher)
            for j in 0..<old {
                let logQ = teacher[j] - lt, logP = student[j] - ls
                kl += Foundation.exp(logQ) * (logQ - logP)
            }
        }
        return (Ref.crossEntropy(z, targets, classes: c), t * t * beta * kl / Double(b))
    }

    @Test("manets, phase 0: cross-entropy alone")
    func manetsPhaseZero() throws {
        let icarl = try Self.icarl()
        let logits = Tensor(shape: [4, 5], randomValues(20, seed: 1, in: -4...4), requiresGrad: true)
        let targets = [0, 3, 4, 1]
        let out = try icarl.loss(Self.batch(logits: logits, previousLogits: nil, targets: targets, old: 0,
                                            head: try Self.head(icarl, classes: 5)))
        let z = logits.scalars.map(Double.init)
        expectClose(out.total.item, Ref.crossEntropy(z, targets, classes: 5), "CE")
        #expect(Set(out.components.keys) == ["ce"])
        out.total.backward()
        expectClose(logits.grad, Ref.gradient(z) { Ref.crossEntropy($0, targets, classes: 5) }, "dCE/dlogits")
    }

    @Test("manets, phase 1: 06_ce_icarl_kd.json icarl_total through the plugin")
    func manetsVector06() throws {
        let c = try RefVectors.load("06_ce_icarl_kd.json", "icarl_total")
        #expect(try c.param("T") == 2 && c.param("beta") == 0.25)
        let old = Int(try c.param("num_old_classes"))
        let logits = try c.input("outputs").tensor(requiresGrad: true)
        let previous = try c.input("ref_outputs").tensor(requiresGrad: true)
        let targets = try c.input("targets").ints
        let icarl = try Self.icarl()
        let out = try icarl.loss(Self.batch(logits: logits, previousLogits: previous, targets: targets, old: old,
                                            head: try Self.head(icarl, classes: logits.shape[1])))
        expectClose(out.total, try c.output("loss").values, rtol: c.rtol, atol: c.atol, c.label("loss"))
        #expect(Set(out.components.keys) == ["ce", "kd"])
        expectClose([out.components["kd"] ?? .nan], try c.output("loss_kd").values, rtol: c.rtol, atol: c.atol, c.label("loss_kd"))
        expectClose([out.components["ce"] ?? .nan], try c.output("loss_ce").values, rtol: c.rtol, atol: c.atol, c.label("loss_ce"))
        out.total.backward(Tensor(shape: out.total.shape, try c.upstream("loss").values))
        expectClose(logits.grad, try c.grad("outputs").values, rtol: c.rtol, atol: c.atol, c.label("grad outputs"))
        #expect(previous.grad == nil, "ref_outputs are detached")
    }

    @Test("manets, phase 1 with T 3, beta 0.5: CE + T²·β·C_old·KL_mean against float64",
          arguments: [("3", "0.5"), ("2", "0.25"), ("1", "1")])
    func manetsOptions(t: String, beta: String) throws {
        let icarl = try Self.icarl(["T": t, "beta": beta])
        let b = 5, c = 7, old = 4
        let logits = Tensor(shape: [b, c], randomValues(b * c, seed: 11, in: -3...3), requiresGrad: true)
        let previous = Tensor(shape: [b, old], randomValues(b * old, seed: 12, in: -3...3))
        let targets = [0, 6, 3, 4, 5]
        let out = try icarl.loss(Self.batch(logits: logits, previousLogits: previous, targets: targets, old: old,
                                            head: try Self.head(icarl, classes: c)))
        let z = logits.scalars.map(Double.init), zOld = previous.scalars.map(Double.init)
        let tt = Double(Float(t)!), bb = Double(Float(beta)!)
        let ref = Self.manetsReference(z, zOld, targets: targets, classes: c, old: old, t: tt, beta: bb)
        expectClose(out.total.item, ref.ce + ref.kd, "total")
        expectClose(out.components["kd"], ref.kd, "kd")
        expectClose(out.components["ce"], ref.ce, "ce")
        out.total.backward()
        let expected = Ref.gradient(z) { v in
            let r = Self.manetsReference(v, zOld, targets: targets, classes: c, old: old, t: tt, beta: bb)
            return r.ce + r.kd
        }
        expectClose(logits.grad, expected, "d/dlogits")
    }

    /// Direct float64 classic-iCaRL loss: mean over all B·C elements of the sigmoid BCE,
    /// targets one-hot with the old columns replaced by σ(previous logits).
    static func classicReference(_ z: [Double], targets: [Double]) -> Double {
        var total = 0.0
        for (x, t) in zip(z, targets) {
            let p = Ref.sigmoid(x)
            total -= t * Foundation.log(p) + (1 - t) * Foundation.log(1 - p)
        }
        return total / Double(z.count)
    }

    @Test("classic, phase 0 and phase 1: sigmoid BCE, one-hot targets, old columns = σ(previous logits)",
          arguments: [0, 1])
    func classic(phase: Int) throws {
        let icarl = try Self.icarl(["variant": "classic"])
        let b = 5, c = 6, old = phase == 0 ? 0 : 4
        let logits = Tensor(shape: [b, c], randomValues(b * c, seed: 21, in: -4...4), requiresGrad: true)
        let previous = phase == 0 ? nil : Tensor(shape: [b, old], randomValues(b * old, seed: 22, in: -4...4), requiresGrad: true)
        let targets = phase == 0 ? [0, 5, 2, 3, 1] : [0, 5, 2, 4, 5]
        let out = try icarl.loss(Self.batch(logits: logits, previousLogits: previous, targets: targets, old: old,
                                            head: try Self.head(icarl, classes: c)))
        var t = [Double](repeating: 0, count: b * c)
        for (i, y) in targets.enumerated() { t[i * c + y] = 1 }
        if let previous {
            let zOld = previous.scalars.map(Double.init)
            for i in 0..<b { for j in 0..<old { t[i * c + j] = Ref.sigmoid(zOld[i * old + j]) } }
        }
        let z = logits.scalars.map(Double.init)
        let bce = Self.classicReference(z, targets: t)
        expectClose(out.total.item, bce, "BCE")
        #expect(Set(out.components.keys) == ["bce"])
        expectClose(out.components["bce"], bce, "component bce")
        out.total.backward()
        // Closed form (σ(z) − t)/(B·C), and the central difference of the reference.
        expectClose(logits.grad, zip(z, t).map { (Ref.sigmoid($0) - $1) / Double(b * c) }, "d/dlogits closed form")
        expectClose(logits.grad, Ref.gradient(z) { Self.classicReference($0, targets: t) }, "d/dlogits")
        #expect(previous?.grad == nil, "the previous model's outputs are constants")
    }
}
