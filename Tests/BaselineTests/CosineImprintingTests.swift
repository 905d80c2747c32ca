// The phase-start imprinting of LUCIR and the MANets iCaRL (docs/ALGORITHMS.md §2.4),
// through the built plugins' phaseWillStart: each new row = mean L2 norm of the old
// rows × normalize(mean_i normalize(f_i)) over the class's training features.

import CILSDK
import Foundation
import Testing

@Suite("Cosine-head imprinting (LUCIR, iCaRL manets)")
struct CosineImprintingTests {
    enum Plugin: String, CaseIterable, Sendable { case lucir, icarlManets, icarlClassic }

    static func baseline(_ plugin: Plugin) throws -> any Baseline {
        switch plugin {
        case .lucir: return try instantiate(try BuiltPlugins.lucir())
        case .icarlManets: return try instantiate(try BuiltPlugins.icarl(), options: ["variant": "manets"])
        case .icarlClassic: return try instantiate(try BuiltPlugins.icarl(), options: ["variant": "classic"])
        }
    }

    @Test("phaseWillStart imprints the new rows; old rows and σ untouched; phase 0 does nothing",
          arguments: [Plugin.lucir, .icarlManets])
    func imprinting(plugin: Plugin) throws {
        let baseline = try Self.baseline(plugin)
        let d = 4, old = 3, new = 2
        var rng = RandomGenerator(seed: 12)
        let head = try #require(try baseline.makeHead(featureDimension: d, classCount: old, rng: &rng) as? CosineHead)
        // Old rows with norms 1, 2 and 4 (mean 7/3).
        var oldValues = randomValues(old * d, seed: 121)
        for (r, target) in [1.0, 2.0, 4.0].enumerated() {
            let n = Ref.norm(oldValues[(r * d)..<((r + 1) * d)].map(Double.init))
            for j in 0..<d { oldValues[r * d + j] = Float(Double(oldValues[r * d + j]) / n * target) }
        }
        overwrite(head.newWeight, with: oldValues)
        head.expand(by: new, rng: &rng)
        overwrite(head.sigma, with: [6.5])
        let avgNorm = 7.0 / 3.0

        // Features of the new classes 3 and 4, of very different magnitudes.
        let features: [Int: Tensor] = [
            3: Tensor(shape: [5, d], randomValues(5 * d, seed: 122).enumerated().map { i, v in v * Float(1 + i / d * 3) }),
            4: Tensor(shape: [3, d], randomValues(3 * d, seed: 123, in: -0.2...2)),
        ]
        let asked = FeatureRequests()
        let context = { (phase: Int) in
            PhaseStartContext(phase: phase, classes: ClassCounts(old: old, new: new), head: head,
                              trainingFeatures: { label in
                                  asked.labels.append(label)
                                  guard let f = features[label] else { throw BaselineTestError("no class \(label)") }
                                  return f
                              }, seed: 5)
        }
        let fresh = head.newWeight.scalars
        try baseline.phaseWillStart(context(0))
        #expect(asked.labels.isEmpty && head.newWeight.scalars == fresh, "phase 0: no imprinting")

        try baseline.phaseWillStart(context(1))
        #expect(asked.labels == [3, 4], "the features of every new class, in order")
        #expect(head.oldWeight?.scalars == oldValues, "old rows untouched")
        #expect(head.sigma.scalars == [6.5], "σ untouched")
        var expected: [Double] = []
        for label in [3, 4] {
            let x = features[label]!.scalars.map(Double.init)
            let n = x.count / d
            let normalized = (0..<n).map { Ref.normalized(Ref.row(x, $0, d)) }
            let mean = (0..<d).map { t in normalized.reduce(0) { $0 + $1[t] } / Double(n) }
            expected += Ref.normalized(mean).map { $0 * avgNorm }
        }
        expectClose(head.newWeight, expected, rtol: 1e-5, atol: 1e-6, "new rows = avg old norm × normalize(mean normalize(f))")
    }

    @Test("classic iCaRL (linear head) imprints nothing")
    func classicDoesNotImprint() throws {
        let baseline = try Self.baseline(.icarlClassic)
        var rng = RandomGenerator(seed: 13)
        let head = try #require(try baseline.makeHead(featureDimension: 4, classCount: 3, rng: &rng) as? LinearHead)
        head.expand(by: 2, rng: &rng)
        let before = head.weight.scalars
        let asked = FeatureRequests()
        try baseline.phaseWillStart(PhaseStartContext(phase: 1, classes: ClassCounts(old: 3, new: 2), head: head,
                                                      trainingFeatures: { _ in
                                                          asked.labels.append(-1)
                                                          return Tensor.zeros([1, 4])
                                                      }, seed: 1))
        #expect(asked.labels.isEmpty && head.weight.scalars == before)
    }

    @Test("imprinting into a head that is not a CosineHead: an error naming the plugin",
          arguments: [Plugin.lucir, .icarlManets])
    func wrongHead(plugin: Plugin) throws {
        let baseline = try Self.baseline(plugin)
        var rng = RandomGenerator(seed: 14)
        let head = LinearHead(featureDimension: 4, classCount: 5, rng: &rng)
        let name = plugin == .lucir ? "lucir" : "icarl"
        #expect {
            try baseline.phaseWillStart(PhaseStartContext(phase: 1, classes: ClassCounts(old: 3, new: 2), head: head,
                                                          trainingFeatures: { _ in Tensor.zeros([1, 4]) }, seed: 1))
        } throws: { error in
            guard case PluginError.failed(plugin: let p, reason: _)? = error as? PluginError else { return false }
            return p == name
        }
    }
}
