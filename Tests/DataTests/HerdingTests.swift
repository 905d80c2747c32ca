import CILSDK
import Foundation
import Testing

/// Herding (docs/ALGORITHMS.md §1.5) against the PyTorch reference vectors
/// (Tests/Vectors/pytorch/11_herding.json) and a naive transcription of the original loop on
/// random features; the exemplar memory's rank prefixes.
@Suite("Herding and exemplar memory")
struct HerdingTests {
    static func ints(_ v: Any?) -> [Int] { ((v as? [String: Any])?["data"] as? [Any] ?? []).compactMap { ($0 as? NSNumber)?.intValue } }

    @Test func matchesTheReferenceVectors() throws {
        let file = try Repository.json(Repository.pytorchVector("11_herding.json"))
        let cases = try #require(file["cases"] as? [[String: Any]])
        #expect(cases.count == 3)
        for c in cases {
            let name = c["name"] as? String ?? "?"
            let params = try #require(c["params"] as? [String: Any])
            let target = try #require(params["nb_protos_cl"] as? Int)
            let features = try #require((c["inputs"] as? [String: Any])?["features"] as? [String: Any])
            let shape = try #require(features["shape"] as? [Int])
            let data = try #require(features["data"] as? [NSNumber]).map { Float($0.doubleValue) }
            let outputs = try #require(c["outputs"] as? [String: Any])
            let result = Herding.rank(features: data, count: shape[0], dimension: shape[1], target: target)
            #expect(result.ranks == Self.ints(outputs["ranks"]), "\(name) ranks")
            #expect(result.selectionOrder == Self.ints(outputs["selection_order"]), "\(name) order")
            #expect(result.argmaxPerIteration == Self.ints(outputs["argmax_per_iteration"]), "\(name) argmax")
            #expect(result.iterations == Int("\(outputs["iterations"] ?? "")"), "\(name) iterations")
            for m in [7, 5] {
                if let expected = outputs["exemplars_if_nb_protos_cl_\(m)"] {
                    #expect(result.exemplars(perClass: m) == Self.ints(expected), "\(name) prefix \(m)")
                }
            }
            // The tensor entry point agrees.
            #expect(Herding.rank(features: Tensor(shape: shape, data), target: target) == result)
        }
    }

    /// The original loop, transcribed naively: D is d × n (column j = sample j),
    /// w·D computed column by column, np.argmax as "first index of the maximum".
    static func naive(_ f: [[Double]], target: Int) -> (ranks: [Int], picks: [Int]) {
        let n = f.count, d = f[0].count
        var D = [[Double]](repeating: [Double](repeating: 0, count: n), count: d)
        for j in 0 ..< n {
            let norm = sqrt(f[j].map { $0 * $0 }.reduce(0, +))
            for i in 0 ..< d { D[i][j] = f[j][i] / norm }
        }
        let mu = (0 ..< d).map { i in D[i].reduce(0, +) / Double(n) }
        var w = mu
        var alpha = [Int](repeating: 0, count: n)
        var iterHerding = 0, iterEff = 0
        var picks: [Int] = []
        while alpha.filter({ $0 != 0 }).count != min(target, 500) && iterEff < 1000 {
            let tmp = (0 ..< n).map { j in (0 ..< d).reduce(0.0) { $0 + w[$1] * D[$1][j] } }
            let indMax = tmp.firstIndex(of: tmp.max()!)!
            picks.append(indMax)
            iterEff += 1
            if alpha[indMax] == 0 {
                alpha[indMax] = 1 + iterHerding
                iterHerding += 1
            }
            w = (0 ..< d).map { w[$0] + mu[$0] - D[$0][indMax] }
        }
        return (alpha, picks)
    }

    @Test(arguments: [(50, 16, 20), (200, 64, 40), (30, 8, 10), (12, 5, 20), (500, 64, 40)])
    func matchesANaiveTranscription(n: Int, d: Int, target: Int) {
        var rng = RandomGenerator(seed: UInt64(n * 1000 + d))
        let rows = (0 ..< n).map { _ in (0 ..< d).map { _ in rng.nextNormal() + 0.3 } }
        let result = Herding.rank(features: rows.flatMap { $0 }, count: n, dimension: d, target: target)
        let reference = Self.naive(rows.map { $0.map(Double.init) }, target: target)
        #expect(result.ranks == reference.ranks)
        #expect(result.argmaxPerIteration == reference.picks)
        #expect(result.selectionOrder.count == min(target, n))
        if n < target { #expect(result.iterations == 1000) }
        // Ranks are 1...k, each once.
        #expect(result.ranks.filter { $0 > 0 }.sorted() == Array(1 ... min(target, n)))
    }

    @Test func memoryKeepsRankPrefixesAndHerdsOnce() throws {
        var memory = ExemplarMemory()
        // Class 7: samples at split positions 100..<106 with ranks.
        let result = Herding.Result(ranks: [3, 0, 1, 4, 2, 0], selectionOrder: [2, 4, 0, 3], argmaxPerIteration: [2, 4, 0, 3])
        try memory.record(7, positions: Array(100 ..< 106), herding: result)
        #expect(memory.exemplars(of: 7, perClass: 4) == [100, 102, 103, 104])
        #expect(memory.exemplars(of: 7, perClass: 2) == [102, 104])          // top-2, in split order
        #expect(memory.exemplars(of: 7, perClass: 0) == [])
        #expect(memory.exemplars(of: 8, perClass: 2) == [])
        #expect(throws: ProtocolError.self) { try memory.record(7, positions: Array(100 ..< 106), herding: result) }
        try memory.record(3, positions: [1, 2], herding: .init(ranks: [2, 1], selectionOrder: [1, 0], argmaxPerIteration: [1, 0]))
        #expect(memory.exemplars(of: [7, 3], perClass: 1) == [102, 2])
    }
}
