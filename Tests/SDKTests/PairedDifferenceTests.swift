import Foundation
import Testing
import CILSDK

/// The paired-difference statistics of a comparison against hand-computed values:
/// Student-t quantiles from published tables, and intervals worked out by hand for
/// n = 1, 2, 3 and 5 and for differences with no spread.
@Suite("Paired differences and Student-t intervals")
struct PairedDifferenceTests {
    /// t_{0.975, ν} from standard tables (10 significant digits).
    @Test("t quantiles match the tables", arguments: [(1, 12.70620474), (2, 4.302652730), (4, 2.776445105),
                                                      (10, 2.228138852), (30, 2.042272456)])
    func quantiles(_ df: Int, _ expected: Double) {
        let t = StudentT.quantile(0.975, degreesOfFreedom: df)
        #expect(abs(t - expected) < 1e-8 * expected, "ν = \(df): \(t), tables \(expected)")
        #expect(abs(StudentT.cdf(t, degreesOfFreedom: df) - 0.975) < 1e-12)
    }

    @Test("the t CDF is symmetric about 0 and is the Cauchy CDF at ν = 1")
    func cdfShape() {
        #expect(StudentT.cdf(0, degreesOfFreedom: 3) == 0.5)
        #expect(abs(StudentT.cdf(-1.5, degreesOfFreedom: 3) + StudentT.cdf(1.5, degreesOfFreedom: 3) - 1) < 1e-14)
        for t in [-3.0, -0.4, 0.7, 5.0] {
            #expect(abs(StudentT.cdf(t, degreesOfFreedom: 1) - (0.5 + atan(t) / Double.pi)) < 1e-12)
        }
    }

    @Test("one seed: the mean, no interval, not judged")
    func oneSeed() {
        let d = PairedDifference(differences: [0.012], higherIsBetter: true)
        #expect(d.n == 1 && d.mean == 0.012 && d.std == 0 && d.low == nil && d.high == nil)
        #expect(d.verdict == .notJudged)
    }

    /// d = 0.01, 0.03: mean 0.02, std √2 · 0.01, half-width 12.7062 · 0.01.
    @Test("two seeds: the interval contains 0")
    func twoSeeds() throws {
        let d = PairedDifference(differences: [0.01, 0.03], higherIsBetter: true)
        #expect(abs(d.mean - 0.02) < 1e-15 && abs(d.std - 0.014142135624) < 1e-12)
        #expect(abs(try #require(d.low) - (0.02 - 0.1270620474)) < 1e-9)
        #expect(abs(try #require(d.high) - (0.02 + 0.1270620474)) < 1e-9)
        #expect(d.verdict == .noDetectableDifference)
    }

    /// d = 0.02, 0.03, 0.04: mean 0.03, std 0.01, half-width 4.302652730 · 0.01 / √3 =
    /// 0.02484138; the interval [0.00515862, 0.05484138] excludes 0.
    @Test("three seeds: better where higher is better, worse for forgetting")
    func threeSeeds() throws {
        let accuracy = PairedDifference(differences: [0.02, 0.03, 0.04], higherIsBetter: true)
        #expect(abs(accuracy.std - 0.01) < 1e-15)
        #expect(abs(try #require(accuracy.low) - 0.00515862) < 1e-8)
        #expect(abs(try #require(accuracy.high) - 0.05484138) < 1e-8)
        #expect(accuracy.verdict == .better)
        #expect(PairedDifference(differences: [0.02, 0.03, 0.04], higherIsBetter: false).verdict == .worse)
    }

    /// d = −0.05 … −0.01: mean −0.03, std √2.5 · 0.01, half-width 2.776445105 · 0.01 ·
    /// √(2.5/5) = 0.01963243; the interval [−0.04963243, −0.01036757].
    @Test("five seeds: worse where higher is better, better for forgetting")
    func fiveSeeds() throws {
        let accuracy = PairedDifference(differences: [-0.05, -0.04, -0.03, -0.02, -0.01], higherIsBetter: true)
        #expect(abs(accuracy.mean + 0.03) < 1e-15 && abs(accuracy.std - 0.0158113883) < 1e-10)
        #expect(abs(try #require(accuracy.low) + 0.04963243) < 1e-8)
        #expect(abs(try #require(accuracy.high) + 0.01036757) < 1e-8)
        #expect(accuracy.verdict == .worse)
        #expect(PairedDifference(differences: [-0.05, -0.04, -0.03, -0.02, -0.01], higherIsBetter: false).verdict == .better)
    }

    @Test("no spread: the interval is the mean itself")
    func zeroVariance() {
        let same = PairedDifference(differences: [0.02, 0.02, 0.02], higherIsBetter: true)
        #expect(same.std == 0 && same.low == 0.02 && same.high == 0.02 && same.verdict == .better)
        let none = PairedDifference(differences: [0, 0], higherIsBetter: true)
        #expect(none.low == 0 && none.high == 0 && none.verdict == .noDetectableDifference)
    }
}
