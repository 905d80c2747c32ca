/// How many classes each phase learns (docs/ALGORITHMS.md §1.2): phase 0 learns the
/// first `classesPerPhase[0]` classes of the class order, phase p the next
/// `classesPerPhase[p]`.
///
/// Built either from the original code's flags (`nb_cl_fg` base classes, then
/// `nb_cl` per phase, with its checks) or from an explicit list of counts.
public struct PhasePlan: Sendable, Equatable, Codable {
    /// Classes learned in each phase, phase 0 first.
    public let classesPerPhase: [Int]
    /// Classes in the dataset.
    public let numClasses: Int
    /// `nb_cl_fg` and `nb_cl` when the plan came from them (nil for explicit lists).
    public let nbClFg: Int?
    public let nbCl: Int?

    /// The original code's plan: `nb_cl_fg` classes in phase 0, then `nb_cl` per
    /// phase until all classes are used. Checks, as AAN:main.py asserts:
    /// `nb_cl >= 1`, `nb_cl_fg % nb_cl == 0`, `nb_cl_fg >= nb_cl`; and, because the
    /// phase loop runs to `num_classes / nb_cl - 1` (silently dropping the rest),
    /// `num_classes % nb_cl == 0` and `nb_cl_fg < num_classes`.
    public static func incremental(numClasses: Int, nbClFg: Int, nbCl: Int) throws -> PhasePlan {
        guard numClasses >= 1 else {
            throw ProtocolError.invalidValue(flag: "number of classes", value: String(numClasses), expected: "at least 1")
        }
        guard nbCl >= 1 else {
            throw ProtocolError.invalidValue(flag: "--nb-cl", value: String(nbCl), expected: "at least 1 class per phase")
        }
        guard nbClFg >= 1 else {
            throw ProtocolError.invalidValue(flag: "--nb-cl-fg", value: String(nbClFg), expected: "at least 1 base class")
        }
        guard nbClFg >= nbCl else {
            throw ProtocolError.phaseCheckFailed("--nb-cl-fg (\(nbClFg)) must be at least --nb-cl (\(nbCl)), as the original code asserts (nb_cl_fg >= nb_cl)")
        }
        guard nbClFg % nbCl == 0 else {
            throw ProtocolError.phaseCheckFailed("--nb-cl-fg (\(nbClFg)) must be a multiple of --nb-cl (\(nbCl)), as the original code asserts (nb_cl_fg % nb_cl == 0)")
        }
        guard nbClFg < numClasses else {
            throw ProtocolError.phaseCheckFailed("--nb-cl-fg (\(nbClFg)) must be smaller than the number of classes (\(numClasses)) so that there is an incremental phase")
        }
        guard numClasses % nbCl == 0 else {
            throw ProtocolError.phaseCheckFailed("the number of classes (\(numClasses)) must be a multiple of --nb-cl (\(nbCl)); the original code would silently drop the last \(numClasses % nbCl) classes")
        }
        let later = (numClasses - nbClFg) / nbCl
        return PhasePlan(classesPerPhase: [nbClFg] + Array(repeating: nbCl, count: later), numClasses: numClasses,
                         nbClFg: nbClFg, nbCl: nbCl)
    }

    /// An explicit plan: at least one phase, every count ≥ 1, and the counts must
    /// add up to at most `numClasses` (fewer means the remaining classes are unused).
    public init(numClasses: Int, classesPerPhase counts: [Int]) throws {
        guard numClasses >= 1 else {
            throw ProtocolError.invalidValue(flag: "number of classes", value: String(numClasses), expected: "at least 1")
        }
        guard !counts.isEmpty else {
            throw ProtocolError.badClassCounts(counts: counts, numClasses: numClasses, reason: "the list is empty")
        }
        if let bad = counts.firstIndex(where: { $0 < 1 }) {
            throw ProtocolError.badClassCounts(counts: counts, numClasses: numClasses, reason: "phase \(bad) has \(counts[bad]) classes; every phase needs at least 1")
        }
        let total = counts.reduce(0, +)
        guard total <= numClasses else {
            throw ProtocolError.badClassCounts(counts: counts, numClasses: numClasses, reason: "they add up to \(total), more than the \(numClasses) classes")
        }
        self.init(classesPerPhase: counts, numClasses: numClasses, nbClFg: nil, nbCl: nil)
    }

    private init(classesPerPhase: [Int], numClasses: Int, nbClFg: Int?, nbCl: Int?) {
        self.classesPerPhase = classesPerPhase
        self.numClasses = numClasses
        self.nbClFg = nbClFg
        self.nbCl = nbCl
    }

    /// Number of phases, phase 0 included (N + 1).
    public var phaseCount: Int { classesPerPhase.count }
    /// Number of incremental phases N.
    public var incrementalPhases: Int { phaseCount - 1 }

    /// Old and new classes of `phase`.
    public func counts(phase: Int) -> ClassCounts {
        precondition(phase >= 0 && phase < phaseCount, "phase \(phase) out of 0..<\(phaseCount)")
        let old = classesPerPhase[..<phase].reduce(0, +)
        return ClassCounts(old: old, new: classesPerPhase[phase])
    }

    /// Mapped labels learned in `phase`.
    public func newLabels(phase: Int) -> Range<Int> {
        let c = counts(phase: phase)
        return c.old ..< c.seen
    }

    /// Dataset classes learned in `phase` under `order`
    /// (`order[old ..< seen]`; phase 0 is `order[0 ..< nb_cl_fg]`).
    public func classes(phase: Int, order: ClassOrder) -> [Int] {
        Array(order.classes[newLabels(phase: phase)])
    }
}
