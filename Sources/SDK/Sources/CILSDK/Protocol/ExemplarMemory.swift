/// The exemplar memory of a run (docs/ALGORITHMS.md §1.5): each class is herded at the
/// end of the phase that introduced it (`record`; `replace` when the phase's end
/// changed the model, §6.5), and from then on keeps the prefix of its
/// herding order that the current per-class budget allows; classes of earlier phases
/// are never re-herded. Exemplars are positions in the training split (the raw images).
public struct ExemplarMemory: Sendable, Codable, Equatable {
    /// One herded class.
    public struct Entry: Sendable, Codable, Equatable {
        /// The class's training-split positions, in split order (the herded samples).
        public var positions: [Int]
        /// Herding ranks of those samples (1-based, 0 = never selected).
        public var ranks: [Int]
    }

    /// Herded classes by dataset class.
    public private(set) var entries: [Int: Entry] = [:]

    public init() {}

    /// Whether `dataClass` has been herded.
    public func contains(_ dataClass: Int) -> Bool { entries[dataClass] != nil }

    /// Records the herding of `dataClass`, whose samples are the training-split
    /// `positions` (in the order the features were given). A class is herded once:
    /// recording it again throws.
    public mutating func record(_ dataClass: Int, positions: [Int], herding: Herding.Result) throws {
        guard entries[dataClass] == nil else {
            throw ProtocolError.invalidValue(flag: "exemplar memory", value: "class \(dataClass)",
                                             expected: "a class not herded yet (classes are herded once, docs/ALGORITHMS.md §1.5)")
        }
        precondition(positions.count == herding.ranks.count, "\(positions.count) positions for \(herding.ranks.count) ranks")
        entries[dataClass] = Entry(positions: positions, ranks: herding.ranks)
    }

    /// Replaces the herding of a class herded in this phase: when the phase's
    /// phase-end work changed the model after the first herding (PODNet's finetuning
    /// in training mode moves the batch-norm statistics), the host herds the phase's
    /// classes again with the model the phase ends with, as PODNet's code does.
    public mutating func replace(_ dataClass: Int, positions: [Int], herding: Herding.Result) throws {
        guard entries[dataClass] != nil else {
            throw ProtocolError.invalidValue(flag: "exemplar memory", value: "class \(dataClass)",
                                             expected: "a class already herded (only a herding is replaced)")
        }
        precondition(positions.count == herding.ranks.count, "\(positions.count) positions for \(herding.ranks.count) ranks")
        entries[dataClass] = Entry(positions: positions, ranks: herding.ranks)
    }

    /// The exemplars of `dataClass` for a budget of `perClass`: the training
    /// positions with 0 < rank ≤ perClass, in split order. Empty if not herded.
    public func exemplars(of dataClass: Int, perClass: Int) -> [Int] {
        guard let e = entries[dataClass] else { return [] }
        return e.positions.indices.filter { e.ranks[$0] > 0 && e.ranks[$0] <= perClass }.map { e.positions[$0] }
    }

    /// The exemplar set of `classes` (in the given order: class order, phase by
    /// phase), concatenated, as the original's `X_protoset`.
    public func exemplars(of classes: [Int], perClass: Int) -> [Int] {
        classes.flatMap { exemplars(of: $0, perClass: perClass) }
    }
}
