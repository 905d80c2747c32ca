/// A level's α leaving [0, 1]: the plastic block then enters the mix with a negative
/// weight (α > 1) or the stable one does (α < 0). The original code does not clamp α
/// and neither does cil; a run logs a warning at the epoch it happens, lists every
/// such event in results.json (`alpha_outside_unit_interval`) and the comparison
/// report marks the arm.
struct AlphaExcursion: Codable, Equatable {
    /// 0-based phase and 1-based epoch of that phase after whose α pass it happened.
    var phase: Int
    var epoch: Int
    /// 1-based level.
    var level: Int
    var alpha: Float

    static let allowed: ClosedRange<Float> = 0...1

    /// The 0-based levels outside [0, 1] in `now` that were inside in `before` (all
    /// levels outside `now` when there is no `before`, or it is empty: a phase without
    /// α, such as a single-branch phase 0).
    static func leaving(before: [Float]?, now: [Float]) -> [Int] {
        let before = before.flatMap { $0.isEmpty ? nil : $0 }
        return now.indices.filter { k in
            !allowed.contains(now[k]) && (before.map { k < $0.count && allowed.contains($0[k]) } ?? true)
        }
    }

    /// α after the newest epoch of `phases` that had one (nil if none did): what
    /// `leaving(before:now:)` compares the first epoch of the next phase with.
    static func latest(in phases: [PhaseResult]) -> [Float]? {
        phases.reversed().lazy.compactMap { $0.alpha_per_epoch.last(where: { !$0.isEmpty }) }.first
    }

    /// Every time a level left [0, 1] over `phases`, in order (α after each epoch,
    /// across phase boundaries).
    static func all(in phases: [PhaseResult]) -> [AlphaExcursion] {
        var previous: [Float]?
        var found: [AlphaExcursion] = []
        for result in phases {
            for (e, alphas) in result.alpha_per_epoch.enumerated() where !alphas.isEmpty {
                found += leaving(before: previous, now: alphas).map {
                    AlphaExcursion(phase: result.phase, epoch: e + 1, level: $0 + 1, alpha: alphas[$0])
                }
                previous = alphas
            }
        }
        return found
    }
}
