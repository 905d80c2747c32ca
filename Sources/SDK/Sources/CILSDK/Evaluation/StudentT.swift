import Foundation

/// Student's t distribution: its CDF through the regularized incomplete beta function,
/// P(T ≤ t) = 1 − I_{ν/(ν+t²)}(ν/2, 1/2) / 2 for t ≥ 0, and its quantile by bisection
/// on the CDF (to about 1e-12).
public enum StudentT {
    /// P(T ≤ t) for ν = `degreesOfFreedom` ≥ 1.
    public static func cdf(_ t: Double, degreesOfFreedom: Int) -> Double {
        precondition(degreesOfFreedom >= 1, "StudentT: \(degreesOfFreedom) degrees of freedom")
        let v = Double(degreesOfFreedom)
        let tail = 0.5 * regularizedIncompleteBeta(v / (v + t * t), a: v / 2, b: 0.5)
        return t >= 0 ? 1 - tail : tail
    }

    /// The t with P(T ≤ t) = p, for 0.5 ≤ p < 1 (the upper quantiles a two-sided
    /// interval needs).
    public static func quantile(_ p: Double, degreesOfFreedom: Int) -> Double {
        precondition(p >= 0.5 && p < 1, "StudentT.quantile: p = \(p), expected 0.5 ≤ p < 1")
        var lo = 0.0, hi = 1.0
        while cdf(hi, degreesOfFreedom: degreesOfFreedom) < p { hi *= 2 }
        while hi - lo > 1e-12 * hi {
            let mid = (lo + hi) / 2
            if cdf(mid, degreesOfFreedom: degreesOfFreedom) < p { lo = mid } else { hi = mid }
        }
        return (lo + hi) / 2
    }

    /// I_x(a, b) for 0 ≤ x ≤ 1 and a, b > 0: the continued fraction of the incomplete
    /// beta function (modified Lentz), on whichever of x and 1 − x converges fast.
    public static func regularizedIncompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logBeta: Double = lgamma(a) + lgamma(b) - lgamma(a + b)
        let logFront: Double = a * log(x) + b * log(1 - x) - logBeta
        if x < (a + 1) / (a + b + 2) {
            return exp(logFront) * continuedFraction(x, a: a, b: b) / a
        }
        return 1 - exp(logFront) * continuedFraction(1 - x, a: b, b: a) / b
    }

    private static func continuedFraction(_ x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...300 {
            let m = Double(m), m2 = 2 * m
            // Even step.
            var term = m * (b - m) * x / ((a + m2 - 1) * (a + m2))
            d = 1 + term * d
            if abs(d) < tiny { d = tiny }
            c = 1 + term / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            // Odd step.
            term = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))
            d = 1 + term * d
            if abs(d) < tiny { d = tiny }
            c = 1 + term / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let step = d * c
            h *= step
            if abs(step - 1) < 1e-15 { break }
        }
        return h
    }
}
