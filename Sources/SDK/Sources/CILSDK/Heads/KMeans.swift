/// Lloyd's k-means with k-means++ seeding, for proxy imprinting. Deterministic for
/// a given generator state. Points [n, D] -> centres [k, D]; with fewer distinct
/// points than k, some centres repeat points.
public enum KMeans {
    public static func fit(_ points: Tensor, clusters k: Int, iterations: Int = 100, restarts: Int = 3,
                           rng: inout RandomGenerator) -> Tensor {
        precondition(points.rank == 2 && points.shape[0] >= 1 && k >= 1, "KMeans: points \(points.shape), k \(k)")
        let n = points.shape[0], d = points.shape[1]
        let x = points.scalars.map(Double.init)
        func distance(_ i: Int, _ c: [Double], _ j: Int) -> Double {
            var s = 0.0
            for t in 0..<d { let v = x[i * d + t] - c[j * d + t]; s += v * v }
            return s
        }
        var best: ([Double], Double)?
        for _ in 0..<max(1, restarts) {
            // k-means++ seeding.
            var centres = [Double](repeating: 0, count: k * d)
            let first = rng.nextInt(below: n)
            for t in 0..<d { centres[t] = x[first * d + t] }
            var nearest = (0..<n).map { distance($0, centres, 0) }
            for j in 1..<k {
                let total = nearest.reduce(0, +)
                var pick = rng.nextInt(below: n)
                if total > 0 {
                    var r = Double(rng.nextUnitFloat()) * total
                    for i in 0..<n { r -= nearest[i]; if r <= 0 { pick = i; break } }
                }
                for t in 0..<d { centres[j * d + t] = x[pick * d + t] }
                for i in 0..<n { nearest[i] = min(nearest[i], distance(i, centres, j)) }
            }
            // Lloyd iterations.
            var assignment = [Int](repeating: -1, count: n)
            for _ in 0..<iterations {
                var changed = false
                for i in 0..<n {
                    var bj = 0, bd = Double.infinity
                    for j in 0..<k { let dd = distance(i, centres, j); if dd < bd { bd = dd; bj = j } }
                    if assignment[i] != bj { assignment[i] = bj; changed = true }
                }
                var sums = [Double](repeating: 0, count: k * d), counts = [Int](repeating: 0, count: k)
                for i in 0..<n {
                    counts[assignment[i]] += 1
                    for t in 0..<d { sums[assignment[i] * d + t] += x[i * d + t] }
                }
                for j in 0..<k where counts[j] > 0 {
                    for t in 0..<d { centres[j * d + t] = sums[j * d + t] / Double(counts[j]) }
                }
                if !changed { break }
            }
            let inertia = (0..<n).reduce(0.0) { $0 + distance($1, centres, assignment[$1]) }
            if best == nil || inertia < best!.1 { best = (centres, inertia) }
        }
        return Tensor(shape: [k, d], best!.0.map { Float($0) })
    }
}
