import CILSDK
import Testing

/// The α-learning subset of docs/ALGORITHMS.md §5.1: faithful (nb_cl·20 draws with
/// replacement + all old exemplars, unshuffled) and corrected (equal count per class).
@Suite("Balanced subset")
struct BalancedSubsetTests {
    @Test func faithfulDrawsWithReplacementThenAppendsExemplars() {
        let newPositions = Array(1000 ..< 1050)                // 5 new classes × 10 images
        let old = Array(0 ..< 120)                             // 3 old classes × 40 exemplars
        var rng = RandomGenerator(seed: 9)
        let subset = BalancedSubset.faithful(newClassPositions: newPositions, nbCl: 5, nbProtos: 20, oldExemplars: old, rng: &rng)
        #expect(subset.count == 5 * 20 + 120)
        #expect(Array(subset.suffix(120)) == old)             // unshuffled, old exemplars last
        let draws = subset.prefix(100)
        #expect(draws.allSatisfy { newPositions.contains($0) })
        #expect(Set(draws).count < 100)                        // 100 draws from 50: repeats
        var again = RandomGenerator(seed: 9)
        #expect(BalancedSubset.faithful(newClassPositions: newPositions, nbCl: 5, oldExemplars: old, rng: &again) == subset)
    }

    @Test func correctedIsClassBalanced() throws {
        var memory = ExemplarMemory()
        // Old classes 0 and 1, 30 herded samples each (ranks 1...30).
        for c in 0 ..< 2 {
            let ranks = Array(1 ... 30)
            try memory.record(c, positions: Array(c * 100 ..< c * 100 + 30),
                              herding: .init(ranks: ranks, selectionOrder: Array(0 ..< 30), argmaxPerIteration: Array(0 ..< 30)))
        }
        let newPositions = [Array(500 ..< 540), Array(600 ..< 625)]
        var rng = RandomGenerator(seed: 4)
        let subset = BalancedSubset.classBalanced(newClassPositions: newPositions, oldClasses: [0, 1], memory: memory,
                                                  perClass: 20, rng: &rng)
        #expect(subset.count == 4 * 20)
        #expect(Set(subset).count == 80)                       // no repeats
        func count(_ r: Range<Int>) -> Int { subset.filter { r.contains($0) }.count }
        #expect(count(0 ..< 100) == 20 && count(100 ..< 200) == 20 && count(500 ..< 540) == 20 && count(600 ..< 625) == 20)
        // Old classes contribute their top-20 herded samples.
        #expect(subset.filter { $0 < 30 }.sorted() == Array(0 ..< 20))
        // A class with fewer images than asked caps every class.
        var r2 = RandomGenerator(seed: 4)
        let capped = BalancedSubset.classBalanced(newClassPositions: [Array(0 ..< 8), Array(10 ..< 40)], oldClasses: [], memory: memory,
                                                  perClass: 20, rng: &r2)
        #expect(capped.count == 16)
    }
}
