import Foundation

/// The paired difference of one figure between an arm and its reference arm over
/// seeds: d_s = arm_s − reference_s for every seed s that both finished, then the mean
/// of d, its sample standard deviation and a two-sided Student-t confidence interval
///
///     mean ± t_{(1 + confidence)/2, n − 1} · std / √n
///
/// (n ≥ 2; with n = 1 there is no interval). The verdict reads the interval: it lies
/// wholly on the good side of 0 ("better"), wholly on the bad side ("worse"), or
/// contains 0 ("no detectable difference"); a single seed is not judged. With zero
/// spread (every d_s equal) the interval is the single point `mean`.
public struct PairedDifference: Codable, Equatable, Sendable {
    public enum Verdict: String, Codable, Sendable {
        case better
        case worse
        case noDetectableDifference = "no detectable difference"
        case notJudged = "1 seed: not judged"
    }

    public var n: Int
    public var mean: Double
    /// Sample standard deviation of the differences (n − 1 in the denominator; 0 for n = 1).
    public var std: Double
    /// The confidence level of the interval (0.95 in reports).
    public var confidence: Double
    /// The interval's ends; nil for n = 1.
    public var low: Double?
    public var high: Double?
    public var verdict: Verdict

    /// `differences`: d_s per seed (at least one). `higherIsBetter`: false for figures
    /// where a decrease is an improvement (forgetting).
    public init(differences d: [Double], higherIsBetter: Bool, confidence: Double = 0.95) {
        precondition(!d.isEmpty, "PairedDifference: no differences")
        precondition(confidence > 0 && confidence < 1, "PairedDifference: confidence \(confidence)")
        n = d.count
        self.confidence = confidence
        let m = d.reduce(0, +) / Double(n)
        mean = m
        guard n > 1 else {
            std = 0
            verdict = .notJudged
            return
        }
        std = (d.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(n - 1)).squareRoot()
        let half = StudentT.quantile((1 + confidence) / 2, degreesOfFreedom: n - 1) * std / Double(n).squareRoot()
        let (lo, hi) = (m - half, m + half)
        low = lo
        high = hi
        if lo > 0 {
            verdict = higherIsBetter ? .better : .worse
        } else if hi < 0 {
            verdict = higherIsBetter ? .worse : .better
        } else {
            verdict = .noDetectableDifference
        }
    }
}
