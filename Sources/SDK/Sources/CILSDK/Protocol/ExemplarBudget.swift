/// How many exemplars per class are kept after each phase (docs/ALGORITHMS.md §1.4).
public enum ExemplarBudget: Sendable, Equatable, Codable {
    /// The original code's default ("fixed" 2000 total, per-class counts shrink):
    /// `nb_protos_cl = ceil(nb_protos * 100 / nb_cl / (iteration + 1))` =
    /// `ceil(total / seen classes)`, computed in float64 exactly as written there
    /// when the plan has a uniform `nb_cl`.
    case fixed(total: Int)
    /// `--dynamic_budget`: a constant number per class (the total grows).
    case dynamic(perClass: Int)

    /// 2000 in total (`nb_protos` 20 × the hard-coded 100).
    public static let fixedDefault = ExemplarBudget.fixed(total: 2000)
    /// 20 per class.
    public static let dynamicDefault = ExemplarBudget.dynamic(perClass: 20)

    /// "fixed" or "dynamic".
    public var name: String {
        switch self {
        case .fixed: return "fixed"
        case .dynamic: return "dynamic"
        }
    }

    /// Exemplars per class at the end of `phase` (after its classes were added):
    /// the herding target of the new classes and the prefix length kept for all.
    public func perClass(phase: Int, plan: PhasePlan) -> Int {
        switch self {
        case let .dynamic(perClass):
            return perClass
        case let .fixed(total):
            let seen = plan.counts(phase: phase).seen
            if let nbCl = plan.nbCl, seen % nbCl == 0 {
                // AAN:trainer/base_trainer.py: nb_protos*100/nb_cl/(iteration+1) in
                // Python floats, then ceil; (iteration + 1) * nb_cl = seen.
                let iterationPlusOne = seen / nbCl
                return Int((Double(total) / Double(nbCl) / Double(iterationPlusOne)).rounded(.up))
            }
            return (total + seen - 1) / seen
        }
    }

    /// The per-class counts of every phase.
    public func perClassSchedule(plan: PhasePlan) -> [Int] {
        (0 ..< plan.phaseCount).map { perClass(phase: $0, plan: plan) }
    }
}
