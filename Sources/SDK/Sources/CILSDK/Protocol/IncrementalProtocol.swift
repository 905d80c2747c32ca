/// A resolved class-incremental protocol: class order, phases and exemplar budget
/// (docs/ALGORITHMS.md §1.1-§1.4), everything a run needs to know which classes and how
/// many exemplars each phase has.
public struct IncrementalProtocol: Sendable, Equatable, Codable {
    public let order: ClassOrder
    public let plan: PhasePlan
    public let budget: ExemplarBudget

    public init(order: ClassOrder, plan: PhasePlan, budget: ExemplarBudget) throws {
        guard order.count == plan.numClasses else {
            throw ProtocolError.badClassCounts(counts: plan.classesPerPhase, numClasses: order.count,
                                               reason: "the class order has \(order.count) classes, the plan \(plan.numClasses)")
        }
        self.order = order
        self.plan = plan
        self.budget = budget
    }

    /// Dataset classes learned in `phase`.
    public func classes(phase: Int) -> [Int] { plan.classes(phase: phase, order: order) }

    /// Dataset classes seen by the end of `phase`, in class order.
    public func seenClasses(phase: Int) -> [Int] { Array(order.classes[0 ..< plan.counts(phase: phase).seen]) }

    /// Exemplars kept per class at the end of each phase.
    public var exemplarsPerClass: [Int] { budget.perClassSchedule(plan: plan) }
}
