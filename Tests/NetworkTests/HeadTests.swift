import CILSDK
import Testing

/// The cosine head (docs/ALGORITHMS.md §2.3) and weight imprinting (§2.4).
@Suite("CosineHead")
struct HeadTests {
    /// logits = σ·cos; expansion keeps class order, freezes old rows, keeps σ.
    @Test func logitsAndExpansion() {
        var rng = RandomGenerator(seed: 1)
        let head = CosineHead(featureDimension: 8, classCount: 4, rng: &rng)
        head.sigma.fill(3.5)
        let x = Initializers.normal([3, 8], std: 1, rng: &rng)
        let out = head.forward(x)
        let w = head.newWeight.scalars
        for b in 0..<3 {
            for c in 0..<4 {
                let xr = Array(x.scalars[(b * 8)..<(b * 8 + 8)]), wr = Array(w[(c * 8)..<(c * 8 + 8)])
                let dot = zip(xr, wr).map(*).reduce(0, +)
                let cos = dot / (xr.map { $0 * $0 }.reduce(0, +).squareRoot() * wr.map { $0 * $0 }.reduce(0, +).squareRoot())
                #expect(abs(out.logits.scalars[b * 4 + c] - 3.5 * cos) < 1e-5)
                #expect(abs(out.extras["cosines"]!.scalars[b * 4 + c] - cos) < 1e-6)
            }
        }
        head.expand(by: 2, rng: &rng)
        #expect(head.classCount == 6)
        #expect(head.oldWeight!.scalars == w, "old rows keep their values and order")
        #expect(!head.oldWeight!.requiresGrad && head.newWeight.requiresGrad && head.newWeight.shape == [2, 8])
        #expect(head.sigma.item == 3.5)
        #expect(head.forward(x).logits.shape == [3, 6])
        head.expand(by: 3, rng: &rng)
        #expect(head.oldWeight!.shape == [6, 8])
        #expect(Array(head.oldWeight!.scalars.prefix(32)) == w)
    }

    /// Imprinted row c = mean old-row norm · normalize(mean of normalized features).
    @Test func imprintingMatchesDirectComputation() {
        var rng = RandomGenerator(seed: 2)
        let head = CosineHead(featureDimension: 5, classCount: 3, rng: &rng)
        head.expand(by: 2, rng: &rng)
        let old = head.oldWeight!.scalars
        var avgNorm = 0.0
        for r in 0..<3 {
            let squares: [Double] = old[(r * 5)..<(r * 5 + 5)].map { Double($0) * Double($0) }
            avgNorm += squares.reduce(0, +).squareRoot() / 3
        }
        let features = [Initializers.normal([7, 5], std: 2, rng: &rng), Initializers.normal([4, 5], std: 1, rng: &rng)]
        head.imprint(newClassFeatures: features)
        for (c, f) in features.enumerated() {
            var mean = [Double](repeating: 0, count: 5)
            let n = f.shape[0]
            for i in 0..<n {
                let row = f.scalars[(i * 5)..<(i * 5 + 5)].map(Double.init)
                let norm = row.map { $0 * $0 }.reduce(0, +).squareRoot()
                for j in 0..<5 { mean[j] += row[j] / norm / Double(n) }
            }
            let mn = mean.map { $0 * $0 }.reduce(0, +).squareRoot()
            let expected = mean.map { Float($0 / mn * avgNorm) }
            let got = Array(head.newWeight.scalars[(c * 5)..<(c * 5 + 5)])
            #expect(worstError(got, expected, atol: 1e-6, rtol: 1e-5) <= 1, "class \(c)")
        }
        #expect(head.oldWeight!.scalars == old, "imprinting leaves the old rows alone")
    }
}
