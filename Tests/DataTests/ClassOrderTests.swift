import CILSDK
import Foundation
import Testing

/// Class orders: MT19937 and NumPy's legacy shuffle against vectors computed with
/// NumPy (Tests/Vectors/numpy_class_orders.json, made by generate_numpy_orders.py),
/// and docs/ALGORITHMS.md §1.1's seed-1993 list.
@Suite("Class order")
struct ClassOrderTests {
    static let spec1993 = [68, 56, 78, 8, 23, 84, 90, 65, 74, 76, 40, 89, 3, 92, 55, 9, 26, 80, 43, 38, 58, 70, 77, 1, 85, 19,
                           17, 50, 28, 53, 13, 81, 45, 82, 6, 59, 83, 16, 15, 44, 91, 41, 72, 60, 79, 52, 20, 10, 31, 54, 37, 95,
                           14, 71, 96, 98, 97, 2, 64, 66, 42, 22, 35, 86, 24, 34, 87, 21, 99, 0, 88, 27, 18, 94, 11, 12, 47, 25,
                           30, 46, 62, 69, 36, 61, 7, 63, 75, 5, 32, 4, 51, 48, 73, 93, 39, 67, 29, 49, 57, 33]

    static func vectors() throws -> [String: Any] { try Repository.json(Repository.vector("numpy_class_orders.json")) }

    @Test func mersenneTwisterMatchesNumPy() throws {
        let raw = try #require(Self.vectors()["mt19937_first_outputs"] as? [[String: Any]])
        #expect(raw.count == 3)
        for case_ in raw {
            let seed = try #require(case_["seed"] as? Int)
            let expected = try #require(case_["uint32"] as? [Int])
            var mt = MersenneTwister(seed: UInt32(seed))
            #expect(expected.map { _ in Int(mt.nextUInt32()) } == expected, "seed \(seed)")
        }
        // The reference implementation's first output for init_genrand(5489).
        var mt = MersenneTwister(seed: 5489)
        #expect(mt.nextUInt32() == 3_499_211_612)
    }

    @Test func shuffleMatchesNumPyForManySeedsAndSizes() throws {
        let cases = try #require(Self.vectors()["cases"] as? [[String: Any]])
        #expect(cases.count >= 50)
        for c in cases {
            let seed = try #require(c["seed"] as? Int), n = try #require(c["n"] as? Int)
            let expected = try #require(c["order"] as? [Int])
            #expect(NumPyLegacyShuffle.permutation(count: n, seed: UInt32(seed)) == expected, "seed \(seed), n \(n)")
            #expect(try ClassOrder.seeded(seed, count: n).classes == expected)
        }
    }

    @Test func seed1993IsSpecsList() throws {
        #expect(ClassOrder.seed1993Order100 == Self.spec1993)
        #expect(NumPyLegacyShuffle.permutation(count: 100, seed: 1993) == Self.spec1993)
        let order = try ClassOrder.seeded(1993, count: 100)
        #expect(order.classes == Self.spec1993)
        #expect(order.mappedLabels[68] == 0 && order.mappedLabels[33] == 99)
        #expect(order.map([68, 56, 33]) == [0, 1, 99])
    }

    @Test func invalidSeedsAndOrders() {
        #expect(throws: ProtocolError.self) { try ClassOrder.seeded(-1, count: 10) }
        #expect(throws: ProtocolError.self) { try ClassOrder.seeded(1 << 32, count: 10) }
        #expect(throws: ProtocolError.self) { try ClassOrder.seeded(1, count: 0) }
        #expect(throws: ProtocolError.notAPermutation(count: 3, reason: "class 1 appears twice")) { try ClassOrder(classes: [1, 1, 0]) }
        #expect(throws: ProtocolError.self) { try ClassOrder(classes: [0, 3, 1]) }
    }
}
