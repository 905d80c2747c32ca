import CILSDK
import Testing

/// Phases (docs/ALGORITHMS.md §1.2) and per-phase exemplar counts (§1.4).
@Suite("Phases and exemplar budgets")
struct PhasePlanTests {
    @Test(arguments: [
        (10, [40, 34, 29, 25, 23, 20]),
        (5, [40, 37, 34, 31, 29, 27, 25, 24, 23, 22, 20]),
        (2, [40, 39, 38, 36, 35, 34, 33, 32, 31, 30, 29, 28, 28, 27, 26, 25, 25, 24, 24, 23, 23, 22, 22, 21, 21, 20]),
    ])
    func fixedBudgetMatchesSpec(nbCl: Int, expected: [Int]) throws {
        let plan = try PhasePlan.incremental(numClasses: 100, nbClFg: 50, nbCl: nbCl)
        #expect(plan.phaseCount == expected.count)
        #expect(plan.incrementalPhases == 50 / nbCl)
        #expect(ExemplarBudget.fixedDefault.perClassSchedule(plan: plan) == expected)
        #expect(ExemplarBudget.dynamicDefault.perClassSchedule(plan: plan) == Array(repeating: 20, count: expected.count))
    }

    @Test func phasesSliceTheOrder() throws {
        let order = try ClassOrder.seeded(1993, count: 100)
        let plan = try PhasePlan.incremental(numClasses: 100, nbClFg: 50, nbCl: 10)
        #expect(plan.classesPerPhase == [50, 10, 10, 10, 10, 10])
        #expect(plan.classes(phase: 0, order: order) == Array(ClassOrderTests.spec1993[0 ..< 50]))
        #expect(plan.classes(phase: 1, order: order) == [37, 95, 14, 71, 96, 98, 97, 2, 64, 66])
        #expect(plan.counts(phase: 2) == ClassCounts(old: 60, new: 10))
        #expect(plan.newLabels(phase: 5) == 90 ..< 100)
        let proto = try IncrementalProtocol(order: order, plan: plan, budget: .fixedDefault)
        #expect(proto.exemplarsPerClass == [40, 34, 29, 25, 23, 20])
        #expect(proto.seenClasses(phase: 1).count == 60)
    }

    @Test func theSeedsChecksAreErrors() {
        // nb_cl_fg % nb_cl == 0 and nb_cl_fg >= nb_cl (AAN:main.py), plus a whole number of phases.
        #expect(throws: ProtocolError.self) { try PhasePlan.incremental(numClasses: 100, nbClFg: 50, nbCl: 3) }
        #expect(throws: ProtocolError.self) { try PhasePlan.incremental(numClasses: 100, nbClFg: 5, nbCl: 10) }
        #expect(throws: ProtocolError.self) { try PhasePlan.incremental(numClasses: 100, nbClFg: 48, nbCl: 8) }
        #expect(throws: ProtocolError.self) { try PhasePlan.incremental(numClasses: 100, nbClFg: 100, nbCl: 10) }
        #expect(throws: ProtocolError.self) { try PhasePlan.incremental(numClasses: 100, nbClFg: 50, nbCl: 0) }
        do {
            _ = try PhasePlan.incremental(numClasses: 100, nbClFg: 50, nbCl: 3)
        } catch {
            #expect("\(error)".contains("--nb-cl-fg (50) must be a multiple of --nb-cl (3)"))
        }
    }

    @Test func explicitCounts() throws {
        let plan = try PhasePlan(numClasses: 100, classesPerPhase: [40, 20, 20, 20])
        #expect(plan.counts(phase: 3) == ClassCounts(old: 80, new: 20))
        // Non-uniform: ceil(2000 / seen).
        #expect(ExemplarBudget.fixedDefault.perClassSchedule(plan: plan) == [50, 34, 25, 20])
        #expect(try PhasePlan(numClasses: 10, classesPerPhase: [3, 3]).counts(phase: 1).seen == 6)
        #expect(throws: ProtocolError.self) { try PhasePlan(numClasses: 100, classesPerPhase: [60, 50]) }
        #expect(throws: ProtocolError.self) { try PhasePlan(numClasses: 100, classesPerPhase: [50, 0, 10]) }
        #expect(throws: ProtocolError.self) { try PhasePlan(numClasses: 100, classesPerPhase: []) }
    }
}
